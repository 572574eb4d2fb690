//! Login with Amazon: trade the seller's refresh token for a one-hour access token,
//! and cache that token (never the refresh token or client secret) with its expiry.

use chrono::{DateTime, Duration, Utc};
use http::{Method, Request};
use serde::{Deserialize, Serialize};

use crate::error::{AmazonError, Error};
use crate::headers;
use crate::host::{Host, Store};
use crate::model::Credentials;

/// LWA's token endpoint; the same for every region.
pub const TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
/// Operation name used in errors and logs.
pub const OPERATION: &str = "lwa-token";
/// Where the cached access token lives.
pub use crate::keys::ACCESS_TOKEN as CACHE_KEY;
/// Refresh this long before expiry, so a token never lapses mid-call.
const EXPIRY_MARGIN: Duration = Duration::seconds(120);
/// The longest lifetime believed: LWA issues one-hour tokens; a larger value is an
/// error on Amazon's side and must not keep a token forever (or overflow a date).
const MAX_LIFETIME: Duration = Duration::hours(24);
/// The largest access token sent on: LWA's are a few hundred bytes, and a header
/// value far larger is refused by HTTP stacks (wasi-http among them).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Whose access token: the seller's authorisation (its refresh token), or the
/// application's alone, for the grantless Notifications operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `grant_type=refresh_token`: acts for the seller.
    Seller,
    /// `grant_type=client_credentials` with the Notifications scope: acts for the
    /// application (createDestination, getDestinations).
    Notifications,
}

impl Grant {
    fn cache_key(self) -> &'static str {
        match self {
            Self::Seller => CACHE_KEY,
            Self::Notifications => crate::keys::GRANTLESS_TOKEN,
        }
    }
}

/// The scope of a grantless token for the Notifications API.
pub const NOTIFICATIONS_SCOPE: &str = "sellingpartnerapi::notifications";

/// The cached token, bound to the app and seller it was issued for.
#[derive(Serialize, Deserialize)]
struct CachedToken {
    client_id: String,
    seller_id: String,
    access_token: String,
    expires_at: DateTime<Utc>,
}

/// A usable access token: from the cache while it has more than two minutes left,
/// otherwise freshly exchanged and cached.
pub fn access_token(host: &dyn Host, credentials: &Credentials) -> Result<String, Error> {
    token_for(host, credentials, Grant::Seller)
}

/// [`access_token`] for `grant`: each grant's token is cached under its own key.
pub fn token_for(
    host: &dyn Host,
    credentials: &Credentials,
    grant: Grant,
) -> Result<String, Error> {
    let store = Store::new(host);
    let now = host.now();
    if let Some(cached) = store.load::<CachedToken>(grant.cache_key())?
        && cached.client_id == credentials.lwa_client_id
        && cached.seller_id == credentials.seller_id
        && cached
            .expires_at
            .checked_sub_signed(EXPIRY_MARGIN)
            .is_some_and(|t| t > now)
    {
        return Ok(cached.access_token);
    }
    let (access_token, lifetime) = exchange(host, credentials, grant)?;
    store.save(
        grant.cache_key(),
        &CachedToken {
            client_id: credentials.lwa_client_id.clone(),
            seller_id: credentials.seller_id.clone(),
            access_token: access_token.clone(),
            expires_at: now.checked_add_signed(lifetime).unwrap_or(now),
        },
    )?;
    Ok(access_token)
}

/// Forgets the cached access token: Amazon refused it (401) before its expiry.
pub fn evict(host: &dyn Host) -> Result<(), Error> {
    evict_grant(host, Grant::Seller)
}

/// [`evict`] for `grant`'s token.
pub fn evict_grant(host: &dyn Host, grant: Grant) -> Result<(), Error> {
    Store::new(host).remove(grant.cache_key())
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default = "default_lifetime")]
    expires_in: i64,
}

fn default_lifetime() -> i64 {
    3600
}

#[derive(Default, Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// `text` with every credential value replaced.
fn scrub(text: &str, credentials: &Credentials) -> String {
    let mut text = text.to_owned();
    for secret in [
        &credentials.refresh_token,
        &credentials.lwa_client_secret,
        &credentials.lwa_client_id,
    ] {
        if secret.len() >= 4 {
            text = text.replace(secret.as_str(), "[redacted]");
        }
    }
    text
}

