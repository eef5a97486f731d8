//! The connection's state and the output log, changed only through [`Action`]s.

use std::rc::Rc;

use yew::Reducible;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub phase: Phase,
    pub log: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A socket was created and is connecting.
    Connecting,
    /// The socket's open event fired.
    Opened,
    /// A message was handed to the socket.
    Sent(String),
    /// A message arrived, already turned into display text.
    Received(String),
    /// The user asked to close.
    Closing,
    /// The socket's close event fired.
    Closed {
        code: u16,
        reason: String,
        was_clean: bool,
    },
    /// Something failed; the connection may still be open.
    Failed(String),
    /// The user emptied the log.
    Cleared,
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = (*self).clone();
        match action {
            Action::Connecting => state.phase = Phase::Connecting,
            Action::Opened => {
                state.phase = Phase::Open;
                state.log.push(Line::Open);
            }
            Action::Sent(text) => state.log.push(Line::Send(text)),
            Action::Received(text) => state.log.push(Line::Response(text)),
            Action::Closing => state.phase = Phase::Closing,
            Action::Closed {
                code,
                reason,
                was_clean,
            } => {
                state.phase = Phase::Closed;
                state.log.push(Line::Close {
                    code,
                    reason,
                    was_clean,
                });
            }
            Action::Failed(text) => state.log.push(Line::Error(text)),
            Action::Cleared => state.log.clear(),
        }
        state.into()
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

    #[wasm_bindgen_test]
    fn a_full_session_logs_the_original_lines() {
        let state = run(vec![
            Action::Connecting,
            Action::Opened,
            Action::Sent("Hello world!".into()),
            Action::Received("Hello world!".into()),
            Action::Closing,
            Action::Closed {
                code: 1000,
                reason: String::new(),
                was_clean: true,
            },
        ]);
        let lines: Vec<String> = state.log.iter().map(Line::text).collect();
        assert_eq!(
            lines,
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
    fn phases_follow_the_socket() {
        assert_eq!(run(vec![Action::Connecting]).phase, Phase::Connecting);
        assert_eq!(
            run(vec![Action::Connecting, Action::Opened]).phase,
            Phase::Open
        );
        assert_eq!(
            run(vec![Action::Connecting, Action::Opened, Action::Closing]).phase,
            Phase::Closing
        );
        let failed = run(vec![
            Action::Connecting,
            Action::Failed("refused".into()),
            Action::Closed {
                code: 1006,
                reason: String::new(),
                was_clean: false,
            },
        ]);
        assert_eq!(failed.phase, Phase::Closed);
        assert_eq!(
            failed.log.last().map(Line::text).as_deref(),
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
}
