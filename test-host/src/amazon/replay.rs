//! Strict replay of HTTP exchanges recorded in HAR 1.2 files.
//!
//! Every request the component makes must match a recorded exchange that has not
//! been used yet, and [`Replay::finish`] fails when recorded exchanges were never
//! requested, so a test notices both extra and missing calls.
//!
//! Matching compares method, scheme, host, port, path, query parameters and body.
//! Headers are ignored: they carry access tokens, dates and client details that
//! legitimately differ between the recording and the replay. For the same reason
//! the values of credential form fields are ignored; only their presence counts.
//!
//! Error messages name the request and which part differed, never header values
//! or body text, so a failing test cannot leak credentials into its log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use url::Url;

use super::Request;
use super::har::{Entry, Har};
use crate::embed::VirtualClock;

/// Form fields holding credentials, which differ between recorder and replayer.
const SECRET_FORM_FIELDS: [&str; 3] = ["client_secret", "refresh_token", "code"];

/// Response headers not copied into replayed responses: the host frames and
/// decodes the body itself, and hop-by-hop headers are not end-to-end data.
const DROPPED_RESPONSE_HEADERS: [&str; 7] = [
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
];

const FORM_MIME_TYPE: &str = "application/x-www-form-urlencoded";

// ---------------------------------------------------------------------------
// Errors

/// A HAR file that cannot be loaded for replay.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    /// The file could not be read.
    #[error("cannot read HAR file {}: {cause}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// Why reading failed.
        cause: std::io::Error,
    },
    /// The file is not a HAR document.
    #[error("cannot parse HAR file {}: {cause}", path.display())]
    Parse {
        /// The file that was read.
        path: PathBuf,
        /// Where and why parsing failed.
        cause: serde_json::Error,
    },
    /// An entry cannot be replayed; `index` is its 0-based position in `log.entries`.
    #[error("HAR entry #{index} cannot be replayed: {problem}")]
    InvalidEntry {
        /// The entry's position in `log.entries`.
        index: usize,
        /// What is wrong with it.
        problem: EntryProblem,
    },
}

/// Why a recorded entry cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum EntryProblem {
    /// The request URL is not an absolute URL.
    #[error("request url {url:?} does not parse: {cause}")]
    Url {
        /// The recorded URL.
        url: String,
        /// Why it does not parse.
        cause: url::ParseError,
    },
    /// `startedDateTime` is not an RFC 3339 timestamp.
    #[error("startedDateTime {value:?} is not an RFC 3339 timestamp: {cause}")]
    StartedDateTime {
        /// The recorded timestamp.
        value: String,
        /// Why it does not parse.
        cause: chrono::ParseError,
    },
    /// The response body has an encoding other than base64, or bad base64.
    #[error(
        "response content has encoding {0:?} that does not decode; replay reads plain text and base64"
    )]
    ContentEncoding(String),
}

/// A request that replay cannot answer, or a recording that was not used up.
///
/// Messages never contain header values or body text, only the method, URL and
/// the names of the parts that differ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// No unused recorded exchange matches the request.
    #[error("no recorded response for {request}{}", parenthesized(.closest.as_deref()))]
    Unrecorded {
        /// The request as `METHOD url`.
        request: String,
        /// Which recording came closest and how it differs, if any is close.
        closest: Option<String>,
    },
    /// Recorded exchanges that were never requested, each as `#N METHOD url`
    /// with `N` the 0-based position in `log.entries`.
    #[error("{}", describe_unused(.entries))]
    Unused {
        /// The unused exchanges, in recording order.
        entries: Vec<String>,
    },
    /// The request URL is not an absolute URL, so it cannot match anything.
    #[error("request url {url:?} does not parse: {cause}")]
    InvalidUrl {
        /// The URL the component asked for.
        url: String,
        /// Why it does not parse.
        cause: url::ParseError,
    },
}

fn parenthesized(hint: Option<&str>) -> String {
    hint.map(|hint| format!(" ({hint})")).unwrap_or_default()
}

fn describe_unused(entries: &[String]) -> String {
    let summary = match entries.len() {
        1 => "1 recorded exchange was never requested".to_owned(),
        count => format!("{count} recorded exchanges were never requested"),
    };
    format!("{summary}: {}", entries.join(", "))
}

