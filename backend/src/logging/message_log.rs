//! The `recv:` lines, formatted fast. There is one per echoed message, so their cost is paid
//! a million times a second in a flood; tracing-subscriber's general formatter (a fresh RFC 3339
//! timestamp per line, escaping the text one character at a time) was most of what logging
//! still cost once a thread of its own wrote the lines (bench/RESULTS.md has the figures).
//! This layer writes the same lines for the [`MESSAGE_LOG`] target only (byte for byte for
//! plain text): the timestamp's date and time are formatted once per second, and text is copied
//! whole unless it holds a character that needs escaping. Peer text is escaped more strictly
//! than tracing-subscriber does (the ws-peer-text crate: newlines, every control, bidi overrides), so
//! a message cannot forge a log line.
//!
//! Text lines: `2026-11-25T01:54:17.178456Z  INFO backend::messages: recv: hi`; JSON lines:
//! `{"timestamp":"…","level":"INFO","message":"recv: hi","target":"backend::messages"}`.

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    io::Write as _,
    time::{SystemTime, UNIX_EPOCH},
};

use tracing::{field::Field, Event, Subscriber};
use tracing_subscriber::{
    field::Visit,
    fmt::MakeWriter,
    layer::{Context, Layer},
};

pub use crate::logging::MESSAGE_LOG;
use ws_peer_text::{push_escaped, push_json_string};

/// How the lines look: as tracing-subscriber's text (optionally coloured) or JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Text { ansi: bool },
    Json,
}

pub struct MessageLogLayer<W> {
    style: Style,
    writer: W,
}

impl<W> MessageLogLayer<W> {
    pub fn new(style: Style, writer: W) -> Self {
        MessageLogLayer { style, writer }
    }
}

/// One thread's buffers, reused for every line it logs: nothing is allocated per message.
struct Scratch {
    line: String,
    message: String,
    /// The second whose `YYYY-MM-DDTHH:MM:SS` is in `date`.
    second: u64,
    date: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        line: String::with_capacity(256),
        message: String::with_capacity(256),
        second: u64::MAX,
        date: String::new(),
    });
}

impl<S, W> Layer<S> for MessageLogLayer<W>
where
    S: Subscriber,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != MESSAGE_LOG {
            return;
        }
        SCRATCH.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return; // logging from inside a write: cannot happen, never panic for it
            };
            format_line(self.style, SystemTime::now(), event, &mut scratch);
            // A failed write has nowhere to be reported; the server goes on.
            let _ = self.writer.make_writer().write_all(scratch.line.as_bytes());
        });
    }
}

fn format_line(style: Style, now: SystemTime, event: &Event<'_>, scratch: &mut Scratch) {
    let Scratch {
        line,
        message,
        second,
        date,
    } = scratch;
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    if since_epoch.as_secs() != *second {
        *second = since_epoch.as_secs();
        date.clear();
        write_date_time(date, *second);
    }
    line.clear();
    message.clear();
    event.record(&mut MessageText(message));
    let message = message.as_str();
    let micros = since_epoch.subsec_micros();
    match style {
        Style::Text { ansi } => {
            if ansi {
                let _ = write!(
                    line,
                    "\x1b[2m{date}.{micros:06}Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2m{MESSAGE_LOG}\x1b[0m\x1b[2m:\x1b[0m "
                );
            } else {
                let _ = write!(line, "{date}.{micros:06}Z  INFO {MESSAGE_LOG}: ");
            }
            push_escaped(line, message);
        }
        Style::Json => {
            let _ = write!(
                line,
                "{{\"timestamp\":\"{date}.{micros:06}Z\",\"level\":\"INFO\",\"message\":"
            );
            push_json_string(line, message);
            let _ = write!(line, ",\"target\":\"{MESSAGE_LOG}\"}}");
        }
    }
    line.push('\n');
}

/// Writes the event's `message` field into the buffer it holds.
struct MessageText<'a>(&'a mut String);

impl Visit for MessageText<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC for a count of seconds since the epoch.
fn write_date_time(out: &mut String, seconds: u64) {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    );
}

