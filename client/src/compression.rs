//! `--compress`: the permessage-deflate offer the client makes, the server's answer read from the
//! handshake response, and what the session reports per message (wire size next to payload size).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use ws_deflate::{parse_window_bits, EXTENSION};

use crate::error::UsageError;

/// The parameters `--compress` offers without a value: what browsers offer.
pub const DEFAULT_OFFER_PARAMS: &str = "client_max_window_bits";

/// A permessage-deflate offer, checked as RFC 7692 §7.1 allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The `Sec-WebSocket-Extensions` value sent.
    pub header: String,
    /// Whether `client_max_window_bits` was offered (the server may then limit our window).
    client_window_offered: bool,
}

impl Offer {
    /// From `--compress PARAMS` ("" for none): `; `-separated parameters of the offer.
    pub fn parse(params: &str) -> Result<Offer, UsageError> {
        let mut header = EXTENSION.to_owned();
        let mut seen: Vec<String> = Vec::new();
        for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
                None => (param, None),
            };
            let name = name.to_ascii_lowercase();
            let valid = match (name.as_str(), value) {
                ("server_no_context_takeover" | "client_no_context_takeover", None) => true,
                ("client_max_window_bits", None) => true,
                ("server_max_window_bits" | "client_max_window_bits", Some(bits)) => {
                    parse_window_bits(bits).is_some()
                }
                _ => false,
            };
            if !valid {
                return Err(UsageError::CompressParameter(param.to_owned()));
            }
            if seen.contains(&name) {
                return Err(UsageError::CompressTwice(name));
            }
            header.push_str("; ");
            header.push_str(param);
            seen.push(name);
        }
        Ok(Offer {
            header,
            client_window_offered: seen.iter().any(|n| n == "client_max_window_bits"),
        })
    }
}

/// What the server agreed to; each side compresses with its own window and context rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The server's `Sec-WebSocket-Extensions` answer, as it sent it.
    pub header: String,
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_window_bits: u8,
    pub client_window_bits: u8,
}

/// Reads the server's answer to `offer` from the handshake response `head`: `Ok(None)` if it
/// declined, an error if it answered with something the offer did not allow.
pub fn read_answer(head: &str, offer: &Offer) -> Result<Option<Agreement>, String> {
    let answers: Vec<&str> = head
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-extensions")
                .then_some(value.trim())
        })
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect();
    let mut deflate = answers.iter().filter(|answer| {
        answer
            .split(';')
            .next()
            .is_some_and(|name| name.trim().eq_ignore_ascii_case(EXTENSION))
    });
    let Some(answer) = deflate.next() else {
        return Ok(None);
    };
    let wrong = |why: String| format!("the server's permessage-deflate answer `{answer}` {why}");
    if deflate.next().is_some() {
        return Err(wrong("comes twice".into()));
    }
    let mut agreement = Agreement {
        header: (*answer).to_owned(),
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_window_bits: 15,
        client_window_bits: 15,
    };
    for param in answer.split(';').skip(1).map(str::trim) {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("server_no_context_takeover", None) => agreement.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => agreement.client_no_context_takeover = true,
            ("server_max_window_bits", Some(bits)) => {
                agreement.server_window_bits = parse_window_bits(bits)
                    .ok_or_else(|| wrong(format!("has a bad window size `{bits}`")))?
            }
            ("client_max_window_bits", Some(bits)) if offer.client_window_offered => {
                agreement.client_window_bits = parse_window_bits(bits)
                    .ok_or_else(|| wrong(format!("has a bad window size `{bits}`")))?
            }
            ("client_max_window_bits", _) => {
                return Err(wrong(
                    "limits our window, which we did not offer (RFC 7692 §7.1.2.2)".into(),
                ))
            }
            _ => return Err(wrong(format!("has an unknown parameter `{param}`"))),
        }
    }
    Ok(Some(agreement))
}

/// What the compression layer tells the session: the agreement, and the wire size of each data
/// message, in order, each way.
#[derive(Debug, Default)]
pub struct Report {
    pub agreement: Option<Agreement>,
    pub received: VecDeque<usize>,
    pub sent: VecDeque<usize>,
}

/// The report, shared by the compression layer (under tungstenite) and the session.
#[derive(Debug, Clone, Default)]
pub struct SharedReport(Arc<Mutex<Report>>);

impl SharedReport {
    pub fn with<R>(&self, f: impl FnOnce(&mut Report) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(extensions: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Extensions: {extensions}\r\n\r\n"
        )
    }

    #[test]
    fn offers_are_checked_and_written_as_given() {
        assert_eq!(
            Offer::parse(DEFAULT_OFFER_PARAMS).expect("valid").header,
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(
            Offer::parse("server_max_window_bits=10; client_no_context_takeover")
                .expect("valid")
                .header,
            "permessage-deflate; server_max_window_bits=10; client_no_context_takeover"
        );
        assert_eq!(
            Offer::parse("").expect("valid").header,
            "permessage-deflate"
        );
        for bad in [
            "server_max_window_bits=16",
            "server_max_window_bits",
            "fast",
            "client_no_context_takeover; client_no_context_takeover",
        ] {
            let error = Offer::parse(bad).expect_err(bad).to_string();
            assert!(error.starts_with("--compress"), "{error}");
        }
    }

    #[test]
    fn answers_are_read_and_held_to_the_offer() {
        let offer = Offer::parse(DEFAULT_OFFER_PARAMS).expect("valid");
        let agreed = read_answer(
            &head("permessage-deflate; server_no_context_takeover; client_max_window_bits=10"),
            &offer,
        )
        .expect("valid")
        .expect("agreed");
        assert!(agreed.server_no_context_takeover && !agreed.client_no_context_takeover);
        assert_eq!(
            (agreed.server_window_bits, agreed.client_window_bits),
            (15, 10)
        );

        assert_eq!(read_answer("HTTP/1.1 101 OK\r\n\r\n", &offer), Ok(None));

        let plain = Offer::parse("").expect("valid");
        let error = read_answer(
            &head("permessage-deflate; client_max_window_bits=9"),
            &plain,
        )
        .expect_err("not offered");
        assert!(error.contains("did not offer"), "{error}");
        let error = read_answer(&head("permessage-deflate; turbo"), &offer).expect_err("unknown");
        assert!(error.contains("unknown parameter `turbo`"), "{error}");
    }
}
