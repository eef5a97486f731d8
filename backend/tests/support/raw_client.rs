//! A WebSocket client that writes frames byte by byte, for the frames no library will send:
//! unmasked, reserved bits, reserved opcodes, bad UTF-8, lying lengths.
// Compiled into each test crate that uses it, and each uses only part of it.
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CONTINUATION: u8 = 0x0;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;

/// How long to wait for the server's answer before calling it silence.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RawClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    Fin,
    Reset,
    Silence,
}

/// One frame as the server sent it.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// RSV1: "compressed" under permessage-deflate.
    pub rsv1: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Sends a raw HTTP request and returns the response head (status line and headers).
pub async fn http_request(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match timeout(READ_TIMEOUT, stream.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A plain `GET path` with `Connection: close`; returns the whole response as text.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut response = String::new();
    timeout(READ_TIMEOUT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read response");
    response
}

pub fn upgrade_request(addr: SocketAddr, extra_headers: &str) -> String {
    upgrade_request_to(addr, "/echo", extra_headers)
}

/// The upgrade request for `target` (a path with its query).
pub fn upgrade_request_to(addr: SocketAddr, target: &str, extra_headers: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    )
}

impl RawClient {
    /// Connects and completes the opening handshake.
    pub async fn connect(addr: SocketAddr) -> RawClient {
        Self::connect_with(addr, "").await.0
    }

    /// Connects with `extra_headers` (each ending in CRLF) in the handshake; the client and the
    /// response head.
    pub async fn connect_with(addr: SocketAddr, extra_headers: &str) -> (RawClient, String) {
        Self::connect_to(addr, "/echo", extra_headers).await
    }

    /// Connects to `target` (a path with its query) with `extra_headers`.
    pub async fn connect_to(
        addr: SocketAddr,
        target: &str,
        extra_headers: &str,
    ) -> (RawClient, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(upgrade_request_to(addr, target, extra_headers).as_bytes())
            .await
            .expect("write handshake");
        let mut client = RawClient {
            stream,
            buffer: Vec::new(),
        };
        let head = client.read_until_blank_line().await;
        assert!(head.starts_with("HTTP/1.1 101"), "upgrade refused: {head}");
        (client, head)
    }

    async fn read_until_blank_line(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buffer.drain(..end + 4).collect();
                return String::from_utf8_lossy(&head).into_owned();
            }
            self.fill().await.expect("response head");
        }
    }

    /// Reads more bytes; None when the server closed the connection or said nothing in time.
    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 4096];
        match timeout(READ_TIMEOUT, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => None,
            Ok(Ok(n)) => {
                self.buffer.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    /// Writes raw bytes as they are.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Writes raw bytes; false once the server has closed the connection.
    pub async fn try_write(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok()
    }

    /// Writes one frame, masked as a client must unless `masked` is false.
    pub async fn send(&mut self, fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) {
        self.write(&encode(fin, rsv, opcode, payload, masked)).await;
    }

    /// The next frame from the server, or None when it closed the connection or went silent.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = decode(&self.buffer) {
                self.buffer.drain(..used);
                return Some(frame);
            }
            self.fill().await?;
        }
    }

    /// Reads frames until a close frame; returns its code (None if it had no code).
    pub async fn read_close(&mut self) -> Option<u16> {
        loop {
            let frame = self
                .read_frame()
                .await
                .expect("a close frame before the connection ended");
            if frame.opcode == CLOSE {
                return frame.close_code();
            }
        }
    }

    /// How the server ends the TCP connection, reading (and dropping) what comes before: with
    /// a FIN, a reset, or not within the read timeout.
    pub async fn ending(&mut self) -> StreamEnd {
        let mut chunk = [0u8; 4096];
        loop {
            match timeout(READ_TIMEOUT, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) => return StreamEnd::Fin,
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                    return StreamEnd::Reset
                }
                Ok(Err(error)) => panic!("read failed: {error}"),
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(_) => return StreamEnd::Silence,
            }
        }
    }

    /// Bytes read and not yet taken as frames.
    pub fn unread(&self) -> &[u8] {
        &self.buffer
    }

    /// True when the server ends the TCP connection (read returns 0) within the read timeout.
    pub async fn sees_end_of_stream(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match timeout(READ_TIMEOUT, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// One frame, with `rsv` the three reserved bits (RSV1 = 4), masked with a fixed key if `masked`.
pub fn encode(fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let first = (u8::from(fin) << 7) | (rsv << 4) | opcode;
    let mask = masked.then_some([0x37, 0xfa, 0x21, 0x3d]);
    let mut frame = Vec::with_capacity(payload.len() + ws_wire::MAX_HEADER_BYTES);
    ws_wire::write_frame(&mut frame, first, mask, payload);
    frame
}

/// Decodes one server frame from the front of `bytes` (a mask, which a server must not send,
/// is skipped rather than misparsed), with how many bytes it used.
fn decode(bytes: &[u8]) -> Option<(Frame, usize)> {
    let header = ws_wire::Header::parse(bytes)?;
    let end = header.frame_end(0)?;
    let payload = bytes.get(header.header_len..end)?.to_vec();
    Some((
        Frame {
            fin: header.fin(),
            rsv1: header.rsv1(),
            opcode: header.opcode().bits(),
            payload,
        },
        end,
    ))
}
