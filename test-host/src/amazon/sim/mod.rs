//! An in-process SP-API: Login with Amazon, Sellers, and Orders 2026-01-01 over a
//! [`World`] of orders that changes with the virtual clock, behind Amazon's default
//! usage plans (the component's own table, [`UsagePlan::ALL`]).
//!
//! Every answer carries `x-amzn-RequestId`, and every answer but a 429 carries
//! `x-amzn-RateLimit-Limit`, as Amazon's do. Each request takes `latency` of virtual
//! time, so the world can change between two pages of one import.

pub mod bucket;
pub mod catalog;
pub mod orders;
pub mod shipping;
pub mod v0;
pub mod world;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use amazon_marketplace::spapi::UsagePlan;
use bucket::TokenBucket;
pub use shipping::{Attempt, Shipping};
pub use world::{SimOrder, World, WorldSpec};

use super::{Amazon, Request, Response};
use crate::embed::runtime::VirtualClock;

/// Login with Amazon's host.
const LWA_HOST: &str = "api.amazon.com";
/// Lifetime of an issued access token, as Amazon's.
const ACCESS_TOKEN_LIFETIME: Duration = Duration::hours(1);

/// Calls and refusals per operation.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OperationCount {
    /// Calls answered (any status).
    pub calls: u64,
    /// Of those, 429s.
    pub throttled: u64,
}

/// The simulated Amazon.
pub struct Simulator {
    world: World,
    clock: VirtualClock,
    latency: Duration,
    /// The seller's marketplaces; the first is the store's.
    marketplaces: Vec<String>,
    buckets: BTreeMap<&'static str, TokenBucket>,
    access_tokens: BTreeMap<String, DateTime<Utc>>,
    counts: BTreeMap<String, OperationCount>,
    requests: u64,
    /// Orders served unreadable (no `orderItems`) this many more times.
    broken: BTreeMap<String, usize>,
    /// Rates Amazon granted this seller above the default plans.
    granted: BTreeMap<String, f64>,
    /// ASINs asked of getCatalogItem, in order.
    asins_read: Vec<String>,
    /// Shipment confirmations and feeds.
    shipping: Shipping,
}

impl Simulator {
    /// Amazon for one seller in `marketplaces` (the first is the store's), holding
    /// `world`, on `clock`.
    pub fn new(
        world: World,
        clock: VirtualClock,
        marketplaces: Vec<String>,
        latency: Duration,
    ) -> Self {
        Self {
            world,
            clock,
            latency,
            marketplaces,
            buckets: BTreeMap::new(),
            access_tokens: BTreeMap::new(),
            counts: BTreeMap::new(),
            requests: 0,
            broken: BTreeMap::new(),
            granted: BTreeMap::new(),
            asins_read: Vec::new(),
            shipping: Shipping::default(),
        }
    }

    /// Amazon's shipping side: every confirmation that reached it.
    pub fn shipping(&self) -> &Shipping {
        &self.shipping
    }

    /// The ASINs getCatalogItem was asked for, in order (repeats included).
    pub fn asins_read(&self) -> &[String] {
        &self.asins_read
    }

    /// Grants this seller `rate` for `operation` instead of the default plan, as
    /// Amazon does for sellers whose business needs more (it says so in
    /// `x-amzn-RateLimit-Limit`). Applies to buckets not used yet.
    pub fn grant_rate(&mut self, operation: &str, rate: f64) {
        self.granted.insert(operation.to_owned(), rate);
    }

    /// Amazon revokes every access token it issued (the seller changed the app's
    /// authorization, or Amazon rotated them): the next SP-API call gets a 403.
    pub fn revoke_access_tokens(&mut self) {
        self.access_tokens.clear();
    }

    /// Serves `order_id` without its required `orderItems` the next `times` times it
    /// is returned, as a damaged answer would.
    pub fn break_order(&mut self, order_id: &str, times: usize) {
        self.broken.insert(order_id.to_owned(), times);
    }

