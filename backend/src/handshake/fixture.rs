//! The fault parameters of `/echo`'s query string, so that any client (a browser, a phone app,
//! `wscat`) can make the server misbehave on purpose, without code:
//!
//! | parameter | what it asks |
//! |---|---|
//! | `delay=DURATION` | each echo leaves DURATION after its message came (at most 60 s) |
//! | `close_after=N\|DURATION`, `close_code=CODE`, `close_reason=TEXT` | the server closes after N echoes or DURATION |
//! | `reset_after=N\|DURATION` | the server resets the TCP connection, no close frame |
//! | `push_every=DURATION`, `push_size=N`, `push_type=text\|binary` | numbered messages of its own (every 10 ms at least) |
//! | `pongs=off` | pings get no pong |
//! | `fragment=N` | echoes in frames of at most N bytes |
//! | `refuse=STATUS` | the upgrade refused with that status (400-599) |
//! | `subprotocol=none\|NAME` | no subprotocol agreed, or exactly NAME |
//! | `compression=off` | permessage-deflate not agreed |
//! | `hello=request` | the first message describes the upgrade request as it arrived |
//!
//! A known parameter with a bad value is an error that names it and what it takes (the upgrade
//! is refused with 400); unknown parameters are ignored, as clients add cache-busters.

use std::{fmt, time::Duration};

use actix_http::StatusCode;
use actix_ws::{CloseCode, CloseReason};

use crate::{
    connection::{
        echo::is_sendable_close_code,
        fixture::{After, Behaviour, Push},
    },
    handshake::subprotocol::{is_token, MAX_SUBPROTOCOL_BYTES},
};

/// Longest `delay`.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// Longest `close_after` / `reset_after` / `push_every` time.
pub const MAX_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Shortest `push_every`.
pub const MIN_PUSH_EVERY: Duration = Duration::from_millis(10);
/// Largest `push_size` and `fragment`, in bytes.
pub const MAX_PUSH_BYTES: usize = 1 << 20;
/// Longest close reason: a close frame's payload is 125 bytes, 2 of them the code.
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// Which subprotocol to agree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SubprotocolChoice {
    /// The first one offered that is a valid token (the normal behaviour).
    #[default]
    FirstOffered,
    /// None, whatever was offered.
    Refuse,
    /// Exactly this one, even if it was not offered (to test a client's check).
    Exactly(String),
}

/// What a connection asked for in its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub refuse: Option<StatusCode>,
    pub subprotocol: SubprotocolChoice,
    /// Whether permessage-deflate may be agreed.
    pub compression: bool,
    /// Whether the first message describes the request.
    pub hello: bool,
    /// What the connection does besides the echo (its hello is filled in at the upgrade).
    pub behaviour: Behaviour,
}

impl Default for Asked {
    fn default() -> Self {
        Asked {
            refuse: None,
            subprotocol: SubprotocolChoice::FirstOffered,
            compression: true,
            hello: false,
            behaviour: Behaviour::default(),
        }
    }
}

impl Asked {
    /// The fault names in use, as the metrics label them.
    pub fn faults(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.behaviour.faults().collect();
        for (name, used) in [
            ("hello", self.hello),
            ("refuse", self.refuse.is_some()),
            (
                "subprotocol",
                self.subprotocol != SubprotocolChoice::FirstOffered,
            ),
            ("compression_off", !self.compression),
        ] {
            if used {
                names.push(name);
            }
        }
        names
    }
}

/// A known parameter with a value it does not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParameter {
    pub name: &'static str,
    /// The value as it came (percent-decoded when it could be), cut and escaped when shown.
    pub value: String,
    /// What it takes.
    pub accepts: &'static str,
}

impl fmt::Display for BadParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "query parameter {}=`{}` is not valid: {} takes {}",
            self.name,
            ws_peer_text::escaped_cut(&self.value, 100),
            self.name,
            self.accepts
        )
    }
}

const DELAY: &str = "a duration from 0 to 60s, like 250ms or 2s";
const AFTER: &str = "a number of echoes (0 or more) or a duration up to 24h, like 5 or 10s";
const CLOSE_CODE: &str = "a close code a server may send: 1000-1003, 1007-1014 or 3000-4999";
const CLOSE_REASON: &str = "UTF-8 text of at most 123 bytes (percent-encoded in the URL)";
const PUSH_EVERY: &str = "a duration from 10ms to 24h, like 100ms or 1s";
const PUSH_SIZE: &str = "a number of bytes from 0 to 1048576";
const PUSH_TYPE: &str = "text or binary";
const PONGS: &str = "off";
const FRAGMENT: &str = "a number of bytes from 1 to 1048576";
const REFUSE: &str = "an HTTP status from 400 to 599";
const SUBPROTOCOL: &str = "none, or a subprotocol name (an RFC 7230 token of at most 128 bytes)";
const COMPRESSION: &str = "off";
const HELLO: &str = "request";