// ---------------------------------------------------------------------------
// Replay

/// The recorded answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The recorded headers minus length, encoding and hop-by-hop headers.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
    /// When the recorded request started, to keep the host clock in step.
    pub started: DateTime<Utc>,
    /// How long the recorded exchange took (HAR's `time`).
    pub took: chrono::Duration,
}

/// Answers requests from a HAR recording, using each recorded exchange at most once.
#[derive(Debug)]
pub struct Replay {
    /// One per `log.entries` element, in the same order.
    exchanges: Vec<Exchange>,
    /// The host clock kept in step with the recording ([`Replay::follow`]).
    clock: Option<VirtualClock>,
}

/// A recorded exchange, parsed up front so that a malformed recording fails
/// when loaded rather than in the middle of a test.
#[derive(Debug)]
struct Exchange {
    /// `METHOD url` as recorded, for messages.
    label: String,
    request: Shape,
    response: ReplayedResponse,
    used: bool,
}

/// The parts of a request that matching compares.
#[derive(Debug)]
struct Shape {
    method: String,
    url: Url,
    /// Decoded query pairs, sorted so that comparison ignores their order.
    query: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether the body is declared `application/x-www-form-urlencoded`.
    form: bool,
}

/// How a request differs from a recorded one with the same method and route.
#[derive(Debug)]
struct Mismatch {
    /// Names of query parameters whose name/value pair occurs on one side only.
    query: BTreeSet<String>,
    /// `Some` when the bodies differ, holding the differing field names when
    /// the bodies were compared as forms.
    body: Option<BTreeSet<String>>,
}

impl Replay {
    /// Loads the HAR file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, HarError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|cause| HarError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let har = serde_json::from_str(&text).map_err(|cause| HarError::Parse {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::from_har(har)
    }

    /// Prepares `har` for replay, rejecting entries that could never be served.
    pub fn from_har(har: Har) -> Result<Self, HarError> {
        let exchanges = har
            .log
            .entries
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                Exchange::new(entry).map_err(|problem| HarError::InvalidEntry { index, problem })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            exchanges,
            clock: None,
        })
    }

    /// Keeps `clock` where the recording's was: each answer arrives at the time
    /// the recorded one did (its start plus its `time`), so a component that
    /// paces itself by the clock makes the recorded requests again.
    pub fn follow(&mut self, clock: VirtualClock) {
        self.clock = Some(clock);
    }

    /// When the first recorded request started, so the host clock can begin at
    /// the recording's time; `None` for an empty recording.
    pub fn start_time(&self) -> Option<DateTime<Utc>> {
        self.exchanges
            .first()
            .map(|exchange| exchange.response.started)
    }

    /// Answers `request` with the first unused recorded exchange that matches
    /// it, and marks that exchange used.
    pub fn respond(&mut self, request: &Request) -> Result<ReplayedResponse, ReplayError> {
        let incoming = Shape::from_request(request)?;
        let found = self.exchanges.iter_mut().find(|exchange| {
            !exchange.used
                && exchange.request.same_route(&incoming)
                && exchange.request.mismatch(&incoming).is_none()
        });
        if let Some(exchange) = found {
            exchange.used = true;
            if let Some(clock) = &self.clock {
                let answered = exchange.response.started + exchange.response.took;
                clock.set(clock.now().max(answered));
            }
            return Ok(exchange.response.clone());
        }
        Err(ReplayError::Unrecorded {
            request: format!("{} {}", request.method, request.url),
            closest: self.closest(&incoming),
        })
    }

    /// Succeeds when every recorded exchange has been requested.
    pub fn finish(&self) -> Result<(), ReplayError> {
        let entries: Vec<String> = self
            .exchanges
            .iter()
            .enumerate()
            .filter(|(_, exchange)| !exchange.used)
            .map(|(index, exchange)| format!("#{index} {}", exchange.label))
            .collect();
        if entries.is_empty() {
            Ok(())
        } else {
            Err(ReplayError::Unused { entries })
        }
    }

    /// How many recorded exchanges have been used.
    pub fn used(&self) -> usize {
        self.exchanges
            .iter()
            .filter(|exchange| exchange.used)
            .count()
    }

    /// How many exchanges the recording holds.
    pub fn len(&self) -> usize {
        self.exchanges.len()
    }

    /// Whether the recording holds no exchanges.
    pub fn is_empty(&self) -> bool {
        self.exchanges.is_empty()
    }

    /// A hint for an unmatched request: the first unused recording with the same
    /// method and route and how it differs, else a recording it would have
    /// matched had that not been used already.
    fn closest(&self, incoming: &Shape) -> Option<String> {
        let same_route = self
            .exchanges
            .iter()
            .enumerate()
            .filter(|(_, exchange)| exchange.request.same_route(incoming));
        let unused = same_route
            .clone()
            .filter(|(_, exchange)| !exchange.used)
            .find_map(|(index, exchange)| {
                let mismatch = exchange.request.mismatch(incoming)?;
                Some(format!(
                    "closest unused recording #{index} differs in {}",
                    mismatch.describe()
                ))
            });
        unused.or_else(|| {
            same_route
                .filter(|(_, exchange)| exchange.used)
                .find(|(_, exchange)| exchange.request.mismatch(incoming).is_none())
                .map(|(index, _)| format!("recording #{index} matches but was already used"))
        })
    }
}

