//! A small Selling Partner API client over the [`Host`] trait: Login with Amazon,
//! request building, Amazon's error bodies, and the wire types this component reads.

pub mod lwa;
pub mod marketplaces;
pub mod orders;
pub mod sellers;
pub mod shipments;

use chrono::{DateTime, Duration, Utc};
use http::{Method, Request, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};

use crate::error::{AmazonError, Error, describe_json_error};
use crate::host::{Host, HttpResponse};
use crate::model::StoreSettings;

/// Sent as `user-agent`, as Amazon asks of SP-API clients.
pub const USER_AGENT: &str = concat!(
    "amazon-marketplace-component/",
    env!("CARGO_PKG_VERSION"),
    " (Language=Rust; Platform=wasm32-wasip2)"
);

/// One SP-API operation: its name (for errors and logs) and its default usage plan.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// Amazon's operationId.
    pub name: &'static str,
    /// Seconds for the bucket to earn one token back (1 / rate).
    pub restore_seconds: i64,
}

impl Operation {
    /// Sellers getMarketplaceParticipations: 0.016 rps, burst 15.
    pub const MARKETPLACE_PARTICIPATIONS: Self = Self {
        name: "getMarketplaceParticipations",
        restore_seconds: 63,
    };
    /// Sellers getAccount: 0.016 rps, burst 15.
    pub const ACCOUNT: Self = Self {
        name: "getAccount",
        restore_seconds: 63,
    };
    /// Orders 2026-01-01 searchOrders: 0.0056 rps, burst 20.
    pub const SEARCH_ORDERS: Self = Self {
        name: "searchOrders",
        restore_seconds: 179,
    };
    /// Orders v0 confirmShipment: 2 rps, burst 10.
    pub const CONFIRM_SHIPMENT: Self = Self {
        name: "confirmShipment",
        restore_seconds: 1,
    };
}

/// An authorized client for one seller in one region.
pub struct SpApi<'h> {
    host: &'h dyn Host,
    base_url: String,
    access_token: String,
}

impl<'h> SpApi<'h> {
    /// Validates the settings and obtains an access token (cached or fresh).
    pub fn authorize(host: &'h dyn Host, settings: &StoreSettings) -> Result<Self, Error> {
        let region = settings.validate()?;
        let access_token = lwa::access_token(host, &settings.credentials)?;
        Ok(Self {
            host,
            base_url: format!("https://{}", region.host(settings.sandbox)),
            access_token,
        })
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

    fn send(
        &self,
        operation: Operation,
        method: Method,
        url: &str,
        body: Vec<u8>,
    ) -> Result<HttpResponse, Error> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header("x-amz-access-token", &self.access_token)
            .header("user-agent", USER_AGENT)
            .header("accept", "application/json");
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body)
            .map_err(|e| Error::invalid("url", e.to_string()))?;
        let response = self.host.send(request).map_err(Error::Transport)?;
        let status = response.status();
        log::info!("{} {method} -> {}", operation.name, status.as_u16());
        if status.is_success() {
            return Ok(response);
        }
        let error = amazon_error(operation.name, &response);
        Err(match status {
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => Error::AccessDenied(error),
            StatusCode::TOO_MANY_REQUESTS => Error::Throttled {
                // 429 carries neither Retry-After nor the rate header: wait one
                // restore period of the operation's default plan.
                retry_at: self.now() + Duration::seconds(operation.restore_seconds),
            },
            _ => Error::Amazon(error),
        })
    }
}

/// Decodes a 2xx JSON body.
pub fn decode<T: DeserializeOwned>(operation: &str, response: &HttpResponse) -> Result<T, Error> {
    serde_json::from_slice(response.body())
        .map_err(|e| Error::malformed(operation, describe_json_error(&e)))
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
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
