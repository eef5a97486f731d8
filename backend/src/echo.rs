//! The echo loop: every message that comes in goes back out with the same type.
//!
//! It runs over any stream of incoming messages and any sink of outgoing ones, so tests drive
//! it with plain in-memory streams and [`crate::echo_route`] with an actix-ws session.

use actix_web::error::PayloadError;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Message, ProtocolError};
use futures_util::{Sink, SinkExt, Stream, StreamExt};

/// Longest text shown in a `recv:` log line; longer messages are cut and their size noted,
/// so a 16 MiB message costs one short log line, not 16 MiB of log.
pub const MAX_LOGGED_CHARS: usize = 200;

/// How an echo session ended, when it ended without the peer vanishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The peer sent a close frame; the reply carries this close reason.
    Closed(Option<CloseReason>),
    /// The peer broke the protocol; we closed with this reason.
    ProtocolError(CloseReason),
    /// The incoming stream ended without a close frame (the TCP connection went away).
    StreamEnded,
}

/// Echoes `incoming` into `outgoing` until the peer closes, breaks the protocol or goes away.
///
/// Text and binary messages come back unchanged, pings get their pong, a close frame is
/// answered with the peer's own close code (RFC 6455 §5.5.1). An error from `outgoing` means
/// the peer is gone, and is returned as is for the caller to drop quietly.
pub async fn echo<In, Out>(mut incoming: In, mut outgoing: Out) -> Result<Ending, Out::Error>
where
    In: Stream<Item = Result<AggregatedMessage, ProtocolError>> + Unpin,
    Out: Sink<Message> + Unpin,
{
    while let Some(item) = incoming.next().await {
        let reply = match item {
            Ok(AggregatedMessage::Text(text)) => {
                tracing::info!("recv: {}", loggable_text(&text));
                Message::Text(text)
            }
            Ok(AggregatedMessage::Binary(bytes)) => {
                tracing::info!("recv: <binary, {} bytes>", bytes.len());
                Message::Binary(bytes)
            }
            Ok(AggregatedMessage::Ping(bytes)) => Message::Pong(bytes),
            Ok(AggregatedMessage::Pong(_)) => continue,
            Ok(AggregatedMessage::Close(reason)) => {
                let reply = close_reply(reason);
                outgoing.send(Message::Close(reply.clone())).await?;
                return Ok(Ending::Closed(reply));
            }
            Err(error) => {
                let reason = close_reason_for(&error);
                tracing::debug!("protocol error, closing with {:?}: {error}", reason.code);
                outgoing.send(Message::Close(Some(reason.clone()))).await?;
                return Ok(Ending::ProtocolError(reason));
            }
        };
        outgoing.send(reply).await?;
    }
    Ok(Ending::StreamEnded)
}

/// The close frame that answers the peer's: its code echoed back, or 1002 when the peer's code
/// is one that must never be sent (RFC 6455 §7.4).
fn close_reply(reason: Option<CloseReason>) -> Option<CloseReason> {
    match reason {
        Some(reason) if !is_sendable_close_code(u16::from(reason.code)) => Some(CloseReason {
            code: CloseCode::Protocol,
            description: Some("invalid close code".into()),
        }),
        Some(reason) => Some(CloseReason {
            code: reason.code,
            description: None,
        }),
        None => None,
    }
}

/// Close codes a peer may put on the wire: the defined 1000–1003, 1007–1014, and the ranges for
/// libraries (3000–3999) and applications (4000–4999). 1004–1006 and 1015 are reserved.
pub fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The close frame for a broken protocol. actix reports bad UTF-8, reserved bits and an
/// oversized fragmented message all as `Io(InvalidData)`, told apart only by their text; the
/// frame guard's `PayloadError::Overflow` arrives wrapped in `Io` too.
fn close_reason_for(error: &ProtocolError) -> CloseReason {
    let (code, text) = match error {
        ProtocolError::Overflow => (CloseCode::Size, "frame too big"),
        ProtocolError::Io(io)
            if matches!(
                io.get_ref().and_then(|e| e.downcast_ref::<PayloadError>()),
                Some(PayloadError::Overflow)
            ) =>
        {
            (CloseCode::Size, "frame too big")
        }
        ProtocolError::Io(io) => {
            let detail = io.to_string();
            if detail.contains("maximum continuation size") {
                (CloseCode::Size, "message too big")
            } else if detail.contains("utf-8") {
                (CloseCode::Invalid, "invalid UTF-8 in a text message")
            } else {
                (CloseCode::Protocol, "protocol error")
            }
        }
        _ => (CloseCode::Protocol, "protocol error"),
    };
    CloseReason {
        code,
        description: Some(text.into()),
    }
}

