//! What the component needs from its host, as one small trait. The wasm adapter
//! implements it over WASI; native tests implement it with a scripted fake.

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, describe_json_error};
use crate::headers;

/// An HTTP request with its whole body.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An HTTP response with its whole body.
pub type HttpResponse = http::Response<Vec<u8>>;

/// HTTP, storage and time, as the host provides them.
pub trait Host {
    /// Sends one request and returns the whole response (any status). `Err` only when
    /// no response arrived (connection, timeout, TLS), described without secrets.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String>;
    /// The host's wall clock.
    fn now(&self) -> DateTime<Utc>;
    /// Reads a value; `Ok(None)` when the key is absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Writes a value, replacing any earlier one.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    /// Removes a key; absent keys are fine.
    fn delete(&self, key: &str) -> Result<(), String>;
}

/// The most an answer may inflate to: a page of 100 orders or the report of a
/// 10,000-message feed is far below it.
pub const MAX_INFLATED_BODY: usize = 32 << 20;

/// Sends `request` through `host` and returns the answer as its sender meant it:
/// a `content-encoding: gzip` body inflated. No answer, or one whose encoding
/// cannot be undone (cut short, corrupt, unknown), is a transport error: the
/// exchange failed and is tried again as any other that did.
pub fn exchange(host: &dyn Host, request: HttpRequest) -> Result<HttpResponse, Error> {
    let response = host.send(request).map_err(Error::Transport)?;
    decode_content(response).map_err(Error::Transport)
}

/// Undoes `content-encoding`; removes the header (and a length that no longer
/// holds) once the body is what it names.
fn decode_content(response: HttpResponse) -> Result<HttpResponse, String> {
    let Some(encoding) = response.headers().get(&headers::CONTENT_ENCODING) else {
        return Ok(response);
    };
    let encoding = encoding
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (mut parts, body) = response.into_parts();
    let body = match encoding.as_str() {
        "identity" | "" => body,
        "gzip" | "x-gzip" => crate::gzip::gunzip(&body, MAX_INFLATED_BODY)
            .map_err(|e| format!("the answer's gzip body: {e}"))?,
        _ => return Err("the answer's content-encoding is not gzip or identity".to_owned()),
    };
    parts.headers.remove(&headers::CONTENT_ENCODING);
    parts.headers.remove(&headers::CONTENT_LENGTH);
    Ok(HttpResponse::from_parts(parts, body))
}

/// Typed JSON access to the host's key-value store.
pub struct Store<'h> {
    host: &'h dyn Host,
}

impl<'h> Store<'h> {
    /// Wraps the host's store.
    pub fn new(host: &'h dyn Host) -> Self {
        Self { host }
    }

    /// Reads and decodes `key`. A value that no longer decodes (written by an older
    /// version, or damaged) is a storage error naming the key, not a panic.
    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let Some(bytes) = self.host.get(key).map_err(Error::Storage)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Storage(format!("{key}: {}", describe_json_error(&e))))
    }

    /// Encodes and writes `value` under `key`.
    pub fn save<T: Serialize>(&self, key: &str, value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Storage(e.to_string()))?;
        self.host.set(key, &bytes).map_err(Error::Storage)
    }

    /// Removes `key`.
    pub fn remove(&self, key: &str) -> Result<(), Error> {
        self.host.delete(key).map_err(Error::Storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(encoding: Option<&str>, body: Vec<u8>) -> HttpResponse {
        let mut response = http::Response::builder()
            .status(200)
            .header("content-length", body.len().to_string());
        if let Some(encoding) = encoding {
            response = response.header("content-encoding", encoding);
        }
        response.body(body).unwrap()
    }

    /// `printf 'hello\n' | gzip -n`.
    const HELLO: [u8; 26] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9,
        0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn a_gzip_answer_arrives_inflated_without_its_encoding() {
        let decoded = decode_content(answer(Some("GZIP"), HELLO.to_vec())).unwrap();
        assert_eq!(decoded.body(), b"hello\n");
        assert!(decoded.headers().get("content-encoding").is_none());
        assert!(decoded.headers().get("content-length").is_none());
    }

    #[test]
    fn identity_and_no_encoding_pass_untouched() {
        for encoding in [None, Some("identity")] {
            let decoded = decode_content(answer(encoding, HELLO.to_vec())).unwrap();
            assert_eq!(decoded.body(), &HELLO[..], "{encoding:?}");
        }
    }

    #[test]
    fn an_encoding_that_cannot_be_undone_is_a_transport_error() {
        let cut = decode_content(answer(Some("gzip"), HELLO[..15].to_vec())).unwrap_err();
        assert!(cut.contains("ends early"), "{cut}");
        let unknown = decode_content(answer(Some("br"), b"x".to_vec())).unwrap_err();
        assert!(unknown.contains("not gzip"), "{unknown}");
    }
}
