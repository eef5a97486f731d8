//! The connection's state, the output log and the figures shown beside it, changed only
//! through [`Action`]s. Times (milliseconds since the epoch) come in the actions, so the
//! reducer stays a pure function.

use std::{collections::VecDeque, rc::Rc};

use yew::Reducible;

use crate::{fixture_query::Asked, rtt_series::RttSeries, rtt_stats::RttStats};

/// Entries kept; older ones are dropped (and counted) so a long session stays fast.
pub const MAX_ENTRIES: usize = 10_000;

/// Where the connection is; it decides which buttons do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Closed,
    Connecting,
    Open,
    Closing,
}

/// One line of the output log, as the original page wrote them.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Open,
    Send(String),
    Response(String),
    Close {
        code: u16,
        reason: String,
        was_clean: bool,
    },
    Error(String),
    /// Auto-reconnect's progress: when the next attempt is, or that it gave up.
    Reconnect(String),
}

impl Line {
    /// The text shown for this line: `OPEN`, `SEND: …`, `RESPONSE: …`, `CLOSE …`, `ERROR: …`.
    pub fn text(&self) -> String {
        match self {
            Line::Open => "OPEN".to_owned(),
            Line::Send(text) => format!("SEND: {text}"),
            Line::Response(text) => format!("RESPONSE: {text}"),
            Line::Close {
                code,
                reason,
                was_clean,
            } => {
                let mut text = format!("CLOSE (code {code}");
                if !reason.is_empty() {
                    text.push_str(&format!(", reason: {reason}"));
                }
                if !was_clean {
                    text.push_str(", not clean");
                }
                text.push(')');
                text
            }
            Line::Error(text) => format!("ERROR: {text}"),
            Line::Reconnect(text) => format!("RECONNECT: {text}"),
        }
    }
}

/// Which way a data message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Out,
    In,
}

/// A logged event with what the log shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Counts up from 1 over the page's life: the entry's key in the rendered list.
    pub id: u64,
    /// Milliseconds since the epoch.
    pub at: f64,
    pub line: Line,
    /// For data messages: direction, text or binary, size in bytes.
    pub data: Option<(Direction, bool, usize)>,
    /// For an echo: time since the matching message was sent.
    pub rtt_ms: Option<f64>,
}

/// A data message as the socket hook reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataEvent {
    pub at: f64,
    /// What the log shows: the text, or `<binary, N bytes> …`.
    pub display: String,
    pub binary: bool,
    pub size: usize,
}

/// Messages and bytes each way, round-trip times, uptime.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub sent: u64,
    pub sent_bytes: u64,
    pub received: u64,
    pub received_bytes: u64,
    pub rtt: RttStats,
    /// Recent round trips and echoes per second, for the chart.
    pub series: RttSeries,
    pub opened_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub phase: Phase,
    /// The subprotocol agreed for the current (or last) connection; empty for none.
    pub protocol: String,
    /// The extensions agreed (`WebSocket.extensions`), e.g. permessage-deflate; empty for none.
    pub extensions: String,
    /// Shared entries: the reducer copies the state on every action, and copying 10,000
    /// pointers is cheap where copying 10,000 messages is not.
    pub log: VecDeque<Rc<Entry>>,
    /// The id the next entry gets.
    next_id: u64,
    /// Entries dropped from the front because of [`MAX_ENTRIES`].
    pub dropped: usize,
    pub stats: Stats,
    /// Send times of messages whose echo has not come back yet, oldest first.
    in_flight: VecDeque<f64>,
    /// What the connection asked of the server in its URL (`hello=request`, `push_every=`).
    asked: Asked,
    /// The request as the server saw it (`hello=request`'s first message, JSON), for the
    /// current or last connection.
    pub hello: Option<Rc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A socket was created and is connecting.
    Connecting,
    /// The socket's open event fired; `protocol` is the subprotocol the server agreed to,
    /// `extensions` the extensions the browser and server agreed.
    Opened {
        at: f64,
        protocol: String,
        extensions: String,
        /// What the URL asked of the server that changes what arrives.
        asked: Asked,
    },
    /// A message was handed to the socket.
    Sent(DataEvent),
    /// A message arrived.
    Received(DataEvent),
    /// The user asked to close.
    Closing,
    /// The socket's close event fired.
    Closed {
        at: f64,
        code: u16,
        reason: String,
        was_clean: bool,
    },
    /// Something failed; the connection may still be open.
    Failed { at: f64, text: String },
    /// Auto-reconnect waits before another attempt (or gave up): what to log.
    /// `waiting`: a next attempt is coming (shown as connecting, so Close can cancel it).
    Reconnecting {
        at: f64,
        text: String,
        waiting: bool,
    },
    /// The user emptied the log.
    Cleared,
    /// Several of the above, in order, applied with one copy of the state and one render.
    Batch(Vec<Action>),
}

