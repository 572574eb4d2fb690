//! HAR 1.2, the format browsers and proxies export: what a recording is on disk, read
//! leniently (unknown fields ignored, optional ones defaulted) and written with every
//! member HAR 1.2 requires.

use serde::{Deserialize, Serialize, Serializer};

/// Written for sizes a recorder does not measure; HAR 1.2 defines -1 as unknown.
const UNKNOWN_SIZE: i64 = -1;

// ---------------------------------------------------------------------------
// HAR 1.2 documents

/// A HAR 1.2 document, reduced to the fields replay reads and a recorder writes.
///
/// Deserialization ignores unknown fields and defaults missing optional ones;
/// serialization adds the members HAR 1.2 requires but replay does not model
/// (`cookies`, `headersSize`, `bodySize`, `cache`, `timings`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Har {
    /// The single top-level object of a HAR file.
    pub log: Log,
}

/// The `log` object: who recorded the exchanges, and the exchanges in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Log {
    /// The HAR format version, `1.2`.
    #[serde(default = "har_version")]
    pub version: String,
    /// The tool that wrote the file.
    #[serde(default)]
    pub creator: Creator,
    /// The recorded exchanges in the order they happened.
    #[serde(default)]
    pub entries: Vec<Entry>,
    /// Free-form note about the recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The export calls that make the recording a fixture (`drive::scenario`).
    #[serde(rename = "_scenario", default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<serde_json::Value>,
}

/// The tool that wrote a HAR file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Creator {
    /// The tool's name.
    #[serde(default)]
    pub name: String,
    /// The tool's version.
    #[serde(default)]
    pub version: String,
}

/// One recorded request and the response it got.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When the request started, as an RFC 3339 timestamp.
    pub started_date_time: String,
    /// Milliseconds from the request to the whole answer.
    #[serde(default)]
    pub time: f64,
    /// What was sent.
    pub request: Request,
    /// What came back.
    pub response: Response,
    /// Free-form note about this exchange.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The absolute URL, including the query string.
    pub url: String,
    /// The protocol version, e.g. `HTTP/1.1`.
    #[serde(default = "http_version")]
    pub http_version: String,
    /// The request headers in the order sent.
    #[serde(default)]
    pub headers: Vec<Header>,
    /// The query parameters; informational, since matching reads them from `url`.
    #[serde(default)]
    pub query_string: Vec<QueryParam>,
    /// The body, if the request had one.
    #[serde(default)]
    pub post_data: Option<PostData>,
}

/// A recorded response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The reason phrase, e.g. `OK`.
    #[serde(default)]
    pub status_text: String,
    /// The protocol version, e.g. `HTTP/1.1`.
    #[serde(default = "http_version")]
    pub http_version: String,
    /// The response headers in the order received.
    #[serde(default)]
    pub headers: Vec<Header>,
    /// The response body.
    #[serde(default)]
    pub content: Content,
}

/// An HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The header name as recorded.
    pub name: String,
    /// The header value.
    pub value: String,
}

/// A query parameter, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryParam {
    /// The parameter name.
    pub name: String,
    /// The parameter value.
    pub value: String,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    /// The body's media type, e.g. `application/json`.
    #[serde(default)]
    pub mime_type: String,
    /// The body text; missing means an empty body.
    #[serde(default)]
    pub text: String,
}

/// A response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// The decoded body length in bytes.
    #[serde(default)]
    pub size: i64,
    /// The body's media type.
    #[serde(default)]
    pub mime_type: String,
    /// The body text; missing means an empty body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How `text` is encoded: absent for plain text, or `base64` (a body that is not
    /// UTF-8 text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

fn har_version() -> String {
    "1.2".to_owned()
}

fn http_version() -> String {
    "HTTP/1.1".to_owned()
}

/// HAR's `cache` object; nothing is cached, so it stays empty.
#[derive(Serialize)]
struct NoCache {}

/// HAR's `timings`, required: the whole `time` is spent waiting (the phases are
/// not measured apart).
#[derive(Serialize)]
struct Timings {
    send: u8,
    wait: f64,
    receive: u8,
}

/// HAR's required `cookies` array; cookies are never recorded.
const NO_COOKIES: [(); 0] = [];

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            started_date_time: &'a str,
            time: f64,
            request: &'a Request,
            response: &'a Response,
            cache: NoCache,
            timings: Timings,
            #[serde(skip_serializing_if = "Option::is_none")]
            comment: Option<&'a str>,
        }
        Wire {
            started_date_time: &self.started_date_time,
            time: self.time,
            request: &self.request,
            response: &self.response,
            cache: NoCache {},
            timings: Timings {
                send: 0,
                wait: self.time,
                receive: 0,
            },
            comment: self.comment.as_deref(),
        }
        .serialize(serializer)
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            method: &'a str,
            url: &'a str,
            http_version: &'a str,
            cookies: [(); 0],
            headers: &'a [Header],
            query_string: &'a [QueryParam],
            #[serde(skip_serializing_if = "Option::is_none")]
            post_data: Option<&'a PostData>,
            headers_size: i64,
            body_size: i64,
        }
        Wire {
            method: &self.method,
            url: &self.url,
            http_version: &self.http_version,
            cookies: NO_COOKIES,
            headers: &self.headers,
            query_string: &self.query_string,
            post_data: self.post_data.as_ref(),
            headers_size: UNKNOWN_SIZE,
            body_size: UNKNOWN_SIZE,
        }
        .serialize(serializer)
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            status: u16,
            status_text: &'a str,
            http_version: &'a str,
            cookies: [(); 0],
            headers: &'a [Header],
            content: &'a Content,
            #[serde(rename = "redirectURL")]
            redirect_url: &'a str,
            headers_size: i64,
            body_size: i64,
        }
        Wire {
            status: self.status,
            status_text: &self.status_text,
            http_version: &self.http_version,
            cookies: NO_COOKIES,
            headers: &self.headers,
            content: &self.content,
            redirect_url: "",
            headers_size: UNKNOWN_SIZE,
            body_size: UNKNOWN_SIZE,
        }
        .serialize(serializer)
    }
}
