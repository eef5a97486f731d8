//! Where log lines go: a shared buffer that a thread of its own writes to stderr a few times a
//! millisecond-batch at a time. Logging a line is then a copy under an uncontended lock: no
//! write per line, no allocation per line, and no thread woken per line (a writer thread that
//! wakes for every line costs a context switch per echoed message when messages trickle in).
//!
//! Logging never waits for the output: past [`MAX_BUFFERED_BYTES`] waiting to be written (a
//! stuck journald or container log driver, a full disk, a terminal nobody scrolls), lines are
//! dropped and counted ([`DROPPED_LINES`], `echo_log_lines_dropped_total`), and once the output
//! takes bytes again one line says how many were lost. A server that blocked on its log instead
//! stopped echoing, answering `/healthz` and obeying SIGTERM for as long as the reader was stuck.
//! The [`FlushGuard`] writes what is left when it is dropped, at the end of `main`, waiting at
//! most [`FINAL_FLUSH`] for the output; a line logged after that is dropped too (one logged
//! with no writer thread at all goes straight to stderr).

use std::{
    io::{self, Write},
    sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
    time::Duration,
};

use prometheus_client::metrics::counter::Counter;
use tracing_subscriber::fmt::MakeWriter;

/// After the first line of a batch, how long more lines gather before the batch is written.
pub const GATHER: Duration = Duration::from_millis(5);
/// A batch this big is written at once rather than waiting out [`GATHER`].
pub const FLUSH_AT_BYTES: usize = 64 * 1024;
/// More than this waiting (the output is slower than the log): new lines are dropped.
pub const MAX_BUFFERED_BYTES: usize = 8 * 1024 * 1024;
/// At exit, the longest the last lines may take to be written before the process goes anyway.
pub const FINAL_FLUSH: Duration = Duration::from_secs(1);

/// Log lines dropped because the output did not keep up, since the process started.
pub static DROPPED_LINES: LazyLock<Counter> = LazyLock::new(Counter::default);

struct Shared {
    state: Mutex<State>,
    /// Lines are waiting (or the guard was dropped).
    wake: Condvar,
    /// The writer thread has written its last batch.
    finished: Condvar,
}

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    closed: bool,
    /// The writer thread is gone (or never started): lines logged now are not written by it.
    writer_gone: bool,
    /// No writer thread could be started: whoever logs writes to stderr itself.
    no_thread: bool,
    /// Lines dropped since the last line saying so.
    dropped: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock left a buffer of whole lines: keep using it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A cloneable handle to the buffer; give it to tracing-subscriber as the writer.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread and writes what is buffered when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread over `output` (stderr in the server).
pub fn batch_writer<W: Write + Send + 'static>(output: W) -> (BatchWriter, FlushGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        finished: Condvar::new(),
    });
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_batches(&shared, output))
    };
    let writer = BatchWriter {
        shared: Arc::clone(&shared),
    };
    // Without a thread (none can be started) every line is written by whoever logs it.
    let thread = thread.ok();
    if thread.is_none() {
        let mut state = shared.lock();
        state.closed = true;
        state.writer_gone = true;
        state.no_thread = true;
    }
    (writer, FlushGuard { shared, thread })
}

