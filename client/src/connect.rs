//! Opens the WebSocket: TCP, TLS for wss:// (system roots, --ca, --insecure: `ws_dial::tls`), the
//! permessage-deflate layer (`--compress`), the handshake request (subprotocols, headers,
//! origin, extensions) and the connect timeout over all of it.

use std::{sync::Arc, time::Duration};

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::{
    client_async_with_config,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig},
    MaybeTlsStream, WebSocketStream,
};
use url::Url;

use crate::{
    args::Args,
    compression::{Offer, SharedReport},
    deflate_stream::DeflateStream,
    error::{ConnectError, Failure, UsageError},
    head::Head,
    limits::{MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, MAX_WRITE_BUFFER_BYTES},
};

pub type Socket = WebSocketStream<DeflateStream<MaybeTlsStream<TcpStream>>>;

/// The client's limits ([`crate::limits`]), for tungstenite.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
}

/// An open connection: the socket, the agreed subprotocol, and what compression reports.
pub struct Connected {
    pub socket: Socket,
    pub protocol: Option<String>,
    pub compression: SharedReport,
    /// The 101 as it came, for `-v`.
    pub response_head: Head,
}

/// Everything needed to (re)connect, prepared once from the flags.
pub struct Dialer {
    url: Url,
    args_headers: Vec<(String, HeaderValue)>,
    tls: Option<Arc<ClientConfig>>,
    offer: Option<Offer>,
    timeout: Duration,
}

impl Dialer {
    pub fn new(args: &Args, url: Url) -> Result<Dialer, UsageError> {
        let mut headers: Vec<(String, HeaderValue)> = args
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();
        if !args.subprotocols.is_empty() {
            let list = HeaderValue::from_str(&args.subprotocols.join(", "))
                .map_err(|_| UsageError::Subprotocols)?;
            headers.push(("sec-websocket-protocol".into(), list));
        }
        if let Some(origin) = &args.origin {
            let origin =
                HeaderValue::from_str(origin).map_err(|_| UsageError::Origin(origin.clone()))?;
            headers.push(("origin".into(), origin));
        }
        let offer = args.compress.as_deref().map(Offer::parse).transpose()?;
        if let Some(offer) = &offer {
            let value =
                HeaderValue::from_str(&offer.header).map_err(|_| UsageError::CompressText)?;
            headers.push(("sec-websocket-extensions".into(), value));
        }
        let tls = (url.scheme() == "wss")
            .then(|| tls_config(args))
            .transpose()?
            .map(Arc::new);
        Ok(Dialer {
            url,
            args_headers: headers,
            tls,
            offer,
            timeout: args.connect_timeout,
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Connects and completes the handshake; `sending` sees the request head just before it goes.
    pub async fn connect(&self, sending: impl FnOnce(&Head)) -> Result<Connected, ConnectError> {
        let failed = |why| ConnectError::Failed {
            url: self.url.clone(),
            why,
        };
        let mut request =
            self.url.as_str().into_client_request().map_err(|error| {
                failed(Failure::Request(format!("cannot make a request: {error}")))
            })?;
        for (name, value) in &self.args_headers {
            let name: tokio_tungstenite::tungstenite::http::HeaderName = name
                .parse()
                .map_err(|_| failed(Failure::Request(format!("bad header name {name}"))))?;
            request.headers_mut().append(name, value.clone());
        }
        sending(&Head::of_request(&request));
        let compression = SharedReport::default();
        let attempt = async {
            let stream = self.open_stream().await.map_err(failed)?;
            let layered = DeflateStream::new(stream, self.offer.clone(), compression.clone());
            client_async_with_config(request, layered, Some(websocket_config()))
                .await
                .map_err(|error| ConnectError::from_handshake(&self.url, error))
        };
        let (socket, response) =
            tokio::time::timeout(self.timeout, attempt)
                .await
                .map_err(|_| ConnectError::Timeout {
                    url: self.url.clone(),
                    after: self.timeout,
                })??;
        let protocol = response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Connected {
            socket,
            protocol,
            compression,
            response_head: Head::of_response(&response),
        })
    }

    /// TCP to the URL's host, and TLS over it for wss://.
    async fn open_stream(&self) -> Result<MaybeTlsStream<TcpStream>, Failure> {
        let host = self
            .url
            .host_str()
            .ok_or_else(|| Failure::Request("the URL has no host".into()))?;
        let port = self
            .url
            .port_or_known_default()
            .ok_or_else(|| Failure::Request("the URL has no port".into()))?;
        let tcp = TcpStream::connect(format!("{host}:{port}"))
            .await
            .map_err(Failure::Io)?;
        // A tester's round trips should not wait on Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(MaybeTlsStream::Plain(tcp));
        };
        let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|error| {
                Failure::Request(format!("{host} is not a name TLS can check: {error}"))
            })?
            .to_owned();
        TlsConnector::from(Arc::clone(tls))
            .connect(name, tcp)
            .await
            .map(MaybeTlsStream::Rustls)
            .map_err(|error| Failure::Tls(error.to_string()))
    }
}

fn tls_config(args: &Args) -> Result<ClientConfig, UsageError> {
    ws_dial::tls::client_config(args.insecure, args.ca.as_deref()).map_err(UsageError::Tls)
}
