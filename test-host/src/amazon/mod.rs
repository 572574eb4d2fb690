//! Every Amazon the component can talk to, behind one seam ([`Amazon`], with a
//! request and response type of its own): a recording replayed strictly
//! ([`replay::Replay`] over [`har`] files), the SP-API simulator ([`sim::Simulator`]),
//! the real network ([`network::Network`], and [`network::serve`] for any of them
//! on loopback), and wrappers that inject faults ([`faults::Faults`]) or write what passed as HAR
//! ([`recorder::Recorder`], through [`scrub::Scrubber`]).

pub mod faults;
pub mod har;
pub mod network;
pub mod recorder;
pub mod replay;
pub mod scrub;
pub mod sim;

/// A request the component made, with its whole body: what every Amazon answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The absolute URL, including the query string.
    pub url: String,
    /// The request headers, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

impl Request {
    /// The request an HTTP client sends: method, URL, headers and its whole body.
    pub fn from_parts(parts: &http::request::Parts, body: Vec<u8>) -> Self {
        Self {
            method: parts.method.to_string(),
            url: parts.uri.to_string(),
            headers: header_pairs(&parts.headers),
            body,
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// HTTP headers as name and text, in the order sent.
pub fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// An answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Why no answer to a request arrived, as an HTTP client tells it; described
/// without secrets. The component sees the matching `wasi:http` error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoAnswer {
    /// Nothing more specific: no recording, a simulated loss.
    #[error("{0}")]
    Lost(String),
    /// The host refused the connection.
    #[error("the connection was refused")]
    Refused,
    /// No connection (TCP and TLS) within the connect timeout.
    #[error("no connection within the connect timeout")]
    ConnectTimeout,
    /// The server's certificate is not trusted, or not for this host.
    #[error("the server's certificate was refused: {0}")]
    Certificate(String),
    /// The TLS handshake failed otherwise.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// No response head within the first-byte timeout.
    #[error("no answer within the first-byte timeout")]
    FirstByteTimeout,
    /// The body stalled longer than the between-bytes timeout.
    #[error("the answer stalled longer than the between-bytes timeout")]
    BetweenBytesTimeout,
    /// The connection ended before the whole answer did (a reset, a short body).
    #[error("the answer ended early: {0}")]
    Incomplete(String),
    /// The answer is over the host's size limit.
    #[error("an answer of {0} bytes or more is over the limit")]
    TooLarge(u64),
}

impl From<String> for NoAnswer {
    fn from(reason: String) -> Self {
        NoAnswer::Lost(reason)
    }
}

/// What a strict Amazon (a replay) says at the end of a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finished {
    /// Recorded exchanges asked for.
    pub used: usize,
    /// Recorded exchanges in all.
    pub recorded: usize,
    /// Why the replay was not exact (recordings never asked for), if it was not.
    pub unused: Option<String>,
}

/// Where the component's HTTP requests go.
pub trait Amazon: Send {
    /// Answers one request. `Err` means no answer arrived (no recording, a simulated
    /// timeout, a failed connection); the component sees a transport error.
    fn respond(&mut self, request: &Request) -> Result<Response, NoAnswer>;

    /// The end of a session: a replay's account of its recordings, `None` for an
    /// Amazon that keeps none.
    fn finish(&mut self) -> Option<Finished> {
        None
    }
}

impl Amazon for replay::Replay {
    fn respond(&mut self, request: &Request) -> Result<Response, NoAnswer> {
        replay::Replay::respond(self, request)
            .map(|answer| Response {
                status: answer.status,
                headers: answer.headers,
                body: answer.body,
            })
            .map_err(|e| NoAnswer::Lost(e.to_string()))
    }

    fn finish(&mut self) -> Option<Finished> {
        Some(Finished {
            used: self.used(),
            recorded: self.len(),
            unused: replay::Replay::finish(self).err().map(|e| e.to_string()),
        })
    }
}
