//! Writes every exchange that passes through as a HAR 1.2 entry, so a run can be
//! checked against Amazon's models (`spapi-conformance`) or replayed.
//!
//! Nothing secret and no buyer value reaches the file: each exchange goes through
//! one [`Scrubber`] for the whole recording before it is kept.

use chrono::SecondsFormat;

use super::scrub::Scrubber;
use super::{Amazon, NoAnswer, Request, Response};
use crate::amazon::har;
use crate::embed::runtime::VirtualClock;

/// An [`Amazon`] that records what `inner` answers.
pub struct Recorder<U> {
    inner: U,
    clock: VirtualClock,
    recording: bool,
    /// Requests that got no answer (nothing to record, so no strict replay).
    unanswered: usize,
    scrubber: Scrubber,
    entries: Vec<har::Entry>,
}

impl<U: Amazon> Recorder<U> {
    /// Records `inner`'s exchanges, stamped with `clock`.
    pub fn new(inner: U, clock: VirtualClock) -> Self {
        Self {
            inner,
            clock,
            recording: true,
            unanswered: 0,
            scrubber: Scrubber::new(),
            entries: Vec::new(),
        }
    }

    /// Passes everything through and keeps nothing (a long run that needs no file).
    pub fn off(inner: U, clock: VirtualClock) -> Self {
        Self {
            recording: false,
            ..Self::new(inner, clock)
        }
    }

    /// The wrapped Amazon.
    pub fn inner(&self) -> &U {
        &self.inner
    }

    /// The wrapped Amazon, to change it between calls.
    pub fn inner_mut(&mut self) -> &mut U {
        &mut self.inner
    }

    /// Each original value the recording replaced, with its placeholder.
    pub fn placeholders(&self) -> &std::collections::HashMap<String, String> {
        self.scrubber.placeholders()
    }

    /// How many requests got no answer (a recording with any cannot replay).
    pub fn unanswered(&self) -> usize {
        self.unanswered
    }

    /// How many exchanges were recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The recording so far as a HAR document.
    pub fn har(&self) -> har::Har {
        har::Har {
            log: har::Log {
                version: "1.2".into(),
                creator: har::Creator {
                    name: "test-host".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
                entries: self.entries.clone(),
                scenario: None,
                comment: Some(
                    "Recorded by the test host; credentials and buyer values replaced.".into(),
                ),
            },
        }
    }
}

impl<U: Amazon> Amazon for Recorder<U> {
    fn respond(&mut self, request: &Request) -> Result<Response, NoAnswer> {
        let started = self.clock.now();
        let answer = self.inner.respond(request);
        let took = self.clock.now() - started;
        // An exchange with no answer (a simulated timeout) has nothing to record.
        if answer.is_err() {
            self.unanswered += 1;
        }
        if let Ok(response) = &answer
            && self.recording
        {
            let mut entry = entry(&mut self.scrubber, request, response, started);
            // To the nanosecond, so a replay's clock lands where this one was.
            entry.time = took.num_nanoseconds().unwrap_or(0) as f64 / 1e6;
            self.entries.push(entry);
        }
        answer
    }
}

fn entry(
    scrubber: &mut Scrubber,
    request: &Request,
    response: &Response,
    started: chrono::DateTime<chrono::Utc>,
) -> har::Entry {
    let form = request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let mut headers = |pairs: &[(String, String)]| -> Vec<har::Header> {
        pairs
            .iter()
            .map(|(name, value)| har::Header {
                name: name.clone(),
                value: scrubber.header(name, value),
            })
            .collect()
    };
    let request_headers = headers(&request.headers);
    let response_headers = headers(&response.headers);
    let request_text = String::from_utf8_lossy(&request.body).into_owned();
    let post_data = (!request.body.is_empty()).then(|| har::PostData {
        mime_type: request
            .header("content-type")
            .unwrap_or_default()
            .to_owned(),
        text: if form {
            scrubber.form(&request_text)
        } else {
            scrubber.text(&request_text)
        },
    });
    let url = scrubber.url(&request.url);
    let query_string = url::Url::parse(&url)
        .map(|url| {
            url.query_pairs()
                .map(|(name, value)| har::QueryParam {
                    name: name.into_owned(),
                    value: value.into_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    // HAR keeps the body as the sender meant it: a content-encoding undone.
    let decoded = decoded_body(response);
    // A body that is not UTF-8 text is kept exactly, as HAR does: in base64.
    let (body, encoding) = match std::str::from_utf8(&decoded) {
        Ok(text) => (scrubber.text(text), None),
        Err(_) => {
            use base64::Engine;
            (
                base64::engine::general_purpose::STANDARD.encode(&decoded),
                Some("base64".to_owned()),
            )
        }
    };
    let mime_type = response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    har::Entry {
        started_date_time: started.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        time: 0.0,
        request: har::Request {
            method: request.method.clone(),
            url,
            http_version: "HTTP/1.1".into(),
            headers: request_headers,
            query_string,
            post_data,
        },
        response: har::Response {
            status: response.status,
            status_text: http::StatusCode::from_u16(response.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .into(),
            http_version: "HTTP/1.1".into(),
            headers: response_headers,
            content: har::Content {
                size: i64::try_from(body.len()).unwrap_or(-1),
                mime_type,
                text: (!body.is_empty()).then_some(body),
                encoding,
            },
        },
        comment: None,
    }
}

/// The response body with a gzip content-encoding undone (the bytes as they came
/// when it cannot be: the component will have said why).
fn decoded_body(response: &Response) -> std::borrow::Cow<'_, [u8]> {
    let gzip = response.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-encoding") && v.trim().eq_ignore_ascii_case("gzip")
    });
    if gzip {
        use std::io::Read;
        let mut inflated = Vec::new();
        if flate2::read::MultiGzDecoder::new(response.body.as_slice())
            .read_to_end(&mut inflated)
            .is_ok()
        {
            return inflated.into();
        }
    }
    response.body.as_slice().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl Amazon for Echo {
        fn respond(&mut self, _: &Request) -> Result<Response, NoAnswer> {
            Ok(Response::json(
                200,
                &serde_json::json!({"access_token": "Atza|secret", "expires_in": 3600}),
            ))
        }
    }

    #[test]
    fn credentials_never_reach_the_recording() {
        let clock = VirtualClock::new(chrono::DateTime::UNIX_EPOCH);
        let mut recorder = Recorder::new(Echo, clock);
        let request = Request {
            method: "POST".into(),
            url: "https://api.amazon.com/auth/o2/token".into(),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded;charset=UTF-8".into()),
                ("x-amz-access-token".into(), "Atza|old-secret".into()),
            ],
            body: b"grant_type=refresh_token&refresh_token=Atzr%7Csecret&client_id=app&client_secret=shh".to_vec(),
        };
        recorder.respond(&request).unwrap();
        let text = serde_json::to_string(&recorder.har()).unwrap();
        for secret in ["Atza|secret", "Atzr", "shh", "old-secret"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("client_id=app"), "{text}");
        assert!(text.contains("grant_type=refresh_token"));
    }
}
