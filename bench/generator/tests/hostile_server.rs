//! The load generator pointed at a hostile server (client/tests/support/hostile.rs, taken in
//! as it is): a 2^62-byte frame header, a 2^64-1 length, endless fragments, an endless head, a
//! server that accepts and never answers. Each must end the run in time with an error, no
//! panic and bounded memory: exit 3 (the --max-errors threshold, 0 by default) when the
//! connection opened and then went wrong, exit 1 when no connection could be opened at all.

#[path = "../../../client/tests/support/hostile.rs"]
mod hostile;

use std::{net::SocketAddr, process::Command, sync::Arc, time::Duration};

use hostile::*;

fn bench(addr: SocketAddr) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench"));
    command.args([
        "--addr",
        &addr.to_string(),
        "--connections",
        "1",
        "--duration",
        "2s",
        "--connect-timeout",
        "2s",
    ]);
    command
}

/// Exit statuses (`bench --help`): nothing opened, and a threshold (--max-errors) broken.
const NOTHING_OPENED: i32 = 1;
const ERRORS: i32 = 3;

/// Runs the bench against `behaviour`: exit `code` within 15 s, no panic, bounded memory.
fn against(name: &str, behaviour: Behaviour, code: i32) -> Ended {
    let ended = run_with(
        &mut bench(hostile(behaviour)),
        Duration::from_secs(20),
        None,
    );
    println!(
        "{name}, bench: exit {:?} in {:?}, peak RSS {} MiB",
        ended.code,
        ended.took,
        ended.peak_rss / MIB
    );
    assert_eq!(ended.code, Some(code), "{name}: {ended:?}");
    assert!(
        !ended.stderr.contains("panicked"),
        "{name}: {}",
        ended.stderr
    );
    assert!(
        ended.peak_rss < RSS_BOUND,
        "{name}: {} MiB",
        ended.peak_rss / MIB
    );
    assert!(
        ended.took < Duration::from_secs(15),
        "{name}: {:?}",
        ended.took
    );
    ended
}

#[test]
fn a_frame_header_announcing_2_to_the_62_is_refused_at_once() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), announcing(0x82, 1 << 62)].concat(),
        then_forever: Some(vec![0u8; 1 << 20]),
        read: true,
    });
    let ended = against("2^62 header", behaviour, ERRORS);
    assert!(
        ended.stdout.contains("4611686018427387904 bytes")
            || ended.stderr.contains("4611686018427387904 bytes"),
        "{ended:?}"
    );
}

#[test]
fn a_length_of_2_to_the_64_minus_1_is_refused_without_a_panic() {
    let behaviour: Behaviour = Arc::new(|request| Script {
        first: [switching(&request, ""), announcing(0x82 | 0x40, u64::MAX)].concat(),
        then_forever: None,
        read: true,
    });
    against("2^64-1 length", behaviour, ERRORS);
}

#[test]
fn endless_fragments_stop_at_the_limit() {
    let fragment = frame(0x00, &vec![b'x'; 1 << 20]);
    let behaviour: Behaviour = Arc::new(move |request| Script {
        first: [switching(&request, ""), frame(0x02, b"start")].concat(),
        then_forever: Some(fragment.clone()),
        read: true,
    });
    against("endless fragments", behaviour, ERRORS);
}

#[test]
fn an_endless_response_head_is_refused() {
    let behaviour: Behaviour = Arc::new(|_| Script {
        first: b"HTTP/1.1 101 Switching Protocols\r\nX-Endless: ".to_vec(),
        then_forever: Some(vec![b'a'; 64 * 1024]),
        read: true,
    });
    against("endless head", behaviour, NOTHING_OPENED);
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    let behaviour: Behaviour = Arc::new(|_| Script {
        first: Vec::new(),
        then_forever: None,
        read: true,
    });
    let ended = against("silent server", behaviour, NOTHING_OPENED);
    assert!(ended.took < Duration::from_secs(6), "{:?}", ended.took);
}
