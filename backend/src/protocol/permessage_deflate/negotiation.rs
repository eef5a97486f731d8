//! The `Sec-WebSocket-Extensions` handshake of permessage-deflate (RFC 7692 §5, §7.1): the
//! client's offers in, the first acceptable one answered with what this server will do.
//!
//! An offer with an unknown parameter, a parameter given twice, or a value the RFC does not
//! allow is declined (the next offer is tried; none left means no compression), never an error:
//! the connection then works uncompressed, as with a server that does not know the extension.

use ws_deflate::{parse_window_bits, EXTENSION, MAX_WINDOW_BITS};

use super::DeflatePolicy;

/// One permessage-deflate offer, as the client wrote it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// `server_max_window_bits=N`: the client asks us to use at most 2^N.
    server_max_window_bits: Option<u8>,
    /// `client_max_window_bits[=N]`: the client can be asked to use a smaller window (at most
    /// 2^N). `Some(15)` when it came without a value.
    client_max_window_bits: Option<u8>,
}

/// What both sides agreed; each side compresses with its own window and context rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// We reset our compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message, so we may drop our inflater.
    pub client_no_context_takeover: bool,
    /// The window our compressor may use, 2^N bytes.
    pub server_window_bits: u8,
    /// The window the client's compressor uses (15 unless we asked for less).
    pub client_window_bits: u8,
    /// Whether `client_max_window_bits` goes in the response (only if the client offered it).
    announce_client_window: bool,
    /// Whether `server_max_window_bits` goes in the response.
    announce_server_window: bool,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value of the handshake response.
    pub fn response_header(&self) -> String {
        let mut header = EXTENSION.to_owned();
        if self.server_no_context_takeover {
            header.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            header.push_str("; client_no_context_takeover");
        }
        if self.announce_server_window {
            header.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_window_bits
            ));
        }
        if self.announce_client_window {
            header.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_window_bits
            ));
        }
        header
    }
}

/// The agreement for the first acceptable permessage-deflate offer in `headers` (every
/// `Sec-WebSocket-Extensions` value of the request, in order), or `None` to go uncompressed.
pub fn negotiate<'h>(
    headers: impl IntoIterator<Item = &'h str>,
    policy: &DeflatePolicy,
) -> Option<Agreed> {
    if !policy.enabled {
        return None;
    }
    headers
        .into_iter()
        .flat_map(split_outside_quotes(','))
        .filter_map(parse_offer)
        .next()
        .map(|offer| agree(&offer, policy))
}

fn agree(offer: &Offer, policy: &DeflatePolicy) -> Agreed {
    let server_window_bits = offer
        .server_max_window_bits
        .unwrap_or(MAX_WINDOW_BITS)
        .min(policy.max_window_bits);
    let client_window_bits = match offer.client_max_window_bits {
        Some(offered) => offered.min(policy.max_window_bits),
        // Not offered: the client may use the whole window, and we must not ask for less.
        None => MAX_WINDOW_BITS,
    };
    Agreed {
        server_no_context_takeover: offer.server_no_context_takeover || !policy.context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover || !policy.context_takeover,
        server_window_bits,
        client_window_bits,
        announce_server_window: offer.server_max_window_bits.is_some()
            || server_window_bits < MAX_WINDOW_BITS,
        announce_client_window: offer.client_max_window_bits.is_some()
            && client_window_bits < MAX_WINDOW_BITS,
    }
}

/// One extension of the list, if it is a well-formed permessage-deflate offer.
fn parse_offer(extension: &str) -> Option<Offer> {
    let mut parts = split_outside_quotes(';')(extension);
    if !parts.next()?.trim().eq_ignore_ascii_case(EXTENSION) {
        return None;
    }
    let mut offer = Offer::default();
    let mut seen = Vec::new();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(unquote(value.trim())?)),
            None => (part.trim(), None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover", None) => offer.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => offer.client_no_context_takeover = true,
            ("server_max_window_bits", Some(bits)) => {
                offer.server_max_window_bits = Some(parse_window_bits(bits)?)
            }
            ("client_max_window_bits", None) => {
                offer.client_max_window_bits = Some(MAX_WINDOW_BITS)
            }
            ("client_max_window_bits", Some(bits)) => {
                offer.client_max_window_bits = Some(parse_window_bits(bits)?)
            }
            _ => return None,
        }
        seen.push(name);
    }
    Some(offer)
}