fn write_batches<W: Write>(shared: &Shared, mut output: W) {
    let mut batch = Vec::new();
    loop {
        let dropped;
        {
            let mut state = shared.lock();
            while state.buffer.is_empty() && state.dropped == 0 && !state.closed {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if !state.closed && state.buffer.len() < FLUSH_AT_BYTES {
                // Let the rest of the burst join this batch.
                state = shared
                    .wake
                    .wait_timeout(state, GATHER)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            std::mem::swap(&mut batch, &mut state.buffer);
            dropped = std::mem::take(&mut state.dropped);
            if batch.is_empty() && dropped == 0 && state.closed {
                state.writer_gone = true;
                shared.finished.notify_all();
                return;
            }
        }
        // Nowhere to report a failed write to: the log itself is what failed.
        let _ = output.write_all(&batch).and_then(|()| output.flush());
        if dropped > 0 {
            // Written once the output moves again: the gap in the log is explained in it.
            let _ = writeln!(output, "{}", dropped_line(dropped)).and_then(|()| output.flush());
        }
        batch.clear();
        // A flood's batches can grow to megabytes: do not keep that much once it is over.
        batch.shrink_to(FLUSH_AT_BYTES);
    }
}

/// The line that says how many lines the log lost.
pub fn dropped_line(lines: u64) -> String {
    format!(
        "log: {lines} line(s) dropped: the log output (stderr) did not keep up \
         (counted in echo_log_lines_dropped_total)"
    )
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        self.shared.wake.notify_all();
        // A stuck output must not hold the exit: wait a little, then leave the thread behind.
        let deadline = std::time::Instant::now() + FINAL_FLUSH;
        while !state.writer_gone {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .shared
                .finished
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(state);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        if state.no_thread {
            drop(state);
            return io::stderr().write_all(bytes).map(|()| bytes.len());
        }
        if state.closed || state.buffer.len() >= MAX_BUFFERED_BYTES {
            // The output is behind (or the writer has stopped): never wait for it.
            state.dropped += 1;
            DROPPED_LINES.inc();
            return Ok(bytes.len());
        }
        let was_empty = state.buffer.is_empty();
        state.buffer.extend_from_slice(bytes);
        let len = state.buffer.len();
        drop(state);
        if was_empty || len >= FLUSH_AT_BYTES {
            self.shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> BatchWriter {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut sink = self.0.lock().expect("lock");
            sink.0.extend_from_slice(bytes);
            sink.1 += 1;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_in_few_writes_and_all_are_flushed_at_the_end() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(sink.clone());
        let mut expected = Vec::new();
        for i in 0..10_000 {
            let line = format!("line {i}\n");
            writer
                .make_writer()
                .write_all(line.as_bytes())
                .expect("write");
            expected.extend_from_slice(line.as_bytes());
        }
        drop(guard);
        let (written, writes) = sink.0.lock().expect("lock").clone();
        assert_eq!(written, expected, "every line, in order");
        assert!(writes < 100, "batched: {writes} writes for 10,000 lines");
    }

    #[test]
    fn a_quiet_log_is_written_within_the_gather_time() {
        let sink = Sink::default();
        let (writer, _guard) = batch_writer(sink.clone());
        writer
            .make_writer()
            .write_all(b"one line\n")
            .expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while sink.0.lock().expect("lock").0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.0.lock().expect("lock").0, b"one line\n");
    }

    /// An output that blocks every write until released, as a pipe whose reader stopped.
    #[derive(Clone, Default)]
    struct Stuck {
        released: Arc<(Mutex<bool>, Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Stuck {
        fn release(&self) {
            *self.released.0.lock().expect("lock") = true;
            self.released.1.notify_all();
        }
    }

    impl Write for Stuck {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let (lock, released) = &*self.released;
            let mut open = lock.lock().expect("lock");
            while !*open {
                open = released.wait(open).expect("lock");
            }
            self.written.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_output_never_blocks_logging_and_the_loss_is_counted_and_said_once_it_moves() {
        let stuck = Stuck::default();
        let (writer, guard) = batch_writer(stuck.clone());
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        let started = std::time::Instant::now();
        // 20 MB of log, more than twice what may wait.
        for _ in 0..200_000 {
            writer.make_writer().write_all(&line).expect("write");
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "logging waited for the output: {:?}",
            started.elapsed()
        );
        let dropped = { writer.shared.lock().dropped };
        assert!(dropped > 100_000, "only {dropped} dropped");
        stuck.release();
        drop(guard);
        let written =
            String::from_utf8(stuck.written.lock().expect("lock").clone()).expect("utf-8");
        assert!(
            written.contains(&dropped_line(dropped)),
            "no line about the {dropped} dropped lines"
        );
    }

    #[test]
    fn the_final_flush_gives_up_on_a_stuck_output() {
        let stuck = Stuck::default();
        let (writer, guard) = batch_writer(stuck.clone());
        writer
            .make_writer()
            .write_all(b"last words\n")
            .expect("write");
        std::thread::sleep(GATHER * 4);
        let started = std::time::Instant::now();
        drop(guard);
        assert!(
            started.elapsed() < FINAL_FLUSH + Duration::from_millis(500),
            "exit held by the log for {:?}",
            started.elapsed()
        );
        stuck.release();
    }
}
