//! Writes every exchange that passes through as a HAR 1.2 entry, so a simulated run
//! can be checked against Amazon's models (`spapi-conformance`) or replayed.
//!
//! Credentials never reach the file: the access-token header and the secret fields
//! of the Login with Amazon form and answer are replaced before anything is kept.

use chrono::SecondsFormat;

use super::{Amazon, Request, Response};
use crate::amazon::har;
use crate::embed::runtime::VirtualClock;

/// What replaces a credential value.
const REDACTED: &str = "(redacted)";
/// Form fields and JSON members that hold credentials.
const SECRET_FIELDS: [&str; 4] = ["client_secret", "refresh_token", "code", "access_token"];

/// An [`Amazon`] that records what `inner` answers.
pub struct Recorder<U> {
    inner: U,
    clock: VirtualClock,
    recording: bool,
    entries: Vec<har::Entry>,
}

impl<U: Amazon> Recorder<U> {
    /// Records `inner`'s exchanges, stamped with `clock`.
    pub fn new(inner: U, clock: VirtualClock) -> Self {
        Self {
            inner,
            clock,
            recording: true,
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
                comment: Some("Recorded from the SP-API simulator; credentials redacted.".into()),
            },
        }
    }
}

impl<U: Amazon> Amazon for Recorder<U> {
    fn respond(&mut self, request: &Request) -> Result<Response, String> {
        let started = self.clock.now();
        let answer = self.inner.respond(request);
        // An exchange with no answer (a simulated timeout) has nothing to record.
        if let Ok(response) = &answer
            && self.recording
        {
            self.entries.push(entry(request, response, started));
        }
        answer
    }
}

fn entry(
    request: &Request,
    response: &Response,
    started: chrono::DateTime<chrono::Utc>,
) -> har::Entry {
    let form = request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let headers = |pairs: &[(String, String)]| -> Vec<har::Header> {
        pairs
            .iter()
            .map(|(name, value)| har::Header {
                name: name.clone(),
                value: if name.eq_ignore_ascii_case("x-amz-access-token") {
                    REDACTED.into()
                } else {
                    value.clone()
                },
            })
            .collect()
    };
    let request_text = String::from_utf8_lossy(&request.body).into_owned();
    let post_data = (!request.body.is_empty()).then(|| har::PostData {
        mime_type: request
            .header("content-type")
            .unwrap_or_default()
            .to_owned(),
        text: if form {
            scrub_form(&request_text)
        } else {
            request_text
        },
    });
    let query_string = url::Url::parse(&request.url)
        .map(|url| {
            url.query_pairs()
                .map(|(name, value)| har::QueryParam {
                    name: name.into_owned(),
                    value: value.into_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    // A body that is not UTF-8 text is kept exactly, as HAR does: in base64.
    let (body, encoding) = match std::str::from_utf8(&response.body) {
        Ok(_) => (scrub_json(&response.body), None),
        Err(_) => {
            use base64::Engine;
            (
                base64::engine::general_purpose::STANDARD.encode(&response.body),
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
        started_date_time: started.to_rfc3339_opts(SecondsFormat::Millis, true),
        request: har::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            http_version: "HTTP/1.1".into(),
            headers: headers(&request.headers),
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
            headers: headers(&response.headers),
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

fn scrub_form(text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(text.as_bytes()).map(|(k, v)| {
            let value = if SECRET_FIELDS.contains(&k.as_ref()) {
                REDACTED.into()
            } else {
                v
            };
            (k, value)
        }))
        .finish()
}

fn scrub_json(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            for field in SECRET_FIELDS {
                if let Some(value) = map.get_mut(field) {
                    *value = serde_json::Value::String(REDACTED.into());
                }
            }
            serde_json::Value::Object(map).to_string()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    impl Amazon for Echo {
        fn respond(&mut self, _: &Request) -> Result<Response, String> {
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