/// A parameter value, without the quotes of a quoted-string (RFC 7230 §3.2.6).
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').filter(|inner| !inner.contains('"')),
        None => Some(value),
    }
}

/// Splits on `separator` where it is not inside a quoted string.
fn split_outside_quotes(separator: char) -> impl Fn(&str) -> std::vec::IntoIter<&str> {
    move |text| {
        let mut parts = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (at, c) in text.char_indices() {
            if c == '"' {
                quoted = !quoted;
            } else if c == separator && !quoted {
                parts.push(&text[start..at]);
                start = at + 1;
            }
        }
        parts.push(&text[start..]);
        parts.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DeflatePolicy {
        DeflatePolicy::default()
    }

    fn answer(offer: &str, policy: &DeflatePolicy) -> Option<String> {
        negotiate([offer], policy).map(|agreed| agreed.response_header())
    }

    #[test]
    fn a_browser_offer_is_accepted_without_context_takeover_by_default() {
        // What Chromium and Firefox send.
        let agreed =
            negotiate(["permessage-deflate; client_max_window_bits"], &policy()).expect("accepted");
        assert!(agreed.server_no_context_takeover && agreed.client_no_context_takeover);
        assert_eq!(
            (agreed.server_window_bits, agreed.client_window_bits),
            (15, 15)
        );
        assert_eq!(
            agreed.response_header(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn each_parameter_is_answered() {
        let takeover = DeflatePolicy {
            context_takeover: true,
            ..policy()
        };
        assert_eq!(
            answer("permessage-deflate", &takeover).as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            answer("permessage-deflate; server_no_context_takeover", &takeover).as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        assert_eq!(
            answer("permessage-deflate; client_no_context_takeover", &takeover).as_deref(),
            Some("permessage-deflate; client_no_context_takeover")
        );
        assert_eq!(
            answer("permessage-deflate; server_max_window_bits=10", &takeover).as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        // The client's window is only limited if it offered to be limited.
        assert_eq!(
            answer("permessage-deflate; client_max_window_bits=9", &takeover).as_deref(),
            Some("permessage-deflate; client_max_window_bits=9")
        );
        assert_eq!(
            answer("permessage-deflate; client_max_window_bits", &takeover).as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn the_server_window_flag_limits_both_windows_where_it_may() {
        let small = DeflatePolicy {
            max_window_bits: 10,
            context_takeover: true,
            ..policy()
        };
        assert_eq!(
            answer("permessage-deflate; client_max_window_bits", &small).as_deref(),
            Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=10")
        );
        // Without client_max_window_bits in the offer, the client keeps its 32 KiB window.
        let agreed = negotiate(["permessage-deflate"], &small).expect("accepted");
        assert_eq!(agreed.client_window_bits, 15);
        assert_eq!(
            agreed.response_header(),
            "permessage-deflate; server_max_window_bits=10"
        );
        // A smaller request from the client wins over the flag.
        let agreed =
            negotiate(["permessage-deflate; server_max_window_bits=8"], &small).expect("ok");
        assert_eq!(agreed.server_window_bits, 8);
    }

    #[test]
    fn malformed_offers_are_declined_and_the_next_one_is_tried() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=+9",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
            "permessage-deflate; client_max_window_bits=\"9",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(answer(bad, &policy()), None, "{bad}");
        }
        let agreed = negotiate(
            [
                "permessage-deflate; server_max_window_bits=99, permessage-deflate; \
                 client_max_window_bits=\"12\"",
            ],
            &DeflatePolicy {
                context_takeover: true,
                ..policy()
            },
        )
        .expect("the second offer");
        assert_eq!(agreed.client_window_bits, 12);
    }

    #[test]
    fn offers_span_header_lines_and_other_extensions() {
        let agreed = negotiate(
            [
                "foo; bar=\"a,b\"",
                " PerMessage-Deflate ; Server_Max_Window_Bits=9",
            ],
            &policy(),
        )
        .expect("found on the second line");
        assert_eq!(agreed.server_window_bits, 9);
    }

    #[test]
    fn switched_off_nothing_is_agreed() {
        let off = DeflatePolicy {
            enabled: false,
            ..policy()
        };
        assert_eq!(answer("permessage-deflate", &off), None);
    }
}