impl State {
    fn push(&mut self, mut entry: Entry) {
        self.next_id += 1;
        entry.id = self.next_id;
        self.log.push_back(Rc::new(entry));
        if self.log.len() > MAX_ENTRIES {
            self.log.pop_front();
            self.dropped += 1;
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = (*self).clone();
        state.apply(action);
        state.into()
    }
}

impl State {
    fn apply(&mut self, action: Action) {
        let state = self;
        let plain = |at, line| Entry {
            id: 0,
            at,
            line,
            data: None,
            rtt_ms: None,
        };
        match action {
            Action::Connecting => state.phase = Phase::Connecting,
            Action::Opened {
                at,
                protocol,
                extensions,
                asked,
            } => {
                state.phase = Phase::Open;
                state.protocol = protocol;
                state.extensions = extensions;
                state.asked = asked;
                state.hello = None;
                state.stats = Stats {
                    opened_at: Some(at),
                    ..Stats::default()
                };
                state.in_flight.clear();
                state.push(plain(at, Line::Open));
            }
            Action::Sent(event) => {
                state.stats.sent += 1;
                state.stats.sent_bytes += event.size as u64;
                state.in_flight.push_back(event.at);
                state.push(Entry {
                    id: 0,
                    at: event.at,
                    line: Line::Send(event.display),
                    data: Some((Direction::Out, event.binary, event.size)),
                    rtt_ms: None,
                });
            }
            Action::Received(event) => {
                state.stats.received += 1;
                state.stats.received_bytes += event.size as u64;
                let is_hello = state.asked.hello && !event.binary && state.hello.is_none();
                if is_hello {
                    state.hello = Some(Rc::from(event.display.as_str()));
                }
                // An echo server answers in order: this echoes the oldest message in flight.
                // The hello and the server's own pushes are not echoes.
                let rtt_ms = if is_hello || state.asked.pushes {
                    None
                } else {
                    state
                        .in_flight
                        .pop_front()
                        .map(|sent| (event.at - sent).max(0.0))
                };
                if let Some(rtt) = rtt_ms {
                    state.stats.rtt.record(rtt);
                }
                state.stats.series.record(event.at, rtt_ms);
                state.push(Entry {
                    id: 0,
                    at: event.at,
                    line: Line::Response(event.display),
                    data: Some((Direction::In, event.binary, event.size)),
                    rtt_ms,
                });
            }
            Action::Closing => state.phase = Phase::Closing,
            Action::Closed {
                at,
                code,
                reason,
                was_clean,
            } => {
                state.phase = Phase::Closed;
                state.stats.opened_at = None;
                state.in_flight.clear();
                state.push(plain(
                    at,
                    Line::Close {
                        code,
                        reason,
                        was_clean,
                    },
                ));
            }
            Action::Failed { at, text } => state.push(plain(at, Line::Error(text))),
            Action::Reconnecting { at, text, waiting } => {
                state.phase = if waiting {
                    Phase::Connecting
                } else {
                    Phase::Closed
                };
                state.push(plain(at, Line::Reconnect(text)));
            }
            Action::Cleared => {
                state.log.clear();
                state.dropped = 0;
            }
            Action::Batch(actions) => actions.into_iter().for_each(|action| state.apply(action)),
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    fn run(actions: Vec<Action>) -> Rc<State> {
        actions
            .into_iter()
            .fold(Rc::new(State::default()), State::reduce)
    }

    fn opened(at: f64) -> Action {
        Action::Opened {
            at,
            protocol: String::new(),
            extensions: "permessage-deflate".into(),
            asked: Asked::default(),
        }
    }

    #[wasm_bindgen_test]
    fn the_hello_is_kept_and_neither_it_nor_pushes_are_taken_for_echoes() {
        let hello = r#"{"method":"GET","instance":"a"}"#;
        let state = run(vec![
            Action::Opened {
                at: 1.0,
                protocol: String::new(),
                extensions: String::new(),
                asked: Asked {
                    hello: true,
                    pushes: false,
                },
            },
            Action::Sent(data(2.0, "hi")),
            Action::Received(data(2.5, hello)),
            Action::Received(data(3.0, "hi")),
        ]);
        assert_eq!(state.hello.as_deref(), Some(hello));
        assert_eq!(state.stats.rtt.count(), 1);
        assert_eq!(state.log.back().and_then(|e| e.rtt_ms), Some(1.0));
        let pushed = run(vec![
            Action::Opened {
                at: 1.0,
                protocol: String::new(),
                extensions: String::new(),
                asked: Asked {
                    hello: false,
                    pushes: true,
                },
            },
            Action::Sent(data(2.0, "hi")),
            Action::Received(data(2.5, "push 1 ....")),
        ]);
        assert_eq!(pushed.stats.rtt.count(), 0);
        assert_eq!(pushed.hello, None);
    }

    fn data(at: f64, display: &str) -> DataEvent {
        DataEvent {
            at,
            display: display.to_owned(),
            binary: false,
            size: display.len(),
        }
    }

    fn texts(state: &State) -> Vec<String> {
        state.log.iter().map(|entry| entry.line.text()).collect()
    }

    #[wasm_bindgen_test]
    fn a_full_session_logs_the_original_lines() {
        let state = run(vec![
            Action::Connecting,
            opened(0.0),
            Action::Sent(data(1.0, "Hello world!")),
            Action::Received(data(3.5, "Hello world!")),
            Action::Closing,
            Action::Closed {
                at: 5.0,
                code: 1000,
                reason: String::new(),
                was_clean: true,
            },
        ]);
        assert_eq!(
            texts(&state),
            [
                "OPEN",
                "SEND: Hello world!",
                "RESPONSE: Hello world!",
                "CLOSE (code 1000)"
            ]
        );
        assert_eq!(state.phase, Phase::Closed);
    }

    #[wasm_bindgen_test]
    fn echoes_are_matched_to_sends_in_order_for_their_round_trip() {
        let state = run(vec![
            opened(0.0),
            Action::Sent(data(10.0, "a")),
            Action::Sent(data(11.0, "b")),
            Action::Received(data(12.5, "a")),
            Action::Received(data(20.0, "b")),
        ]);
        let rtts: Vec<Option<f64>> = state.log.iter().map(|e| e.rtt_ms).collect();
        assert_eq!(rtts, [None, None, None, Some(2.5), Some(9.0)]);
        assert_eq!(state.stats.rtt.summary(), Some((2.5, 5.75, 9.0)));
        assert_eq!(
            (
                state.stats.sent,
                state.stats.received,
                state.stats.sent_bytes
            ),
            (2, 2, 2)
        );
        assert_eq!(state.log[1].data, Some((Direction::Out, false, 1)));
    }

    #[wasm_bindgen_test]
    fn an_unmatched_message_has_no_round_trip() {
        let state = run(vec![
            opened(0.0),
            Action::Received(data(1.0, "server push")),
        ]);
        assert_eq!(state.log[1].rtt_ms, None);
        assert_eq!(state.stats.rtt.summary(), None);
    }

    #[wasm_bindgen_test]
    fn the_log_keeps_the_newest_entries_and_counts_the_dropped() {
        let mut actions = vec![opened(0.0)];
        actions.extend((0..MAX_ENTRIES + 5).map(|i| Action::Failed {
            at: i as f64,
            text: i.to_string(),
        }));
        let state = run(actions);
        assert_eq!(state.log.len(), MAX_ENTRIES);
        assert_eq!(state.dropped, 6);
        assert_eq!(
            state.log.back().map(|e| e.line.text()),
            Some(format!("ERROR: {}", MAX_ENTRIES + 4))
        );
        let cleared = State::reduce(state, Action::Cleared);
        assert!(cleared.log.is_empty() && cleared.dropped == 0);
    }

    #[wasm_bindgen_test]
    fn phases_follow_the_socket() {
        assert_eq!(run(vec![Action::Connecting]).phase, Phase::Connecting);
        let open = run(vec![Action::Connecting, opened(0.0)]);
        assert_eq!(open.phase, Phase::Open);
        assert_eq!(
            open.extensions, "permessage-deflate",
            "what was agreed is kept"
        );
        let failed = run(vec![
            Action::Connecting,
            Action::Failed {
                at: 0.0,
                text: "refused".into(),
            },
            Action::Closed {
                at: 0.0,
                code: 1006,
                reason: String::new(),
                was_clean: false,
            },
        ]);
        assert_eq!(failed.phase, Phase::Closed);
        assert_eq!(
            texts(&failed).last().map(String::as_str),
            Some("CLOSE (code 1006, not clean)")
        );
    }

    #[wasm_bindgen_test]
    fn close_shows_code_and_reason() {
        let line = Line::Close {
            code: 4000,
            reason: "bye now".into(),
            was_clean: true,
        };
        assert_eq!(line.text(), "CLOSE (code 4000, reason: bye now)");
    }

    #[wasm_bindgen_test]
    fn a_batch_is_its_actions_in_order() {
        let one_by_one = vec![
            opened(0.0),
            Action::Sent(data(1.0, "a")),
            Action::Received(data(4.0, "a")),
            Action::Failed {
                at: 5.0,
                text: "x".into(),
            },
        ];
        let batched = vec![opened(0.0), Action::Batch(one_by_one[1..].to_vec())];
        assert_eq!(run(one_by_one), run(batched));
    }

    #[wasm_bindgen_test]
    fn entries_get_increasing_ids_that_survive_clear() {
        let state = run(vec![
            opened(0.0),
            Action::Sent(data(1.0, "a")),
            Action::Cleared,
            Action::Sent(data(2.0, "b")),
        ]);
        let ids: Vec<u64> = state.log.iter().map(|e| e.id).collect();
        assert_eq!(ids, [3]);
    }
}
