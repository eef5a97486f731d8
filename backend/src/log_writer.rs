//! Where log lines go: a shared buffer that a thread of its own writes to stderr a few times a
//! millisecond-batch at a time. Logging a line is then a copy under an uncontended lock: no
//! write per line, no allocation per line, and no thread woken per line (a writer thread that
//! wakes for every line costs a context switch per echoed message when messages trickle in).
//!
//! Nothing is dropped: past [`MAX_BUFFERED_BYTES`] a thread that logs waits for the writer,
//! so a disk or pipe slower than the log slows the server instead of losing lines. The
//! [`FlushGuard`] writes what is left when it is dropped, at the end of `main`; a line logged
//! after that (or with no writer thread) goes straight to stderr.

use std::{
    io::{self, Write},
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;

/// After the first line of a batch, how long more lines gather before the batch is written.
pub const GATHER: Duration = Duration::from_millis(5);
/// A batch this big is written at once rather than waiting out [`GATHER`].
pub const FLUSH_AT_BYTES: usize = 64 * 1024;
/// More than this waiting (the output is slower than the log): logging waits for the writer.
pub const MAX_BUFFERED_BYTES: usize = 8 * 1024 * 1024;

struct Shared {
    state: Mutex<State>,
    /// Lines are waiting (or the guard was dropped).
    wake: Condvar,
    /// The writer took the buffer.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    closed: bool,
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
        drained: Condvar::new(),
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
        shared.lock().closed = true;
    }
    (writer, FlushGuard { shared, thread })
}

fn write_batches<W: Write>(shared: &Shared, mut output: W) {
    let mut batch = Vec::new();
    loop {
        {
            let mut state = shared.lock();
            while state.buffer.is_empty() && !state.closed {
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
            shared.drained.notify_all();
            if batch.is_empty() && state.closed {
                return;
            }
        }
        // Nowhere to report a failed write to: the log itself is what failed.
        let _ = output.write_all(&batch).and_then(|()| output.flush());
        batch.clear();
        // A flood's batches can grow to megabytes: do not keep that much once it is over.
        batch.shrink_to(FLUSH_AT_BYTES);
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        while state.buffer.len() >= MAX_BUFFERED_BYTES && !state.closed {
            // The output is behind: wait for the writer rather than drop lines.
            self.shared.wake.notify_one();
            state = self
                .shared
                .drained
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.closed {
            drop(state);
            return io::stderr().write_all(bytes).map(|()| bytes.len());
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
}
