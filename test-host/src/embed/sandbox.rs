//! What the host lets a store's component reach, as a platform running third-party
//! plugins must decide it: Login with Amazon, the SP-API regional hosts, and the
//! hosts Amazon's pre-signed feed-document URLs point at, over https only; and how
//! much a request or an answer may carry. Anything else is refused with an HTTP
//! error the component reports, and the host carries on.

/// Login with Amazon.
const LWA_HOST: &str = "api.amazon.com";
/// The SP-API regional hosts (and their sandboxes).
const SP_API_HOSTS: [&str; 3] = [
    "sellingpartnerapi-na.amazon.com",
    "sellingpartnerapi-eu.amazon.com",
    "sellingpartnerapi-fe.amazon.com",
];
/// Feed documents live on Amazon's S3 (`tortuga-prod-*.s3-external-1.amazonaws.com`).
const DOCUMENT_HOST_SUFFIX: &str = ".amazonaws.com";

/// The largest request body the host sends: a feed document of 10,000 shipments
/// is under 6 MB.
pub const MAX_REQUEST_BODY: usize = 8 << 20;
/// The largest answer the host hands over: a page of 100 complete orders is far
/// below this; more is an answer gone wrong.
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// Why a request is refused, or `None` when it may go.
pub fn refuse(url: &str, body_len: usize) -> Option<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Some("the URL does not parse".into());
    };
    let host = parsed.host_str().unwrap_or_default();
    if parsed.scheme() != "https" {
        return Some(format!("{host}: only https is allowed"));
    }
    let amazon = host == LWA_HOST
        || SP_API_HOSTS
            .iter()
            .any(|h| host == *h || host.strip_prefix("sandbox.") == Some(h))
        || (host.ends_with(DOCUMENT_HOST_SUFFIX) && host.len() > DOCUMENT_HOST_SUFFIX.len());
    if !amazon {
        return Some(format!(
            "{host} is not an Amazon host this component may reach"
        ));
    }
    if body_len > MAX_REQUEST_BODY {
        return Some(format!(
            "a request body of {body_len} bytes is over the {MAX_REQUEST_BODY}-byte limit"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_amazon_s_hosts_over_https_within_the_size_limit() {
        for allowed in [
            "https://api.amazon.com/auth/o2/token",
            "https://sellingpartnerapi-eu.amazon.com/orders/2026-01-01/orders",
            "https://sandbox.sellingpartnerapi-na.amazon.com/sellers/v1/marketplaceParticipations",
            "https://tortuga-prod-na.s3-external-1.amazonaws.com/doc?X-Amz-Signature=x",
        ] {
            assert_eq!(refuse(allowed, 10), None, "{allowed}");
        }
        for refused in [
            "http://sellingpartnerapi-na.amazon.com/orders",
            "https://evil.example.com/upload",
            "https://sellingpartnerapi-na.amazon.com.evil.example/orders",
            "https://amazonaws.com/",
            "https://169.254.169.254/latest/meta-data/",
            "not a url",
        ] {
            assert!(refuse(refused, 10).is_some(), "{refused}");
        }
        assert!(refuse("https://api.amazon.com/auth/o2/token", MAX_REQUEST_BODY + 1).is_some());
    }
}
