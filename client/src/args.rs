//! Command-line flags: where to connect.

use clap::Parser;
use url::Url;

/// WebSocket echo client: sends the current time every second and prints what comes back.
#[derive(Debug, Parser)]
#[command(
    name = "client",
    version,
    after_help = "Examples:\n  \
        client                                  connect to ws://localhost:8080/echo\n  \
        client --addr 127.0.0.1:9000            another host and port, path /echo\n  \
        client --url ws://example.org/ws        any WebSocket URL\n\n\
        Press Ctrl-C to close the connection cleanly and exit.\n\n\
        Exit status: 0 closed by Ctrl-C, 1 could not connect, 2 bad arguments,\n\
        3 the connection was closed by the server or lost."
)]
pub struct Args {
    /// Server address, HOST:PORT; the client connects to ws://HOST:PORT/echo.
    #[arg(
        long,
        default_value = "localhost:8080",
        value_name = "HOST:PORT",
        conflicts_with = "url"
    )]
    pub addr: String,

    /// Full WebSocket URL (ws://…), instead of --addr.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

impl Args {
    /// The URL to connect to, checked: a ws:// URL with a host.
    pub fn url(&self) -> Result<Url, String> {
        let text = match &self.url {
            Some(url) => url.clone(),
            None => format!("ws://{}/echo", self.addr),
        };
        let url =
            Url::parse(&text).map_err(|error| format!("`{text}` is not a valid URL: {error}"))?;
        match url.scheme() {
            "ws" => {}
            "wss" => return Err(format!("`{text}`: wss:// (TLS) is not supported yet; use ws://")),
            other => {
                return Err(format!(
                    "`{text}`: the scheme must be ws://, not {other}:// (try --url ws://HOST:PORT/PATH)"
                ))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("`{text}` has no host"));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(args: &[&str]) -> Result<String, String> {
        let args = Args::try_parse_from(std::iter::once("client").chain(args.iter().copied()))
            .map_err(|error| error.to_string())?;
        args.url().map(String::from)
    }

    #[test]
    fn defaults_to_the_local_backend() {
        assert_eq!(url_of(&[]).as_deref(), Ok("ws://localhost:8080/echo"));
    }

    #[test]
    fn addr_sets_host_and_port() {
        assert_eq!(
            url_of(&["--addr", "127.0.0.1:9000"]).as_deref(),
            Ok("ws://127.0.0.1:9000/echo")
        );
    }

    #[test]
    fn url_is_taken_whole() {
        assert_eq!(
            url_of(&["--url", "ws://example.org/ws?x=1"]).as_deref(),
            Ok("ws://example.org/ws?x=1")
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        assert!(url_of(&["--url", "http://example.org/"])
            .unwrap_err()
            .contains("scheme must be ws://"));
        assert!(url_of(&["--url", "no scheme"])
            .unwrap_err()
            .contains("not a valid URL"));
        assert!(url_of(&["--addr", "a b:1"])
            .unwrap_err()
            .contains("not a valid URL"));
        assert!(
            url_of(&["--addr", "x:1", "--url", "ws://y/"]).is_err(),
            "--addr and --url conflict"
        );
    }
}
