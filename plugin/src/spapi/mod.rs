//! A small Selling Partner API client over the [`Host`] trait: Login with Amazon,
//! request building, Amazon's error bodies, and the wire types this component reads.

pub mod carriers;
pub mod catalog;
pub mod feeds;
pub mod lwa;
pub mod marketplaces;
pub mod orders;
pub mod pacing;
pub mod sellers;
pub mod shipments;
pub mod strict;
pub mod usage_plans;

pub use usage_plans::{Operation, UsagePlan};

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use http::{Method, Request, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};

use crate::error::{AmazonError, Error};
use crate::headers;
use crate::host::{Host, HttpResponse, Store};
use crate::model::ConnectionSettings;

/// Sent as `user-agent`, as Amazon asks of SP-API clients.
pub const USER_AGENT: &str = concat!(
    "amazon-marketplace-component/",
    env!("CARGO_PKG_VERSION"),
    " (Language=Rust; Platform=wasm32-wasip2)"
);

/// An authorized client for one seller in one region.
pub struct SpApi<'h> {
    host: &'h dyn Host,
    settings: &'h ConnectionSettings,
    base_url: String,
    grant: lwa::Grant,
    access_token: RefCell<String>,
}

impl<'h> SpApi<'h> {
    /// Validates the settings and obtains an access token (cached or fresh).
    pub fn authorize(host: &'h dyn Host, settings: &'h ConnectionSettings) -> Result<Self, Error> {
        Self::authorize_as(host, settings, lwa::Grant::Seller)
    }

    /// [`Self::authorize`] with `grant`'s token: the application's own, for the
    /// grantless Notifications operations.
    pub fn authorize_as(
        host: &'h dyn Host,
        settings: &'h ConnectionSettings,
        grant: lwa::Grant,
    ) -> Result<Self, Error> {
        let region = settings.validate()?;
        let access_token = lwa::token_for(host, &settings.credentials, grant)?;
        Ok(Self {
            host,
            settings,
            base_url: format!("https://{}", region.host(settings.sandbox)),
            grant,
            access_token: RefCell::new(access_token),
        })
    }

    /// When `operation` can next be called without being refused, from the
    /// component's view of its bucket.
    pub fn ready_at(&self, operation: Operation) -> DateTime<Utc> {
        pacing::ready_at(&Store::new(self.host), &operation, self.now())
    }