impl Exchange {
    fn new(entry: Entry) -> Result<Self, EntryProblem> {
        let Entry {
            started_date_time,
            time,
            request,
            response,
            comment: _,
        } = entry;
        let started = DateTime::parse_from_rfc3339(&started_date_time)
            .map_err(|cause| EntryProblem::StartedDateTime {
                value: started_date_time.clone(),
                cause,
            })?
            .with_timezone(&Utc);
        let url = Url::parse(&request.url).map_err(|cause| EntryProblem::Url {
            url: request.url.clone(),
            cause,
        })?;
        // HAR stores a body that is not text (not UTF-8) as base64.
        let response_body = match response
            .content
            .encoding
            .as_deref()
            .filter(|e| !e.is_empty())
        {
            None => response.content.text.unwrap_or_default().into_bytes(),
            Some(encoding) if encoding.eq_ignore_ascii_case("base64") => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(response.content.text.unwrap_or_default().trim())
                    .map_err(|_| EntryProblem::ContentEncoding(encoding.to_owned()))?
            }
            Some(encoding) => return Err(EntryProblem::ContentEncoding(encoding.to_owned())),
        };

        let form = request
            .post_data
            .as_ref()
            .is_some_and(|post| is_form(&post.mime_type))
            || request
                .headers
                .iter()
                .any(|header| is_content_type_form(&header.name, &header.value));
        let headers = response
            .headers
            .into_iter()
            .filter(|header| is_replayable_header(&header.name))
            .map(|header| (header.name, header.value))
            .collect();
        Ok(Self {
            label: format!("{} {}", request.method, request.url),
            request: Shape {
                query: sorted_query(&url),
                url,
                method: request.method,
                body: request
                    .post_data
                    .map(|post| post.text)
                    .unwrap_or_default()
                    .into_bytes(),
                form,
            },
            response: ReplayedResponse {
                status: response.status,
                headers,
                body: response_body,
                started,
                took: chrono::Duration::nanoseconds((time.max(0.0) * 1e6).round() as i64),
            },
            used: false,
        })
    }
}

impl Shape {
    fn from_request(request: &Request) -> Result<Self, ReplayError> {
        let url = Url::parse(&request.url).map_err(|cause| ReplayError::InvalidUrl {
            url: request.url.clone(),
            cause,
        })?;
        Ok(Self {
            method: request.method.clone(),
            query: sorted_query(&url),
            url,
            body: request.body.clone(),
            form: request
                .headers
                .iter()
                .any(|(name, value)| is_content_type_form(name, value)),
        })
    }

    /// Whether both requests use the same method on the same resource.
    fn same_route(&self, other: &Shape) -> bool {
        self.method.eq_ignore_ascii_case(&other.method)
            && self.url.scheme() == other.url.scheme()
            && self.url.host_str() == other.url.host_str()
            && self.url.port_or_known_default() == other.url.port_or_known_default()
            && self.url.path() == other.url.path()
    }

