//! Login with Amazon: trade the seller's refresh token for a one-hour access token,
//! and cache that token (never the refresh token or client secret) with its expiry.

use chrono::{DateTime, Duration, Utc};
use http::{Method, Request};
use serde::{Deserialize, Serialize};

use crate::error::{AmazonError, Error, describe_json_error};
use crate::host::{Host, Store};
use crate::model::Credentials;

/// LWA's token endpoint; the same for every region.
pub const TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";
/// Operation name used in errors and logs.
pub const OPERATION: &str = "lwa-token";
/// Where the cached access token lives.
pub const CACHE_KEY: &str = "auth/access-token";
/// Refresh this long before expiry, so a token never lapses mid-call.
const EXPIRY_MARGIN: Duration = Duration::seconds(120);

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
    let store = Store::new(host);
    let now = host.now();
    if let Some(cached) = store.load::<CachedToken>(CACHE_KEY)?
        && cached.client_id == credentials.lwa_client_id
        && cached.seller_id == credentials.seller_id
        && cached.expires_at - EXPIRY_MARGIN > now
    {
        return Ok(cached.access_token);
    }
    let (access_token, lifetime) = exchange(host, credentials)?;
    store.save(
        CACHE_KEY,
        &CachedToken {
            client_id: credentials.lwa_client_id.clone(),
            seller_id: credentials.seller_id.clone(),
            access_token: access_token.clone(),
            expires_at: now + lifetime,
        },
    )?;
    Ok(access_token)
}

/// Forgets the cached access token: Amazon refused it (401) before its expiry.
pub fn evict(host: &dyn Host) -> Result<(), Error> {
    Store::new(host).remove(CACHE_KEY)
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

fn exchange(host: &dyn Host, credentials: &Credentials) -> Result<(String, Duration), Error> {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", &credentials.refresh_token)
        .append_pair("client_id", &credentials.lwa_client_id)
        .append_pair("client_secret", &credentials.lwa_client_secret)
        .finish();
    let request = Request::builder()
        .method(Method::POST)
        .uri(TOKEN_URL)
        .header(
            "content-type",
            "application/x-www-form-urlencoded;charset=UTF-8",
        )
        .header("user-agent", super::USER_AGENT)
        .body(form.into_bytes())
        .map_err(|e| Error::Transport(e.to_string()))?;
    let response = host.send(request).map_err(Error::Transport)?;
    let status = response.status();
    log::info!("{OPERATION} POST -> {}", status.as_u16());
    if status.is_success() {
        let token: TokenResponse = serde_json::from_slice(response.body())
            .map_err(|e| Error::malformed(OPERATION, describe_json_error(&e)))?;
        if token.access_token.is_empty() || token.expires_in <= 0 {
            return Err(Error::malformed(
                OPERATION,
                "empty access token or lifetime",
            ));
        }
        return Ok((token.access_token, Duration::seconds(token.expires_in)));
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
        message: oauth.error_description,
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