fn exchange(
    host: &dyn Host,
    credentials: &Credentials,
    grant: Grant,
) -> Result<(String, Duration), Error> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    match grant {
        Grant::Seller => form
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", &credentials.refresh_token),
        Grant::Notifications => form
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", NOTIFICATIONS_SCOPE),
    };
    let form = form
        .append_pair("client_id", &credentials.lwa_client_id)
        .append_pair("client_secret", &credentials.lwa_client_secret)
        .finish();
    let request = Request::builder()
        .method(Method::POST)
        .uri(TOKEN_URL)
        .header(
            &headers::CONTENT_TYPE,
            "application/x-www-form-urlencoded;charset=UTF-8",
        )
        .header(&headers::USER_AGENT, super::USER_AGENT)
        .body(form.into_bytes())
        .map_err(|e| Error::Transport(e.to_string()))?;
    let response = crate::host::exchange(host, request)?;
    let status = response.status();
    log::info!("{OPERATION} POST -> {}", status.as_u16());
    if status.is_success() {
        let token: TokenResponse = super::strict::from_slice(response.body())
            .map_err(|e| Error::malformed(OPERATION, e.to_string()))?;
        if token.access_token.is_empty() || token.expires_in <= 0 {
            return Err(Error::malformed(
                OPERATION,
                "empty access token or lifetime",
            ));
        }
        if token.access_token.len() > MAX_TOKEN_BYTES
            || http::HeaderValue::from_str(&token.access_token).is_err()
        {
            return Err(Error::malformed(
                OPERATION,
                format!(
                    "the access token ({} bytes) is not a usable header value",
                    token.access_token.len()
                ),
            ));
        }
        let lifetime = Duration::try_seconds(token.expires_in)
            .unwrap_or(MAX_LIFETIME)
            .min(MAX_LIFETIME);
        return Ok((token.access_token, lifetime));
    }
    let oauth: OAuthError = serde_json::from_slice(response.body()).unwrap_or_default();
    let error = AmazonError {
        operation: OPERATION.to_owned(),
        status: status.as_u16(),
        code: if oauth.error.is_empty() {
            status.canonical_reason().unwrap_or("Error").to_owned()
        } else {
            oauth.error.clone()
        },
        // LWA may quote what it was sent; none of the credentials may travel on in an
        // error the host logs or shows.
        message: scrub(&oauth.error_description, credentials),
        request_id: super::request_id(&response),
    };
    Err(match oauth.error.as_str() {
        "invalid_grant" => Error::ReauthorizationRequired(error),
        _ if status == http::StatusCode::TOO_MANY_REQUESTS => Error::Throttled {
            retry_at: host.now() + Duration::seconds(1),
        },
        _ => Error::Amazon(error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeHost, us_settings};

    #[test]
    fn an_absurd_lifetime_is_capped_and_never_overflows() {
        for expires_in in ["100000000000000", "9223372036854775807"] {
            let host = FakeHost::new();
            host.expect(
                "POST",
                "/auth/o2/token",
                200,
                &format!(r#"{{"access_token":"Atza|t","expires_in":{expires_in}}}"#),
            );
            assert_eq!(
                access_token(&host, &us_settings().credentials).unwrap(),
                "Atza|t"
            );
            let cached: CachedToken =
                serde_json::from_slice(&host.store.borrow()[CACHE_KEY]).unwrap();
            assert_eq!(cached.expires_at, host.now() + MAX_LIFETIME);
        }
    }

    #[test]
    fn an_unusable_token_is_refused_not_cached() {
        let host = FakeHost::new();
        let huge = "A".repeat(200 * 1024);
        host.expect(
            "POST",
            "/auth/o2/token",
            200,
            &format!(r#"{{"access_token":"{huge}","expires_in":3600}}"#),
        )
        .expect(
            "POST",
            "/auth/o2/token",
            200,
            r#"{"access_token":"Atza|a\nb","expires_in":3600}"#,
        );
        for _ in 0..2 {
            let error = access_token(&host, &us_settings().credentials).unwrap_err();
            assert!(
                matches!(error, Error::MalformedResponse { .. }),
                "{error:?}"
            );
        }
        assert!(!host.key_exists(CACHE_KEY));
    }

    #[test]
    fn credentials_amazon_quotes_back_are_scrubbed_from_errors() {
        let host = FakeHost::new();
        let credentials = us_settings().credentials;
        host.expect(
            "POST",
            "/auth/o2/token",
            400,
            &format!(
                r#"{{"error":"invalid_client","error_description":"Client authentication failed for {} with secret {} and token {}"}}"#,
                credentials.lwa_client_id, credentials.lwa_client_secret, credentials.refresh_token
            ),
        );
        let error = access_token(&host, &credentials).unwrap_err();
        let text = format!("{error} {error:?}");
        for secret in [
            &credentials.lwa_client_secret,
            &credentials.refresh_token,
            &credentials.lwa_client_id,
        ] {
            assert!(!text.contains(secret.as_str()), "{text}");
        }
        assert!(text.contains("[redacted]"), "{text}");
    }
}
