//! The HTTP header names the component sends and reads, each named once. A name
//! given as a string is parsed at run time, and that parser (the http crate's
//! table of standard names) costs the component 12 KB.

use http::HeaderName;

pub use http::header::{ACCEPT, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};

/// The seller's access token on every SP-API call.
pub static ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-amz-access-token");
/// The rate of the usage plan that applied to the call.
pub static RATE_LIMIT: HeaderName = HeaderName::from_static("x-amzn-ratelimit-limit");
/// Amazon's id of the request, for its support.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// The name of an answer's header the component reads, or `None` for one it
/// does not (the host's adapter keeps only these).
pub fn read(name: &str) -> Option<HeaderName> {
    [&CONTENT_ENCODING, &CONTENT_TYPE, &RATE_LIMIT, &REQUEST_ID]
        .into_iter()
        .find(|known| name.eq_ignore_ascii_case(known.as_str()))
        .cloned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_header_the_component_reads_is_kept_whatever_its_case() {
        for name in [
            "Content-Encoding",
            "content-type",
            "x-amzn-RateLimit-Limit",
            "x-amzn-RequestId",
        ] {
            let kept = super::read(name).unwrap();
            assert!(kept.as_str().eq_ignore_ascii_case(name), "{name}");
        }
        assert_eq!(super::read("set-cookie"), None);
    }
}