/// The text as it goes into a `recv:` line: cut at [`MAX_LOGGED_CHARS`] characters.
pub fn loggable_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_LOGGED_CHARS) {
        None => text.into(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()).into(),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use actix_web::web::Bytes;
    use futures_util::stream;

    use super::*;

    /// Runs the loop over `incoming` and returns everything it sent, and how it ended.
    async fn run(
        incoming: Vec<Result<AggregatedMessage, ProtocolError>>,
    ) -> (Vec<Message>, Ending) {
        let mut sent: Vec<Message> = Vec::new();
        let ending: Result<Ending, Infallible> = echo(stream::iter(incoming), &mut sent).await;
        (sent, ending.unwrap_or_else(|never| match never {}))
    }

    #[actix_rt::test]
    async fn echoes_text_and_binary_with_their_type() {
        let (sent, ending) = run(vec![
            Ok(AggregatedMessage::Text("héllo".into())),
            Ok(AggregatedMessage::Binary(Bytes::from_static(&[0, 1, 255]))),
            Ok(AggregatedMessage::Text("".into())),
        ])
        .await;
        assert_eq!(
            sent,
            vec![
                Message::Text("héllo".into()),
                Message::Binary(Bytes::from_static(&[0, 1, 255])),
                Message::Text("".into()),
            ]
        );
        assert_eq!(ending, Ending::StreamEnded);
    }

    #[actix_rt::test]
    async fn answers_ping_with_pong_and_ignores_pong() {
        let (sent, _) = run(vec![
            Ok(AggregatedMessage::Ping(Bytes::from_static(
                b"are you there",
            ))),
            Ok(AggregatedMessage::Pong(Bytes::from_static(b"unsolicited"))),
        ])
        .await;
        assert_eq!(
            sent,
            vec![Message::Pong(Bytes::from_static(b"are you there"))]
        );
    }

    #[actix_rt::test]
    async fn echoes_the_close_code_and_stops_reading() {
        let (sent, ending) = run(vec![
            Ok(AggregatedMessage::Close(Some(CloseReason {
                code: CloseCode::Other(4000),
                description: Some("bye".into()),
            }))),
            Ok(AggregatedMessage::Text("after close".into())),
        ])
        .await;
        let reply = Some(CloseReason {
            code: CloseCode::Other(4000),
            description: None,
        });
        assert_eq!(sent, vec![Message::Close(reply.clone())]);
        assert_eq!(ending, Ending::Closed(reply));
    }

    #[actix_rt::test]
    async fn answers_a_reserved_close_code_with_1002() {
        let (sent, _) = run(vec![Ok(AggregatedMessage::Close(Some(CloseReason {
            code: CloseCode::Other(1005),
            description: None,
        })))])
        .await;
        let [Message::Close(Some(reason))] = sent.as_slice() else {
            panic!("expected one close frame, got {sent:?}");
        };
        assert_eq!(reason.code, CloseCode::Protocol);
    }

    #[actix_rt::test]
    async fn closes_with_1009_on_overflow() {
        let (sent, ending) = run(vec![Err(ProtocolError::Overflow)]).await;
        assert!(matches!(
            sent.as_slice(),
            [Message::Close(Some(CloseReason {
                code: CloseCode::Size,
                ..
            }))]
        ));
        assert!(matches!(ending, Ending::ProtocolError(_)));
    }

    #[test]
    fn close_codes_that_may_be_sent() {
        for ok in [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(is_sendable_close_code(ok), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!is_sendable_close_code(bad), "{bad}");
        }
    }

    #[test]
    fn long_text_is_cut_in_the_log_on_a_char_boundary() {
        let long = "é".repeat(MAX_LOGGED_CHARS + 5);
        let logged = loggable_text(&long);
        assert!(logged.starts_with(&"é".repeat(MAX_LOGGED_CHARS)));
        assert!(logged.ends_with(&format!("… ({} bytes in all)", long.len())));
        assert_eq!(loggable_text("short"), "short");
    }
}