/// The parameters of `query` (the part of the URL after `?`, if any).
pub fn parse(query: &str) -> Result<Asked, BadParameter> {
    let mut asked = Asked::default();
    let mut close_after = None;
    let mut close_code = None;
    let mut close_reason = None;
    let mut push = None;
    let mut push_size = None;
    let mut push_binary = None;
    let mut seen: Vec<&'static str> = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(name) = known(&percent_decode(raw_name).unwrap_or_default()) else {
            continue;
        };
        let value = percent_decode(raw_value);
        let bad = |accepts| BadParameter {
            name,
            value: value
                .clone()
                .unwrap_or_else(|| String::from_utf8_lossy(raw_value.as_bytes()).into_owned()),
            accepts,
        };
        if seen.contains(&name) {
            return Err(bad("one value: it is given twice"));
        }
        seen.push(name);
        let Some(value) = value.as_deref() else {
            return Err(bad("percent-encoded UTF-8"));
        };
        match name {
            "delay" => {
                asked.behaviour.delay =
                    Some(duration(value, Duration::ZERO, MAX_DELAY).ok_or_else(|| bad(DELAY))?);
            }
            "close_after" => close_after = Some(after(value).ok_or_else(|| bad(AFTER))?),
            "close_code" => {
                close_code = Some(
                    value
                        .parse::<u16>()
                        .ok()
                        .filter(|code| is_sendable_close_code(*code))
                        .ok_or_else(|| bad(CLOSE_CODE))?,
                );
            }
            "close_reason" => {
                if value.len() > MAX_CLOSE_REASON_BYTES {
                    return Err(bad(CLOSE_REASON));
                }
                close_reason = Some(value.to_owned());
            }
            "reset_after" => {
                asked.behaviour.reset = Some(after(value).ok_or_else(|| bad(AFTER))?);
            }
            "push_every" => {
                push = Some(
                    duration(value, MIN_PUSH_EVERY, MAX_AFTER).ok_or_else(|| bad(PUSH_EVERY))?,
                );
            }
            "push_size" => {
                push_size = Some(
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|size| *size <= MAX_PUSH_BYTES)
                        .ok_or_else(|| bad(PUSH_SIZE))?,
                );
            }
            "push_type" => {
                push_binary = Some(match value {
                    "text" => false,
                    "binary" => true,
                    _ => return Err(bad(PUSH_TYPE)),
                });
            }
            "pongs" if value == "off" => asked.behaviour.no_pongs = true,
            "pongs" => return Err(bad(PONGS)),
            "fragment" => {
                asked.behaviour.fragment = Some(
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|size| (1..=MAX_PUSH_BYTES).contains(size))
                        .ok_or_else(|| bad(FRAGMENT))?,
                );
            }
            "refuse" => {
                asked.refuse = Some(
                    value
                        .parse::<u16>()
                        .ok()
                        .filter(|status| (400..=599).contains(status))
                        .and_then(|status| StatusCode::from_u16(status).ok())
                        .ok_or_else(|| bad(REFUSE))?,
                );
            }
            "subprotocol" if value == "none" => asked.subprotocol = SubprotocolChoice::Refuse,
            "subprotocol" if is_token(value) && value.len() <= MAX_SUBPROTOCOL_BYTES => {
                asked.subprotocol = SubprotocolChoice::Exactly(value.to_owned());
            }
            "subprotocol" => return Err(bad(SUBPROTOCOL)),
            "compression" if value == "off" => asked.compression = false,
            "compression" => return Err(bad(COMPRESSION)),
            "hello" if value == "request" => asked.hello = true,
            "hello" => return Err(bad(HELLO)),
            _ => {}
        }
    }
    if let Some(after) = close_after {
        let reason = CloseReason {
            code: CloseCode::from(close_code.unwrap_or(1000)),
            description: close_reason,
        };
        asked.behaviour.close = Some((after, reason));
    }
    if let Some(every) = push {
        asked.behaviour.push = Some(Push {
            every,
            size: push_size.unwrap_or(32),
            binary: push_binary.unwrap_or(false),
        });
    }
    Ok(asked)
}

