//! What the client prints: human lines (optionally timestamped) or one JSON object per event.
//! Data goes to stdout; notices and errors go to stderr.
//!
//! Everything a server chose (its messages, close reason, refusal body, headers) is shown with
//! its control characters made visible (`\x1b`, `\r`, `\u{202e}`: the ws-peer-text crate):
//! a tester is pointed at servers nobody vouches for, and raw text could set the terminal's
//! clipboard (OSC 52), retitle it, clear it or overwrite a line. `--raw` prints received
//! messages exactly as they came; `--json` escapes as JSON does.

use std::{
    io::Write,
    time::{Duration, SystemTime},
};

use serde_json::{json, Value};

use ws_peer_text::visible;

use crate::payload::hex;

/// Where stdout lines go: the terminal, or rustyline's printer while a prompt is shown.
pub type LineWriter = Box<dyn FnMut(String) + Send>;

pub struct Printer {
    timestamps: bool,
    quiet: bool,
    json: bool,
    /// Received text as it came, controls and all (`--raw`).
    raw: bool,
    out: LineWriter,
}

/// A message as it is shown: text as is, binary as its size and hex bytes.
pub enum Body<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

impl Body<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Body::Text(_) => "text",
            Body::Binary(_) => "binary",
        }
    }

    fn size(&self) -> usize {
        match self {
            Body::Text(text) => text.len(),
            Body::Binary(bytes) => bytes.len(),
        }
    }

    fn human(&self, raw: bool) -> String {
        match self {
            Body::Text(text) if raw => (*text).to_owned(),
            Body::Text(text) => visible(text).into_owned(),
            Body::Binary(bytes) => format!("<binary, {} bytes> {}", bytes.len(), hex(bytes)),
        }
    }

    fn json_data(&self) -> (&'static str, Value) {
        match self {
            Body::Text(text) => ("data", json!(text)),
            Body::Binary(bytes) => ("data_hex", json!(hex(bytes).replace(' ', ""))),
        }
    }
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn millis(rtt: Duration) -> f64 {
    (rtt.as_secs_f64() * 1e6).round() / 1e3
}

impl Printer {
    pub fn new(timestamps: bool, quiet: bool, json: bool, raw: bool) -> Printer {
        Printer {
            timestamps,
            quiet,
            json,
            raw,
            out: Box::new(|line| {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
            }),
        }
    }

    pub fn set_writer(&mut self, out: LineWriter) {
        self.out = out;
    }

    fn line(&mut self, text: String) {
        let text = if self.timestamps {
            format!("{} {text}", now())
        } else {
            text
        };
        (self.out)(text);
    }

    fn event(&mut self, mut event: Value) {
        event["time"] = json!(now());
        (self.out)(event.to_string());
    }

    /// A notice on stdout (`connecting to …`, `interrupt`), not shown with --quiet.
    pub fn notice(&mut self, event: &str, text: String) {
        if self.json {
            self.event(json!({ "event": event, "text": text }));
        } else if !self.quiet {
            self.line(visible(&text).into_owned());
        }
    }

    /// A handshake head for `-v`: `> ` lines for the request sent, `< ` for the answer.
    pub fn head(&mut self, sent: bool, head: &crate::head::Head) {
        if self.json {
            let headers: Vec<[&str; 2]> = head
                .headers
                .iter()
                .map(|(name, value)| [name.as_str(), value.as_str()])
                .collect();
            let event = if sent {
                "request_head"
            } else {
                "response_head"
            };
            self.event(json!({ "event": event, "start": head.start, "headers": headers }));
            return;
        }
        let mark = if sent { '>' } else { '<' };
        self.line(format!("{mark} {}", visible(&head.start)));
        for (name, value) in &head.headers {
            self.line(format!("{mark} {}: {}", visible(name), visible(value)));
        }
        self.line(mark.to_string());
    }

    /// What came of `--compress`: the server's answer, or `None` if it declined.
    pub fn compression(&mut self, agreed: Option<&str>) {
        if self.json {
            self.event(json!({ "event": "compression", "agreed": agreed }));
        } else if !self.quiet {
            match agreed {
                Some(answer) => self.line(format!("compression: {}", visible(answer))),
                None => self.line(
                    "compression: the server declined permessage-deflate; messages go uncompressed"
                        .to_owned(),
                ),
            }
        }
    }

    /// A message that arrived; `wire_size` is its payload as it came over the wire (compressed)
    /// when compression was agreed.
    pub fn received(&mut self, body: Body<'_>, rtt: Option<Duration>, wire_size: Option<usize>) {
        if self.json {
            let (key, data) = body.json_data();
            let mut event = json!({ "event": "recv", "direction": "in", "type": body.kind(), "size": body.size() });
            event[key] = data;
            if let Some(wire_size) = wire_size {
                event["wire_size"] = json!(wire_size);
            }
            if let Some(rtt) = rtt {
                event["rtt_ms"] = json!(millis(rtt));
            }
            self.event(event);
        } else {
            self.line(format!("recv: {}", body.human(self.raw)));
        }
    }

    pub fn sent(&mut self, body: Body<'_>, wire_size: Option<usize>) {
        if self.json {
            let (key, data) = body.json_data();
            let mut event = json!({ "event": "send", "direction": "out", "type": body.kind(), "size": body.size() });
            event[key] = data;
            if let Some(wire_size) = wire_size {
                event["wire_size"] = json!(wire_size);
            }
            self.event(event);
        }
    }

    pub fn pong(&mut self, rtt: Option<Duration>) {
        if self.json {
            let mut event =
                json!({ "event": "pong", "direction": "in", "type": "pong", "size": 0 });
            if let Some(rtt) = rtt {
                event["rtt_ms"] = json!(millis(rtt));
            }
            self.event(event);
        } else {
            match rtt {
                Some(rtt) => self.line(format!("pong: rtt {:.3} ms", millis(rtt))),
                None => self.line("pong (unsolicited)".to_owned()),
            }
        }
    }

    pub fn closed(&mut self, by: &str, code: Option<u16>, reason: &str) {
        if self.json {
            self.event(json!({ "event": "close", "by": by, "code": code, "reason": reason }));
        } else if !self.quiet && by != "client" {
            // Our own close is silent, as in the original; the server's is news.
            let code = code.map_or_else(|| "no code".to_owned(), |c| format!("code {c}"));
            let reason = if reason.is_empty() {
                String::new()
            } else {
                format!(", reason: {}", visible(reason))
            };
            eprintln!("closed by {by} ({code}{reason})");
        }
    }

    /// An error: always on stderr (and as an event with --json).
    pub fn error(&mut self, text: &str) {
        if self.json {
            self.event(json!({ "event": "error", "text": text }));
        }
        eprintln!("error: {}", visible(text));
    }
}
