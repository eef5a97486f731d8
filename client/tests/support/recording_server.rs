//! A one-connection WebSocket server that echoes and records what the client did: its
//! handshake headers, its messages, its close frame. It can also close with a code of its own.
#![allow(dead_code)]

use std::{net::SocketAddr, sync::mpsc, thread, time::Duration};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{
    handshake::server::{Request, Response},
    protocol::{frame::coding::CloseCode, CloseFrame},
    Message,
};

#[derive(Debug, Default, Clone)]
pub struct Recording {
    /// Handshake headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub messages: Vec<Message>,
    /// The client's close frame: code and reason.
    pub close: Option<(u16, String)>,
}

impl Recording {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Behaviour {
    /// After echoing this many messages, close with this code.
    pub close_after: Option<(usize, u16)>,
    /// Agree to the first subprotocol offered, as a server that speaks it would; when false,
    /// answer without one, as a server that speaks none of them does.
    pub agree_subprotocol: bool,
}

/// Starts the server; the recording arrives on the channel when the connection ends.
pub fn start(behaviour: Behaviour) -> (SocketAddr, mpsc::Receiver<Recording>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let (stream, _) = listener.accept().await.expect("accept");
            let mut recording = Recording::default();
            let mut headers = Vec::new();
            // tungstenite fixes this callback's signature, large error type included.
            #[allow(clippy::result_large_err)]
            let callback = |request: &Request, mut response: Response| {
                headers = request
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect();
                let offered = request
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .filter(|_| behaviour.agree_subprotocol);
                if let Some(first) = offered.and_then(|list| list.split(',').next()) {
                    if let Ok(value) = first.trim().parse() {
                        response
                            .headers_mut()
                            .insert("sec-websocket-protocol", value);
                    }
                }
                Ok(response)
            };
            let mut socket = tokio_tungstenite::accept_hdr_async(stream, callback)
                .await
                .expect("handshake");
            recording.headers = headers;
            let mut echoed = 0;
            while let Ok(Some(Ok(message))) =
                tokio::time::timeout(Duration::from_secs(20), socket.next()).await
            {
                match message {
                    Message::Close(frame) => {
                        recording.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                        while socket.next().await.is_some() {}
                        break;
                    }
                    Message::Text(_) | Message::Binary(_) => {
                        recording.messages.push(message.clone());
                        let _ = socket.send(message).await;
                        echoed += 1;
                        if let Some((after, code)) = behaviour.close_after {
                            if echoed == after {
                                let frame = CloseFrame {
                                    code: CloseCode::from(code),
                                    reason: "server says bye".into(),
                                };
                                let _ = socket.send(Message::Close(Some(frame))).await;
                            }
                        }
                    }
                    _ => {}
                }
            }
            let _ = tx.send(recording);
        });
    });
    (addr, rx)
}

pub fn echoing() -> Behaviour {
    Behaviour {
        close_after: None,
        agree_subprotocol: true,
    }
}
