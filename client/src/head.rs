//! A handshake's request or response head as `-v` prints it: the first line, then every header
//! in the order tungstenite keeps them. What a server sent is made visible where it is printed
//! (output.rs), not here.

/// A request or response head as `-v` prints it: its first line, then each header in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    fn headers_of(
        headers: &tokio_tungstenite::tungstenite::http::HeaderMap,
    ) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect()
    }

    /// The request as tungstenite writes it (it sends these headers in this order).
    pub fn of_request<B>(request: &tokio_tungstenite::tungstenite::http::Request<B>) -> Head {
        let target = request
            .uri()
            .path_and_query()
            .map_or("/", |target| target.as_str());
        Head {
            start: format!("{} {target} {:?}", request.method(), request.version()),
            headers: Self::headers_of(request.headers()),
        }
    }

    /// A response head as it was read.
    pub fn of_response<B>(response: &tokio_tungstenite::tungstenite::http::Response<B>) -> Head {
        Head {
            start: format!("{:?} {}", response.version(), response.status()),
            headers: Self::headers_of(response.headers()),
        }
    }
}
