//! `--log-rate`: the lines a second are shared by every thread, then counted, not shown. In a
//! test binary of its own: the limit is process-wide.

use std::thread;

use backend::{
    logging::log_rate::admit, logging::log_rate::limit_recv_lines, logging::log_rate::summary,
};

#[test]
fn up_to_the_rate_lines_are_admitted_by_all_threads_together() {
    assert!(admit(10), "no limit set: every line");
    limit_recv_lines(5);
    let admitted = (0..20).filter(|_| admit(100)).count();
    assert_eq!(admitted, 5);
    let other = thread::spawn(|| (0..3).filter(|_| admit(1)).count())
        .join()
        .expect("thread");
    assert_eq!(other, 0, "another thread shares the same second's lines");
    assert_eq!(
        summary(1_234_567, 39_200_000, 1000),
        "recv: 1234567 more messages, 39.2 MB, not shown (over --log-rate 1000 lines/s)"
    );
}