    /// The host's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.host.now()
    }

    /// `GET path?query`, decoded as `T` on 2xx.
    pub fn get<T: DeserializeOwned>(
        &self,
        operation: Operation,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let mut url = format!("{}{path}", self.base_url);
        if !query.is_empty() {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            url.push('?');
            url.push_str(&encoded);
        }
        let response = self.send(operation, Method::GET, &url, Vec::new())?;
        decode(operation.name, &response)
    }

    /// `POST path` with a JSON body; returns the raw 2xx response.
    pub fn post_json<B: serde::Serialize>(
        &self,
        operation: Operation,
        path: &str,
        body: &B,
    ) -> Result<HttpResponse, Error> {
        let body = serde_json::to_vec(body).map_err(|e| Error::invalid("body", e.to_string()))?;
        let url = format!("{}{path}", self.base_url);
        self.send(operation, Method::POST, &url, body)
    }

    /// Puts or gets a feed document at Amazon's pre-signed `url`: a plain request
    /// with no access token (the URL is its own authorization, and the token must
    /// not go to another host) and no bucket. `content_type` must be the one given
    /// to createFeedDocument, byte for byte. The URL is never logged: its signature
    /// is a credential for five minutes.
    pub fn transfer(
        &self,
        name: &str,
        method: Method,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<HttpResponse, Error> {
        if !url.starts_with("https://") {
            return Err(Error::malformed(name, "the document URL is not https"));
        }
        let mut request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header(&headers::USER_AGENT, USER_AGENT);
        if let Some(content_type) = content_type {
            request = request.header(&headers::CONTENT_TYPE, content_type);
        }
        let request = request
            .body(body)
            .map_err(|_| Error::malformed(name, "the document URL is not a valid URL"))?;
        let response = crate::host::exchange(self.host, request)?;
        log::info!("{name} {method} -> {}", response.status().as_u16());
        if response.status().is_success() {
            return Ok(response);
        }
        Err(Error::Amazon(AmazonError {
            operation: name.to_owned(),
            status: response.status().as_u16(),
            code: response
                .status()
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            message: String::new(),
            request_id: None,
        }))
    }

    /// Sends one call within the operation's bucket. A call the view says Amazon
    /// would refuse is not made: it fails as `Throttled` at once. A 401 (the access
    /// token expired early or was revoked) evicts the cached token and is retried
    /// once with a fresh one; a 403 evicts it too, for the next call.
    fn send(
        &self,
        operation: Operation,
        method: Method,
        url: &str,
        body: Vec<u8>,
    ) -> Result<HttpResponse, Error> {
        let store = Store::new(self.host);
        let now = self.now();
        let mut bucket = pacing::load(&store, &operation, now);
        let ready = bucket.ready_at(now);
        if ready > now {
            return Err(Error::Throttled { retry_at: ready });
        }
        bucket.spend(now);
        pacing::save(&store, &operation, &bucket)?;

        let mut response = self.exchange(operation, &method, url, &body)?;
        if response.status() == StatusCode::UNAUTHORIZED {
            lwa::evict_grant(self.host, self.grant)?;
            *self.access_token.borrow_mut() =
                lwa::token_for(self.host, &self.settings.credentials, self.grant)?;
            response = self.exchange(operation, &method, url, &body)?;
        }
        // Amazon answers an expired or revoked token with 403 as well (its models
        // document no 401): forget the token so the next call starts afresh.
        if matches!(
            response.status(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            lwa::evict_grant(self.host, self.grant)?;
        }

        let status = response.status();
        let now = self.now();
        let mut bucket = pacing::load(&store, &operation, now);
        if let Some(rate) = rate_limit(&response) {
            bucket.set_rate(now, rate);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            bucket.empty(now);
        }
        // The answer matters more than the bucket view: a failing store must not turn
        // an update Amazon accepted into an error.
        if let Err(e) = pacing::save(&store, &operation, &bucket) {
            log::warn!("the {} bucket view was not saved: {e}", operation.name);
        }
        if status.is_success() {
            return Ok(response);
        }
        let error = amazon_error(operation.name, &response);
        Err(match status {
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => Error::AccessDenied(error),
            StatusCode::TOO_MANY_REQUESTS => Error::Throttled {
                retry_at: bucket.ready_at(now),
            },
            _ => Error::Amazon(error),
        })
    }

    fn exchange(
        &self,
        operation: Operation,
        method: &Method,
        url: &str,
        body: &[u8],
    ) -> Result<HttpResponse, Error> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header(&headers::ACCESS_TOKEN, self.access_token.borrow().as_str())
            .header(&headers::USER_AGENT, USER_AGENT)
            .header(&headers::ACCEPT, "application/json");
        if !body.is_empty() {
            request = request.header(&headers::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(body.to_vec())
            .map_err(|e| Error::invalid("url", e.to_string()))?;
        let response = crate::host::exchange(self.host, request)?;
        log::info!(
            "{} {method} -> {}",
            operation.name,
            response.status().as_u16()
        );
        Ok(response)
    }
}

/// Amazon's `x-amzn-RateLimit-Limit`: the rate (requests per second) of the plan
/// that applied to the call. Absent on 429s and on some operations.
fn rate_limit(response: &HttpResponse) -> Option<f64> {
    response
        .headers()
        .get(&headers::RATE_LIMIT)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Decodes a 2xx JSON body by the model's shape ([`strict`]): objects where the
/// model has objects, within a memory budget. Anything else is
/// `malformed-response` naming the field, before any state moves.
pub fn decode<T: DeserializeOwned>(operation: &str, response: &HttpResponse) -> Result<T, Error> {
    strict::from_slice(response.body()).map_err(|e| Error::malformed(operation, e.to_string()))
}

/// The `errors` body every SP-API model shares.
#[derive(Debug, Default, Deserialize)]
struct ErrorList {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Summarises an SP-API error response. Bodies that are not Amazon's error shape
/// (a proxy's HTML page, an empty 503) still give a usable error.
fn amazon_error(operation: &str, response: &HttpResponse) -> AmazonError {
    let list: ErrorList = serde_json::from_slice(response.body()).unwrap_or_default();
    let first = list.errors.into_iter().next().unwrap_or_default();
    let status = response.status();
    AmazonError {
        operation: operation.to_owned(),
        status: status.as_u16(),
        code: if first.code.is_empty() {
            status.canonical_reason().unwrap_or("Error").to_owned()
        } else {
            first.code
        },
        message: first.message,
        request_id: request_id(response),
    }
}

pub(crate) fn request_id(response: &HttpResponse) -> Option<String> {
    response
        .headers()
        .get(&headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