    /// How the query and body differ from `other`'s; `None` when they match.
    fn mismatch(&self, other: &Shape) -> Option<Mismatch> {
        let mismatch = Mismatch {
            query: unpaired_names(&self.query, &other.query),
            body: self.body_mismatch(other),
        };
        (!mismatch.query.is_empty() || mismatch.body.is_some()).then_some(mismatch)
    }

    fn body_mismatch(&self, other: &Shape) -> Option<BTreeSet<String>> {
        // JSON first: serializers differ in key order and whitespace.
        let json = |body: &[u8]| serde_json::from_slice::<serde_json::Value>(body).ok();
        if let (Some(mine), Some(theirs)) = (json(&self.body), json(&other.body)) {
            return (mine != theirs).then(BTreeSet::new);
        }
        if self.form || other.form {
            let names = unpaired_names(&sorted_form(&self.body), &sorted_form(&other.body));
            return (!names.is_empty()).then_some(names);
        }
        (self.body != other.body).then(BTreeSet::new)
    }
}

impl Mismatch {
    /// Names the differing parts and parameter names, never values.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.query.is_empty() {
            parts.push(format!("query ({})", join(&self.query)));
        }
        match &self.body {
            Some(fields) if !fields.is_empty() => {
                parts.push(format!("body (form fields {})", join(fields)));
            }
            Some(_) => parts.push("body".to_owned()),
            None => {}
        }
        parts.join(" and ")
    }
}

fn join(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn sorted_query(url: &Url) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = url
        .query_pairs()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Decoded form pairs, sorted, with secret values blanked so that only the
/// presence of a credential field is compared.
fn sorted_form(body: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = form_urlencoded::parse(body)
        .map(|(name, value)| {
            let value = if SECRET_FORM_FIELDS.contains(&name.as_ref()) {
                String::new()
            } else {
                value.into_owned()
            };
            (name.into_owned(), value)
        })
        .collect();
    pairs.sort();
    pairs
}

/// Names of the pairs in either sorted list that have no equal pair in the
/// other, counting duplicates; empty exactly when the multisets are equal.
fn unpaired_names(left: &[(String, String)], right: &[(String, String)]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let (mut left, mut right) = (left.iter().peekable(), right.iter().peekable());
    loop {
        match (left.peek(), right.peek()) {
            (Some(l), Some(r)) if l == r => {
                left.next();
                right.next();
            }
            (Some(l), Some(r)) if l < r => {
                names.insert(l.0.clone());
                left.next();
            }
            (_, Some(r)) => {
                names.insert(r.0.clone());
                right.next();
            }
            (Some(l), None) => {
                names.insert(l.0.clone());
                left.next();
            }
            (None, None) => return names,
        }
    }
}

fn is_form(mime_type: &str) -> bool {
    mime_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(FORM_MIME_TYPE))
}

fn is_content_type_form(name: &str, value: &str) -> bool {
    name.eq_ignore_ascii_case("content-type") && is_form(value)
}