    fn damage(&mut self, mut response: Response) -> Response {
        if self.broken.values().all(|left| *left == 0) || response.status != 200 {
            return response;
        }
        let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
            return response;
        };
        let orders: Vec<&mut serde_json::Value> = match body.get_mut("orders") {
            Some(serde_json::Value::Array(orders)) => orders.iter_mut().collect(),
            _ => body.get_mut("order").into_iter().collect(),
        };
        for order in orders {
            let id = order["orderId"].as_str().unwrap_or_default().to_owned();
            if let Some(left) = self.broken.get_mut(&id).filter(|left| **left > 0) {
                *left -= 1;
                if let Some(map) = order.as_object_mut() {
                    map.remove("orderItems");
                }
            }
        }
        response.body = serde_json::to_vec(&body).unwrap_or_default();
        response
    }

    /// The world as it is now.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Applies the world's changes up to the clock.
    pub fn advance(&mut self) {
        self.world.advance_to(self.clock.now());
    }

    /// Calls and 429s per operation (`lwa-token` for Login with Amazon).
    pub fn counts(&self) -> &BTreeMap<String, OperationCount> {
        &self.counts
    }

    fn count(&mut self, operation: &str, throttled: bool) {
        let count = self.counts.entry(operation.to_owned()).or_default();
        count.calls += 1;
        count.throttled += u64::from(throttled);
    }

    fn lwa(&mut self, request: &Request, now: DateTime<Utc>) -> Response {
        self.count("lwa-token", false);
        let form: BTreeMap<String, String> =
            form_urlencoded::parse(&request.body).into_owned().collect();
        let filled = |k: &str| form.get(k).is_some_and(|v| !v.is_empty());
        if request.method != "POST"
            || form.get("grant_type").map(String::as_str) != Some("refresh_token")
            || !["refresh_token", "client_id", "client_secret"]
                .iter()
                .all(|k| filled(k))
        {
            return Response::json(
                400,
                &json!({"error": "invalid_request", "error_description": "The request is missing a required parameter"}),
            );
        }
        let token = format!("Atza|sim-{}", self.access_tokens.len() + 1);
        self.access_tokens
            .insert(token.clone(), now + ACCESS_TOKEN_LIFETIME);
        Response::json(
            200,
            &json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_LIFETIME.num_seconds(),
            }),
        )
    }

    fn sp_api(&mut self, request: &Request, url: &url::Url, now: DateTime<Utc>) -> Response {
        let Some(plan) = UsagePlan::find(&request.method, url.path()) else {
            return orders::error(404, "NotFound", "the resource was not found");
        };
        let authorized = request
            .header("x-amz-access-token")
            .and_then(|token| self.access_tokens.get(token))
            .is_some_and(|expires| *expires > now);
        if !authorized {
            self.count(plan.name, false);
            return orders::error(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
            );
        }
        let granted = self.granted.get(plan.name).copied();
        let bucket = self
            .buckets
            .entry(plan.name)
            .or_insert_with(|| match granted {
                Some(rate) => TokenBucket::with_rate(plan, rate, now),
                None => TokenBucket::new(plan, now),
            });
        if !bucket.try_take(now) {
            self.count(plan.name, true);
            return orders::error(
                429,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
            );
        }
        let rate = bucket.rate();
        self.count(plan.name, false);
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let response = match plan.name {
            "searchOrders" => orders::search_orders(&self.world, &query, now),
            "getOrder" => {
                let id = plan
                    .path_parameter(url.path(), "orderId")
                    .unwrap_or_default();
                orders::get_order(&self.world, id, &query)
            }
            "getCatalogItem" => {
                let asin = plan.path_parameter(url.path(), "asin").unwrap_or_default();
                self.asins_read.push(asin.to_owned());
                catalog::get_catalog_item(asin, &query)
            }
            "searchCatalogItems" => catalog::search_catalog_items(&query),
            "confirmShipment" => {
                let id = plan
                    .path_parameter(url.path(), "orderId")
                    .unwrap_or_default();
                let marketplace = self.marketplaces.first().cloned().unwrap_or_default();
                self.shipping.confirm_shipment(
                    &mut self.world,
                    id,
                    &request.body,
                    &marketplace,
                    now,
                )
            }
            "createFeedDocument" => self.shipping.create_feed_document(&request.body, now),
            "createFeed" => {
                let marketplace = self.marketplaces.first().cloned().unwrap_or_default();
                self.shipping.create_feed(&request.body, &marketplace, now)
            }
            "getFeed" => {
                let id = plan
                    .path_parameter(url.path(), "feedId")
                    .unwrap_or_default();
                self.shipping.get_feed(id, now)
            }
            "getFeeds" => self.shipping.get_feeds(&query, now),
            "getFeedDocument" => {
                let id = plan
                    .path_parameter(url.path(), "feedDocumentId")
                    .unwrap_or_default();
                self.shipping.get_feed_document(id, now)
            }
            "getMarketplaceParticipations" => {
                Response::json(200, &json!({"payload": self.participations()}))
            }
            "getOrders" => v0::get_orders(&self.world, &query),
            "getOrderItems" | "getOrderAddress" | "getOrderBuyerInfo" => {
                let id = plan
                    .path_parameter(url.path(), "orderId")
                    .unwrap_or_default();
                v0::per_order(&self.world, plan.name, id)
            }
            "getAccount" => Response::json(
                200,
                &json!({"payload": {
                    "marketplaceParticipationList": self.participations(),
                    "businessType": "PRIVATE_LIMITED",
                    "sellingPlan": "PROFESSIONAL",
                }}),
            ),
            other => orders::error(
                404,
                "NotFound",
                format!("the simulator does not serve {other}"),
            ),
        };
        self.damage(response)
            .with_header("x-amzn-RateLimit-Limit", format!("{rate}"))
    }

    fn participations(&self) -> serde_json::Value {
        self.marketplaces
            .iter()
            .map(|id| {
                let (name, country, currency, language, domain) = match id.as_str() {
                    "A2EUQ1WTGCTBG2" => ("Amazon.ca", "CA", "CAD", "en_CA", "www.amazon.ca"),
                    "A1AM78C64UM0Y8" => ("Amazon.com.mx", "MX", "MXN", "es_MX", "www.amazon.com.mx"),
                    _ => ("Amazon.com", "US", "USD", "en_US", "www.amazon.com"),
                };
                json!({
                    "marketplace": {
                        "id": id, "name": name, "countryCode": country, "defaultCurrencyCode": currency,
                        "defaultLanguageCode": language, "domainName": domain,
                    },
                    "storeName": "Simulated Store",
                    "participation": {"isParticipating": true, "hasSuspendedListings": false},
                })
            })
            .collect()
    }
}

impl Amazon for Simulator {
    fn respond(&mut self, request: &Request) -> Result<Response, String> {
        let now = self.clock.now();
        self.world.advance_to(now);
        self.shipping.process_due(&mut self.world, now);
        self.requests += 1;
        let url = url::Url::parse(&request.url).map_err(|e| format!("unusable URL: {e}"))?;
        let host = url.host_str().unwrap_or_default();
        let response = if host == LWA_HOST {
            self.lwa(request, now)
        } else if host.starts_with("sellingpartnerapi-")
            || host.starts_with("sandbox.sellingpartnerapi-")
        {
            self.sp_api(request, &url, now)
        } else if host == shipping::DOCUMENT_HOST {
            self.count("feed-document", false);
            self.shipping.document_host(request, &url, now)
        } else {
            return Err(format!("the simulator does not answer for host {host}"));
        };
        self.clock.set(now + self.latency);
        Ok(response.with_header(
            "x-amzn-RequestId",
            format!("00000000-0000-4000-8000-{:012}", self.requests),
        ))
    }
}