/// The Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        let cases = [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (1_764_035_657, "2025-11-25T01:54:17"),
            (4_107_542_399, "2100-02-28T23:59:59"),
        ];
        for (seconds, expected) in cases {
            let mut out = String::new();
            write_date_time(&mut out, seconds);
            assert_eq!(out, expected, "{seconds}");
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The lines this layer writes for `texts`, and the lines tracing-subscriber's own
    /// formatter writes for the same events.
    fn both(style: Style, texts: &[&str]) -> (String, String) {
        let (ours, theirs) = (Captured::default(), Captured::default());
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(theirs.clone())
            .with_ansi(matches!(style, Style::Text { ansi: true }));
        let subscriber =
            tracing_subscriber::registry().with(MessageLogLayer::new(style, ours.clone()));
        let emit = || {
            for text in texts {
                tracing::info!(target: MESSAGE_LOG, "recv: {}", text);
            }
        };
        match style {
            Style::Json => tracing::subscriber::with_default(
                subscriber.with(fmt.json().flatten_event(true)),
                emit,
            ),
            Style::Text { .. } => tracing::subscriber::with_default(subscriber.with(fmt), emit),
        }
        let text =
            |c: Captured| String::from_utf8(c.0.lock().expect("lock").clone()).expect("utf-8");
        (text(ours), text(theirs))
    }

    /// Lines with their timestamps (`2025-11-25T01:54:17.178456Z`) blanked: the two formatters
    /// read the clock apart. A text line's own newline continues it on a line with none.
    fn without_time(lines: &str) -> Vec<String> {
        const LEN: usize = "2025-11-25T01:54:17.178456".len();
        let shape = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect()
        };
        lines
            .lines()
            .map(|line| {
                let stamp = line.match_indices('Z').map(|(end, _)| end).find(|&end| {
                    end >= LEN
                        && line.is_char_boundary(end - LEN)
                        && shape(&line[end - LEN..end]) == "9999-99-99T99:99:99.999999"
                });
                match stamp {
                    Some(end) => format!("{}<time>{}", &line[..end - LEN], &line[end..]),
                    None => line.to_owned(),
                }
            })
            .collect()
    }

    /// Texts both formatters write alike: no character that either escapes.
    const PLAIN: [&str; 4] = [
        "hello",
        "quote \" and é ✓ 日本",
        "spaces   and — dashes",
        "",
    ];

    /// Texts a peer might use to forge or hide log lines.
    const HOSTILE: [&str; 4] = [
        "ok\n2026-12-06T03:00:00.000000Z  INFO backend::connection::session: connection opened peer=10.6.6.6:31337",
        "escape \x1b[31m red, bell \x07, del \x7f, tab \t, cr \r",
        "c1 \u{85} \u{9b} and \x01 \x1f \x0c \\ backslash",
        "bidi \u{202e}desrever\u{202c} \u{2066}isolate\u{2069}",
    ];

    #[test]
    fn plain_text_lines_are_what_tracing_subscriber_writes() {
        for ansi in [false, true] {
            let (ours, theirs) = both(Style::Text { ansi }, &PLAIN);
            assert_eq!(without_time(&ours), without_time(&theirs), "ansi {ansi}");
        }
        let (ours, theirs) = both(Style::Json, &PLAIN);
        assert_eq!(without_time(&ours), without_time(&theirs));
    }

    #[test]
    fn a_hostile_message_makes_exactly_one_line_with_every_control_and_bidi_character_visible() {
        for style in [
            Style::Text { ansi: false },
            Style::Text { ansi: true },
            Style::Json,
        ] {
            let (ours, _) = both(style, &HOSTILE);
            let lines: Vec<&str> = ours.lines().collect();
            assert_eq!(lines.len(), HOSTILE.len(), "{style:?}: {ours}");
            for (line, text) in lines.iter().zip(HOSTILE) {
                let shown = line.split("recv: ").nth(1).expect("a recv: line");
                let bad = shown.chars().find(|&c| {
                    (c.is_control() && c != '\x1b') || ws_peer_text::needs_escape(c) && c != '\\'
                });
                // The only raw ESC allowed is the formatter's own colour codes, before "recv:".
                assert!(bad.is_none(), "{style:?}: {bad:?} raw in {line:?}");
                if style == Style::Json {
                    let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
                    assert_eq!(
                        value["message"],
                        format!("recv: {text}"),
                        "decodes to the text"
                    );
                } else {
                    assert!(!shown.contains('\x1b'), "{line:?}");
                }
            }
        }
        let (text, _) = both(Style::Text { ansi: false }, &HOSTILE[..1]);
        assert!(
            text.ends_with(
                "recv: ok\\n2026-12-06T03:00:00.000000Z  INFO backend::connection::session: connection opened \
                 peer=10.6.6.6:31337\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn other_targets_are_left_to_the_general_formatter() {
        let ours = Captured::default();
        let subscriber =
            tracing_subscriber::registry().with(MessageLogLayer::new(Style::Json, ours.clone()));
        tracing::subscriber::with_default(subscriber, || tracing::info!("connection opened"));
        assert!(ours.0.lock().expect("lock").is_empty());
    }
}