fn is_replayable_header(name: &str) -> bool {
    // HTTP/2 recordings can hold pseudo-headers such as `:status`, which are
    // not valid header names.
    !name.starts_with(':')
        && !DROPPED_RESPONSE_HEADERS
            .iter()
            .any(|dropped| dropped.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
    const ORDERS_URL: &str = "https://sellingpartnerapi-na.amazon.com/orders/v0/orders";

    fn entry(method: &str, url: &str, post: Option<(&str, &str)>, answer: &str) -> Value {
        let mut request = json!({ "method": method, "url": url, "headers": [] });
        if let Some((mime_type, text)) = post {
            request["postData"] = json!({ "mimeType": mime_type, "text": text });
        }
        json!({
            "startedDateTime": "2024-05-01T12:00:00Z",
            "request": request,
            "response": {
                "status": 200,
                "headers": [
                    { "name": "Content-Type", "value": "application/json" },
                    { "name": "Content-Length", "value": "99" },
                    { "name": "x-amzn-RequestId", "value": "abc" }
                ],
                "content": { "size": answer.len(), "mimeType": "application/json", "text": answer }
            }
        })
    }

    fn replay(entries: Vec<Value>) -> Replay {
        let har = json!({ "log": { "version": "1.2", "creator": { "name": "test", "version": "0" }, "entries": entries } });
        Replay::from_har(serde_json::from_value(har).unwrap()).unwrap()
    }

    fn request(method: &str, url: &str, content_type: Option<&str>, body: &str) -> Request {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: content_type
                .map(|value| vec![("Content-Type".to_owned(), value.to_owned())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn body_text(response: &ReplayedResponse) -> &str {
        std::str::from_utf8(&response.body).unwrap()
    }

    #[test]
    fn query_order_and_encoding_do_not_matter() {
        let url = format!(
            "{ORDERS_URL}?MarketplaceIds=ATVPDKIKX0DER&CreatedAfter=2024-01-01T00%3A00%3A00Z"
        );
        let mut replay = replay(vec![entry("GET", &url, None, r#"{"orders":[]}"#)]);

        let reordered =
            format!("{ORDERS_URL}?CreatedAfter=2024-01-01T00:00:00Z&MarketplaceIds=ATVPDKIKX0DER");
        let response = replay
            .respond(&request("get", &reordered, None, ""))
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(body_text(&response), r#"{"orders":[]}"#);
        assert_eq!(replay.used(), 1);
    }

    #[test]
    fn query_difference_names_the_parameter_but_not_its_value() {
        let url = format!("{ORDERS_URL}?MarketplaceIds=ATVPDKIKX0DER&CreatedAfter=2024-01-01");
        let mut replay = replay(vec![entry("GET", &url, None, "{}")]);

        let other = format!("{ORDERS_URL}?MarketplaceIds=A1F83G8C2ARO7P&CreatedAfter=2024-01-01");
        let error = replay
            .respond(&request("GET", &other, None, ""))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "no recorded response for GET {other} (closest unused recording #0 differs in query (MarketplaceIds))"
            )
        );
    }

    #[test]
    fn json_bodies_compare_as_json() {
        let mut replay = replay(vec![entry(
            "POST",
            ORDERS_URL,
            Some(("application/json", r#"{"a":1,"b":[1,2]}"#)),
            "{}",
        )]);

        let different = request(
            "POST",
            ORDERS_URL,
            Some("application/json"),
            r#"{"a":2,"b":[1,2]}"#,
        );
        let error = replay.respond(&different).unwrap_err();
        assert!(error.to_string().ends_with("differs in body)"), "{error}");

        let reformatted = request("POST", ORDERS_URL, None, "{ \"b\": [1, 2],\n  \"a\": 1 }");
        replay.respond(&reformatted).unwrap();
    }

    #[test]
    fn form_secrets_are_ignored_but_other_fields_compared() {
        let recorded = "grant_type=refresh_token&refresh_token=Atzr%7Crecorded&client_id=amzn1.app&client_secret=recorded-secret";
        let mut replay = replay(vec![entry(
            "POST",
            TOKEN_URL,
            Some((FORM_MIME_TYPE, recorded)),
            "{}",
        )]);
        let form = Some("application/x-www-form-urlencoded;charset=UTF-8");

        let other_client =
            "grant_type=refresh_token&refresh_token=x&client_id=amzn1.other&client_secret=y";
        let error = replay
            .respond(&request("POST", TOKEN_URL, form, other_client))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("differs in body (form fields client_id))"),
            "{error}"
        );

        let missing_secret = "grant_type=refresh_token&refresh_token=x&client_id=amzn1.app";
        let error = replay
            .respond(&request("POST", TOKEN_URL, form, missing_secret))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("differs in body (form fields client_secret))"),
            "{error}"
        );

        let fresh_credentials = "client_secret=replay-secret&client_id=amzn1.app&refresh_token=Atzr%7Cother&grant_type=refresh_token";
        replay
            .respond(&request("POST", TOKEN_URL, form, fresh_credentials))
            .unwrap();
    }

    #[test]
    fn unrecorded_request_is_named_without_secrets() {
        let recorded =
            "grant_type=refresh_token&refresh_token=r&client_id=amzn1.app&client_secret=s";
        let mut replay = replay(vec![entry(
            "POST",
            TOKEN_URL,
            Some((FORM_MIME_TYPE, recorded)),
            "{}",
        )]);

        let body = "grant_type=authorization_code&code=SECRET-CODE-123&client_id=amzn1.app&client_secret=TOP-SECRET-456";
        let error = replay
            .respond(&request("POST", TOKEN_URL, Some(FORM_MIME_TYPE), body))
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, ReplayError::Unrecorded { .. }));
        assert!(
            message.starts_with(&format!("no recorded response for POST {TOKEN_URL} (")),
            "{message}"
        );
        assert!(
            message.contains("closest unused recording #0 differs in body"),
            "{message}"
        );
        assert!(
            !message.contains("SECRET-CODE-123") && !message.contains("TOP-SECRET-456"),
            "{message}"
        );

        let error = replay
            .respond(&request("DELETE", ORDERS_URL, None, ""))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("no recorded response for DELETE {ORDERS_URL}")
        );
    }

    #[test]
    fn duplicate_requests_consume_entries_in_order() {
        let mut replay = replay(vec![
            entry("GET", ORDERS_URL, None, "first"),
            entry("GET", ORDERS_URL, None, "second"),
        ]);
        let get = request("GET", ORDERS_URL, None, "");
        assert_eq!(body_text(&replay.respond(&get).unwrap()), "first");
        assert_eq!(body_text(&replay.respond(&get).unwrap()), "second");

        let error = replay.respond(&get).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "no recorded response for GET {ORDERS_URL} (recording #0 matches but was already used)"
            )
        );
    }

    #[test]
    fn finish_reports_unused_entries() {
        let mut replay = replay(vec![
            entry("GET", ORDERS_URL, None, "{}"),
            entry("POST", TOKEN_URL, Some((FORM_MIME_TYPE, "a=1")), "{}"),
            entry("GET", &format!("{ORDERS_URL}/1"), None, "{}"),
        ]);
        assert_eq!((replay.len(), replay.used()), (3, 0));
        replay
            .respond(&request("GET", ORDERS_URL, None, ""))
            .unwrap();

        let error = replay.finish().unwrap_err();
        assert_eq!(
            error,
            ReplayError::Unused {
                entries: vec![
                    format!("#1 POST {TOKEN_URL}"),
                    format!("#2 GET {ORDERS_URL}/1")
                ]
            }
        );
        assert_eq!(
            error.to_string(),
            format!(
                "2 recorded exchanges were never requested: #1 POST {TOKEN_URL}, #2 GET {ORDERS_URL}/1"
            )
        );

        replay
            .respond(&request("POST", TOKEN_URL, Some(FORM_MIME_TYPE), "a=1"))
            .unwrap();
        let error = replay.finish().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("1 recorded exchange was never requested: #2 GET {ORDERS_URL}/1")
        );

        replay
            .respond(&request("GET", &format!("{ORDERS_URL}/1"), None, ""))
            .unwrap();
        replay.finish().unwrap();
        assert_eq!(replay.used(), 3);
    }

    #[test]
    fn start_time_and_started_come_from_the_recording() {
        let mut recorded = entry("GET", ORDERS_URL, None, "{}");
        recorded["startedDateTime"] = json!("2024-05-01T12:00:00.123+02:00");
        let mut replay = replay(vec![recorded, entry("GET", ORDERS_URL, None, "{}")]);

        let expected = DateTime::parse_from_rfc3339("2024-05-01T10:00:00.123Z").unwrap();
        assert_eq!(replay.start_time(), Some(expected.with_timezone(&Utc)));
        let response = replay
            .respond(&request("GET", ORDERS_URL, None, ""))
            .unwrap();
        assert_eq!(response.started, expected);
        assert_eq!(
            Replay::from_har(serde_json::from_value(json!({ "log": {} })).unwrap())
                .unwrap()
                .start_time(),
            None
        );
    }

    #[test]
    fn response_headers_skip_length_and_hop_by_hop() {
        let mut replay = replay(vec![entry("GET", ORDERS_URL, None, "{}")]);
        let response = replay
            .respond(&request("GET", ORDERS_URL, None, ""))
            .unwrap();
        assert_eq!(
            response.headers,
            [
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("x-amzn-RequestId".to_owned(), "abc".to_owned()),
            ]
        );
    }

    #[test]
    fn malformed_entries_fail_at_load() {
        let mut bad = entry("GET", "not a url", None, "{}");
        let har = |entry: &Value| {
            serde_json::from_value(json!({ "log": { "entries": [entry] } })).unwrap()
        };
        let error = Replay::from_har(har(&bad)).unwrap_err();
        assert!(
            matches!(
                error,
                HarError::InvalidEntry {
                    index: 0,
                    problem: EntryProblem::Url { .. }
                }
            ),
            "{error}"
        );

        bad = entry("GET", ORDERS_URL, None, "not base64!");
        bad["response"]["content"]["encoding"] = json!("base64");
        let error = Replay::from_har(har(&bad)).unwrap_err();
        assert!(matches!(
            error,
            HarError::InvalidEntry {
                problem: EntryProblem::ContentEncoding(_),
                ..
            }
        ));
    }

    #[test]
    fn a_base64_body_is_replayed_as_its_bytes() {
        let mut recorded = entry("GET", ORDERS_URL, None, "");
        // Latin-1 "São", not UTF-8.
        recorded["response"]["content"]["text"] = json!("U+Nv");
        recorded["response"]["content"]["encoding"] = json!("base64");
        let mut replay = replay(vec![recorded]);
        let answer = replay
            .respond(&request("GET", ORDERS_URL, None, ""))
            .unwrap();
        assert_eq!(answer.body, b"S\xe3o");
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let path = std::env::temp_dir().join("test-host-no-such-recording.har");
        let error = Replay::from_file(&path).unwrap_err();
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
    }

    #[test]
    fn serialized_har_has_required_members_and_round_trips() {
        let har: Har = serde_json::from_value(json!({
            "log": { "entries": [entry("POST", TOKEN_URL, Some((FORM_MIME_TYPE, "a=1")), "{}")] }
        }))
        .unwrap();
        let written = serde_json::to_value(&har).unwrap();
        let entry = &written["log"]["entries"][0];
        assert_eq!(written["log"]["version"], "1.2");
        assert_eq!(entry["request"]["cookies"], json!([]));
        assert_eq!(entry["request"]["headersSize"], -1);
        assert_eq!(entry["request"]["bodySize"], -1);
        assert_eq!(entry["request"]["httpVersion"], "HTTP/1.1");
        assert_eq!(entry["request"]["postData"]["mimeType"], FORM_MIME_TYPE);
        assert_eq!(entry["response"]["cookies"], json!([]));
        assert_eq!(entry["response"]["redirectURL"], "");
        assert_eq!(entry["response"]["bodySize"], -1);
        assert_eq!(entry["response"]["content"]["mimeType"], "application/json");
        assert_eq!(entry["cache"], json!({}));
        assert_eq!(entry["timings"]["wait"].as_f64(), Some(0.0));
        assert_eq!(
            entry["time"].as_f64(),
            Some(0.0),
            "the whole time is the wait"
        );

        let reread: Har = serde_json::from_value(written).unwrap();
        assert_eq!(reread, har);
    }
}

/// Property tests of the HAR reader: whatever a file holds, loading it is a typed
/// result, never a panic.
#[cfg(test)]
mod hostile {
    use proptest::prelude::*;

    use super::*;

    /// Cases per property: 128 in `cargo test`; `PROPTEST_CASES` for a long run.
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(128)
    }

    fn a_recording() -> String {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/label-split-and-combined.har");
        std::fs::read_to_string(path).expect("a fixture to damage")
    }

    fn load(text: &str) {
        if let Ok(har) = serde_json::from_str::<Har>(text)
            && let Ok(replay) = Replay::from_har(har)
        {
            let _ = replay.start_time();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        #[test]
        fn any_file_loads_as_a_recording_or_a_typed_error(text in ".{0,400}") {
            load(&text);
        }

        #[test]
        fn a_damaged_recording_loads_or_is_refused(cut in 0usize..100_000, junk in ".{0,20}", splice in any::<bool>()) {
            let text = a_recording();
            let at = (0..=cut % text.len()).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            let damaged = if splice {
                format!("{}{junk}{}", &text[..at], &text[at..])
            } else {
                text[..at].to_owned()
            };
            load(&damaged);
        }
    }
}