/// The parameter's name if it is one of ours.
fn known(name: &str) -> Option<&'static str> {
    ws_fixture::PARAMETERS
        .into_iter()
        .find(|known| *known == name)
}

fn duration(text: &str, min: Duration, max: Duration) -> Option<Duration> {
    let duration = if text == "0" {
        Duration::ZERO
    } else {
        humantime::parse_duration(text).ok()?
    };
    (min..=max).contains(&duration).then_some(duration)
}

/// `N` echoes (digits only) or a duration.
fn after(text: &str) -> Option<After> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(After::Echoes);
    }
    duration(text, Duration::ZERO, MAX_AFTER).map(After::Elapsed)
}

/// A query value as `application/x-www-form-urlencoded` encodes it: `+` a space, `%XX` a byte;
/// `None` if that is not UTF-8 or a `%` is not followed by two hex digits.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains(['%', '+']) {
        return Some(text.to_owned());
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = tail.get(..2)?;
                let hex = std::str::from_utf8(hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
                continue;
            }
            byte => bytes.push(byte),
        }
        rest = tail;
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_asked_is_the_default_and_unknown_parameters_are_ignored() {
        assert_eq!(parse(""), Ok(Asked::default()));
        assert_eq!(parse("cachebuster=123&x&=y&&"), Ok(Asked::default()));
        assert!(parse("")
            .map(|asked| asked.faults().is_empty())
            .unwrap_or(false));
    }

    #[test]
    fn parameters_combine() {
        let asked = parse("delay=100ms&close_after=5&close_code=4000&close_reason=bye+now%21")
            .expect("valid");
        assert_eq!(asked.behaviour.delay, Some(Duration::from_millis(100)));
        assert_eq!(
            asked.behaviour.close,
            Some((
                After::Echoes(5),
                CloseReason {
                    code: CloseCode::from(4000),
                    description: Some("bye now!".into())
                }
            ))
        );
        assert_eq!(asked.faults(), ["delay", "close_after"]);
        let asked = parse(
            "reset_after=2s&push_every=50ms&push_type=binary&pongs=off&fragment=3&refuse=503\
             &subprotocol=chat.v2&compression=off&hello=request",
        )
        .expect("valid");
        assert_eq!(
            asked.behaviour.reset,
            Some(After::Elapsed(Duration::from_secs(2)))
        );
        assert_eq!(
            asked.behaviour.push,
            Some(Push {
                every: Duration::from_millis(50),
                size: 32,
                binary: true
            })
        );
        assert!(asked.behaviour.no_pongs);
        assert_eq!(asked.behaviour.fragment, Some(3));
        assert_eq!(asked.refuse, Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(
            asked.subprotocol,
            SubprotocolChoice::Exactly("chat.v2".into())
        );
        assert!(!asked.compression && asked.hello);
        assert_eq!(
            parse("subprotocol=none").expect("valid").subprotocol,
            SubprotocolChoice::Refuse
        );
        assert_eq!(
            parse("close_after=0")
                .expect("valid")
                .behaviour
                .close
                .map(|c| c.1.code),
            Some(CloseCode::Normal)
        );
    }

    #[test]
    fn each_bad_value_names_its_parameter_and_what_it_takes() {
        for (query, name) in [
            ("delay=61s", "delay"),
            ("delay=soon", "delay"),
            ("close_after=-1", "close_after"),
            ("close_after=25h", "close_after"),
            ("close_code=1005", "close_code"),
            ("close_code=999", "close_code"),
            ("close_reason=%FF", "close_reason"),
            ("reset_after=x", "reset_after"),
            ("push_every=5ms", "push_every"),
            ("push_size=1048577", "push_size"),
            ("push_type=json", "push_type"),
            ("pongs=on", "pongs"),
            ("fragment=0", "fragment"),
            ("refuse=200", "refuse"),
            ("refuse=600", "refuse"),
            ("subprotocol=a%20b", "subprotocol"),
            ("compression=on", "compression"),
            ("hello=yes", "hello"),
            ("delay=1s&delay=2s", "delay"),
        ] {
            let error = parse(query).expect_err(query);
            assert_eq!(error.name, name, "{query}");
            let shown = error.to_string();
            assert!(shown.contains(name) && shown.contains("takes"), "{shown}");
        }
        let long = format!("close_reason={}", "x".repeat(124));
        assert_eq!(parse(&long).expect_err("long").name, "close_reason");
    }

    #[test]
    fn values_are_percent_decoded() {
        assert_eq!(
            percent_decode("a+b%20c%e2%9c%93").as_deref(),
            Some("a b c✓")
        );
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
