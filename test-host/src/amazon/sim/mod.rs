//! An in-process SP-API: Login with Amazon, Sellers, Orders 2026-01-01, Catalog and
//! Feeds over a [`World`] of orders that changes with the virtual clock.
//!
//! Amazon's limits are applied as Amazon scopes them: one token bucket per
//! (application, seller authorisation, region, operation), shared by every
//! marketplace of the region and by every component instance that calls with that
//! authorisation. The plans come from the simulator's own table ([`plans`]), not
//! from the component's. Every answer carries `x-amzn-RequestId`, and every answer
//! but a 429 carries `x-amzn-RateLimit-Limit`, as Amazon's do. Each request takes
//! `latency` of virtual time, so the world can change between two pages of one
//! import.

pub mod bucket;
pub mod catalog;
pub mod marketplaces;
pub mod notifications;
pub mod orders;
pub mod plans;
pub mod shipping;
pub mod subscriptions;
pub mod v0;
pub mod world;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use bucket::TokenBucket;
use marketplaces::Region;
use plans::Route;
pub use shipping::{Attempt, Shipping};
pub use world::{SimOrder, World, WorldSpec};

use super::{Amazon, NoAnswer, Request, Response};
use crate::embed::runtime::VirtualClock;

/// Login with Amazon's host.
const LWA_HOST: &str = "api.amazon.com";
/// The scope of a grantless token for the Notifications API.
const NOTIFICATIONS_SCOPE: &str = "sellingpartnerapi::notifications";
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

/// Who a usage plan belongs to: one seller's authorisation of one application,
/// as the access token stands for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Authorisation {
    /// The application's LWA client id.
    application: String,
    /// The refresh token the seller's authorisation issued: one per seller,
    /// application and region.
    seller: String,
}

/// One token bucket's owner and operation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BucketKey {
    authorisation: Authorisation,
    region: Region,
    sandbox: bool,
    operation: &'static str,
}

/// An access token Amazon issued, and until when it is good.
#[derive(Debug, Clone)]
struct AccessToken {
    authorisation: Authorisation,
    expires: DateTime<Utc>,
}

/// The simulated Amazon.
pub struct Simulator {
    world: World,
    clock: VirtualClock,
    latency: Duration,
    /// The seller's marketplaces, in every region.
    marketplaces: Vec<String>,
    buckets: BTreeMap<BucketKey, TokenBucket>,
    access_tokens: BTreeMap<String, AccessToken>,
    counts: BTreeMap<String, OperationCount>,
    requests: u64,
    /// Orders served unreadable (no `orderItems`) this many more times.
    broken: BTreeMap<String, usize>,
    /// (rate, burst) Amazon gives this seller instead of the default plans.
    plan_overrides: BTreeMap<String, (f64, u32)>,
    /// ASINs asked of getCatalogItem, in order.
    asins_read: Vec<String>,
    /// Shipment confirmations and feeds.
    shipping: Shipping,
    /// ORDER_CHANGE notifications and the app's queue, once the seller subscribed.
    order_events: Option<notifications::OrderEvents>,
    /// How the notifications behave once the seller subscribes.
    event_spec: Option<notifications::EventSpec>,
    /// The Notifications API's destinations and subscriptions.
    subscriptions: subscriptions::Subscriptions,
    /// The application lacks the role for notifications: every Notifications
    /// call is refused.
    notifications_denied: bool,
}

impl Simulator {
    /// Amazon for one seller in `marketplaces`, holding `world`, on `clock`.
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
            plan_overrides: BTreeMap::new(),
            asins_read: Vec::new(),
            shipping: Shipping::default(),
            order_events: None,
            event_spec: None,
            subscriptions: subscriptions::Subscriptions::default(),
            notifications_denied: false,
        }
    }

    /// The application loses the role the Notifications API needs.
    pub fn deny_notifications(&mut self) {
        self.notifications_denied = true;
    }

    /// How ORDER_CHANGE notifications behave once the seller subscribes (by
    /// default: 2 % twice, 1 % lost, for the simulated seller id).
    pub fn configure_order_events(&mut self, spec: notifications::EventSpec) {
        self.event_spec = Some(spec);
    }

    /// From now on every change publishes a notification into the application's
    /// queue, naming `subscription_id`.
    fn start_order_events(&mut self, subscription_id: &str) {
        let mut spec = self.event_spec.clone().unwrap_or_else(|| {
            notifications::EventSpec::new(1, crate::drive::scenario::PLACEHOLDER_SELLER_ID)
        });
        spec.subscription_id = subscription_id.to_owned();
        self.world.take_changed();
        self.order_events = Some(notifications::OrderEvents::new(spec));
    }

    /// The application's queue, when notifications are on.
    pub fn order_events(&self) -> Option<&notifications::OrderEvents> {
        self.order_events.as_ref()
    }

    /// The application's queue, to receive from.
    pub fn order_events_mut(&mut self) -> Option<&mut notifications::OrderEvents> {
        self.order_events.as_mut()
    }

    /// Publishes a notification of every change since the last call.
    fn publish_changes(&mut self) {
        let changed = self.world.take_changed();
        let Some(events) = self.order_events.as_mut() else {
            return;
        };
        for id in changed {
            if let Some(order) = self.world.order(&id) {
                // Amazon publishes as it changes the order.
                events.publish(order, order.updated);
            }
        }
    }

    /// Amazon stores every processing report from now on gzip-compressed
    /// (getFeedDocument says `compressionAlgorithm: GZIP`).
    pub fn compress_reports(&mut self) {
        self.shipping.compress_reports();
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
        let burst = plans::PLANS
            .iter()
            .find(|plan| plan.operation == operation)
            .map_or(1, |plan| plan.burst);
        self.set_plan(operation, rate, burst);
    }

    /// Gives this seller `rate` and `burst` for `operation` instead of the default
    /// plan, lower ones included. Applies to buckets not used yet.
    pub fn set_plan(&mut self, operation: &str, rate: f64, burst: u32) {
        self.plan_overrides
            .insert(operation.to_owned(), (rate, burst));
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
        self.publish_changes();
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
        let grant = form.get("grant_type").map(String::as_str);
        // A grantless token names the application and a scope, and no seller.
        let grantless = grant == Some("client_credentials")
            && form.get("scope").map(String::as_str) == Some(NOTIFICATIONS_SCOPE)
            && !form.contains_key("refresh_token");
        let seller = grant == Some("refresh_token") && filled("refresh_token");
        if request.method != "POST"
            || !(grantless || seller)
            || !["client_id", "client_secret"].iter().all(|k| filled(k))
        {
            return Response::json(
                400,
                &json!({"error": "invalid_request", "error_description": "The request is missing a required parameter"}),
            );
        }
        let token = format!("Atza|sim-{}", self.access_tokens.len() + 1);
        let authorisation = Authorisation {
            application: form["client_id"].clone(),
            seller: form.get("refresh_token").cloned().unwrap_or_default(),
        };
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                authorisation,
                expires: now + ACCESS_TOKEN_LIFETIME,
            },
        );
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
        let host = url.host_str().unwrap_or_default();
        let (Some(region), Some(route)) = (
            Region::of_host(host),
            Route::find(&request.method, url.path()),
        ) else {
            return orders::error(404, "NotFound", "the resource was not found");
        };
        let (rate, authorisation) =
            match self.admit(request, &route, region, host.starts_with("sandbox."), now) {
                Ok(admitted) => admitted,
                Err(refused) => return refused,
            };
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let response = if route.plan.path.starts_with("/notifications/") {
            self.notifications_api(request, &route, &authorisation)
        } else {
            self.serve(request, &route, region, &query, now)
        };
        self.damage(response)
            .with_header("x-amzn-RateLimit-Limit", format!("{rate}"))
    }

    /// Checks the access token and takes a token from the bucket of its
    /// authorisation in `region`: the plan's rate, or Amazon's refusal.
    fn admit(
        &mut self,
        request: &Request,
        route: &Route,
        region: Region,
        sandbox: bool,
        now: DateTime<Utc>,
    ) -> Result<(f64, Authorisation), Response> {
        let plan = route.plan;
        let authorisation = request
            .header("x-amz-access-token")
            .and_then(|token| self.access_tokens.get(token))
            .filter(|token| token.expires > now)
            .map(|token| token.authorisation.clone());
        // A grantless operation takes the application's token only, and every
        // other one a seller's.
        let grantless = plans::GRANTLESS.contains(&plan.operation);
        let Some(authorisation) = authorisation.filter(|a| a.seller.is_empty() == grantless) else {
            self.count(plan.operation, false);
            return Err(orders::error(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
            ));
        };
        let (rate, burst) = match (sandbox, self.plan_overrides.get(plan.operation)) {
            (true, _) => plans::SANDBOX,
            (false, Some(granted)) => *granted,
            (false, None) => (plan.rate, plan.burst),
        };
        let key = BucketKey {
            authorisation: authorisation.clone(),
            region,
            sandbox,
            operation: plan.operation,
        };
        let bucket = self
            .buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::new(rate, burst, now));
        let admitted = bucket.try_take(now);
        let rate = bucket.rate();
        self.count(plan.operation, !admitted);
        if admitted {
            Ok((rate, authorisation))
        } else {
            Err(orders::error(
                429,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
            ))
        }
    }

    /// The answer of an admitted Notifications API call.
    fn notifications_api(
        &mut self,
        request: &Request,
        route: &Route,
        authorisation: &Authorisation,
    ) -> Response {
        if self.notifications_denied {
            return orders::error(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
            );
        }
        let (application, seller) = (&authorisation.application, &authorisation.seller);
        let kind = route.parameter("notificationType");
        let subscriptions = &mut self.subscriptions;
        let response = match route.plan.operation {
            "getDestinations" => subscriptions.get_destinations(application),
            "createDestination" => subscriptions.create_destination(application, &request.body),
            "getSubscription" => subscriptions.get_subscription(application, seller, kind),
            "createSubscription" => {
                subscriptions.create_subscription(application, seller, kind, &request.body)
            }
            "deleteSubscriptionById" => subscriptions.delete_subscription(
                application,
                kind,
                route.parameter("subscriptionId"),
            ),
            other => orders::error(
                404,
                "NotFound",
                format!("the simulator does not serve {other}"),
            ),
        };
        // Amazon publishes from the moment the subscription exists, until it goes.
        match self.subscriptions.order_change().map(|s| s.id.clone()) {
            Some(id) if self.order_events.is_none() => self.start_order_events(&id),
            None => self
                .order_events
                .iter_mut()
                .for_each(|events| events.stop()),
            Some(_) => {}
        }
        response
    }

    /// The answer of an admitted call.
    fn serve(
        &mut self,
        request: &Request,
        route: &Route,
        region: Region,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Response {
        let operation = route.plan.operation;
        match operation {
            "searchOrders" => orders::search_orders(&self.world, query, region, now),
            "getOrder" => orders::get_order(&self.world, route.parameter("orderId"), query),
            "getCatalogItem" => {
                let asin = route.parameter("asin");
                self.asins_read.push(asin.to_owned());
                catalog::get_catalog_item(asin, query)
            }
            "searchCatalogItems" => catalog::search_catalog_items(query),
            "confirmShipment" => {
                let id = route.parameter("orderId");
                // Amazon wants the order's own marketplace in the body.
                let marketplace = self.world.order(id).map_or_else(
                    || self.marketplaces.first().cloned().unwrap_or_default(),
                    |order| order.marketplace.clone(),
                );
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
                let sold_in = self.marketplaces_in(region);
                self.shipping.create_feed(&request.body, &sold_in, now)
            }
            "getFeed" => self.shipping.get_feed(route.parameter("feedId"), now),
            "getFeeds" => self.shipping.get_feeds(query, now),
            "getFeedDocument" => self
                .shipping
                .get_feed_document(route.parameter("feedDocumentId"), now),
            "getMarketplaceParticipations" => {
                Response::json(200, &json!({"payload": self.participations(region)}))
            }
            "getOrders" => v0::get_orders(&self.world, query),
            "getOrderItems" | "getOrderAddress" | "getOrderBuyerInfo" => {
                v0::per_order(&self.world, operation, route.parameter("orderId"))
            }
            "getAccount" => Response::json(
                200,
                &json!({"payload": {
                    "marketplaceParticipationList": self.participations(region),
                    "businessType": "PRIVATE_LIMITED",
                    "sellingPlan": "PROFESSIONAL",
                }}),
            ),
            other => orders::error(
                404,
                "NotFound",
                format!("the simulator does not serve {other}"),
            ),
        }
    }

    /// The seller's marketplaces that `region` serves.
    fn marketplaces_in(&self, region: Region) -> Vec<String> {
        self.marketplaces
            .iter()
            .filter(|id| marketplaces::find(id).is_some_and(|m| m.region == region))
            .cloned()
            .collect()
    }

    /// The seller's participations as the Sellers API lists them: the
    /// marketplaces of the region whose endpoint was asked (an authorisation is
    /// regional).
    fn participations(&self, region: Region) -> serde_json::Value {
        self.marketplaces_in(region)
            .iter()
            .filter_map(|id| marketplaces::find(id))
            .map(|m| {
                json!({
                    "marketplace": {
                        "id": m.id, "name": m.site, "countryCode": m.country,
                        "defaultCurrencyCode": m.currency, "defaultLanguageCode": m.language,
                        "domainName": format!("www.{}", m.site.to_lowercase()),
                    },
                    "storeName": "Simulated Store",
                    "participation": {"isParticipating": true, "hasSuspendedListings": false},
                })
            })
            .collect()
    }
}

impl Amazon for Simulator {
    fn respond(&mut self, request: &Request) -> Result<Response, NoAnswer> {
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
            return Err(format!("the simulator does not answer for host {host}").into());
        };
        self.publish_changes();
        self.clock.set(now + self.latency);
        Ok(response.with_header(
            "x-amzn-RequestId",
            format!("00000000-0000-4000-8000-{:012}", self.requests),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: &str = "ATVPDKIKX0DER";
    const UK: &str = "A1F83G8C2ARO7P";
    const DE: &str = "A1PA6795UKMFR9";
    const FR: &str = "A13V1IB3VIYZZH";
    const EU: &str = "https://sellingpartnerapi-eu.amazon.com";
    const NA: &str = "https://sellingpartnerapi-na.amazon.com";

    fn simulator(marketplaces: &[&str]) -> Simulator {
        let start: DateTime<Utc> = "2026-11-20T15:00:00Z".parse().unwrap();
        let spec = WorldSpec {
            orders: 30,
            marketplaces: marketplaces.iter().map(|m| m.to_string()).collect(),
            ..WorldSpec::default()
        };
        Simulator::new(
            World::generate(&spec, start),
            VirtualClock::new(start),
            marketplaces.iter().map(|m| m.to_string()).collect(),
            Duration::zero(),
        )
    }

    fn request(method: &str, url: String, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: method.into(),
            url,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// An access token for `seller`'s authorisation of `application`.
    fn token(amazon: &mut Simulator, application: &str, seller: &str) -> String {
        let form = format!(
            "grant_type=refresh_token&refresh_token={seller}&client_id={application}&client_secret=s"
        );
        let url = "https://api.amazon.com/auth/o2/token".to_owned();
        let answer = amazon.respond(&request("POST", url, &[], &form)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn search(amazon: &mut Simulator, host: &str, token: &str, marketplaces: &str) -> Response {
        let url = format!(
            "{host}/orders/2026-01-01/orders?lastUpdatedAfter=2026-11-01T00:00:00Z&marketplaceIds={marketplaces}"
        );
        let headers = [("x-amz-access-token", token)];
        amazon.respond(&request("GET", url, &headers, "")).unwrap()
    }

    /// searchOrders calls answered before the first 429.
    fn burst(amazon: &mut Simulator, host: &str, token: &str, marketplaces: &str) -> usize {
        (0..100)
            .take_while(|_| search(amazon, host, token, marketplaces).status == 200)
            .count()
    }

    #[test]
    fn one_bucket_per_application_seller_and_region_whatever_the_marketplace() {
        let mut amazon = simulator(&[UK, DE, FR, US]);
        let seller = token(&mut amazon, "app-1", "seller-1");
        assert_eq!(burst(&mut amazon, EU, &seller, UK), 20);
        // Another marketplace of the region, another access token of the same
        // authorisation: the same bucket, already empty.
        let again = token(&mut amazon, "app-1", "seller-1");
        assert_eq!(search(&mut amazon, EU, &again, DE).status, 429);
        assert_eq!(
            search(&mut amazon, EU, &seller, &format!("{DE},{FR}")).status,
            429
        );
        // Another region, another seller, another application: buckets of their own.
        assert_eq!(burst(&mut amazon, NA, &seller, US), 20);
        let other_seller = token(&mut amazon, "app-1", "seller-2");
        assert_eq!(burst(&mut amazon, EU, &other_seller, UK), 20);
        let other_app = token(&mut amazon, "app-2", "seller-1");
        assert_eq!(search(&mut amazon, EU, &other_app, UK).status, 200);
        // The first 429 of each of the three bursts, and the two refusals above.
        assert_eq!(amazon.counts()["searchOrders"].throttled, 5);
    }

    #[test]
    fn the_plans_are_the_simulator_s_own_and_can_be_lowered() {
        let mut amazon = simulator(&[UK]);
        amazon.set_plan("searchOrders", 0.0056, 10);
        let seller = token(&mut amazon, "app", "seller");
        assert_eq!(burst(&mut amazon, EU, &seller, UK), 10);
        let sandbox = "https://sandbox.sellingpartnerapi-eu.amazon.com";
        let answer = search(&mut amazon, sandbox, &seller, UK);
        let limit = answer
            .headers
            .iter()
            .find(|(name, _)| name == "x-amzn-RateLimit-Limit");
        assert_eq!(limit.map(|(_, rate)| rate.as_str()), Some("5"));
    }

    #[test]
    fn a_search_reads_the_union_of_its_region_s_marketplaces_only() {
        let mut amazon = simulator(&[UK, DE, FR]);
        let seller = token(&mut amazon, "app", "seller");
        let ids = |answer: &Response| -> BTreeMap<String, usize> {
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            let mut by_marketplace = BTreeMap::new();
            for order in body["orders"].as_array().unwrap() {
                let id = order["salesChannel"]["marketplaceId"].as_str().unwrap();
                *by_marketplace.entry(id.to_owned()).or_default() += 1;
            }
            by_marketplace
        };
        let both = search(&mut amazon, EU, &seller, &format!("{UK},{DE}"));
        assert_eq!(
            ids(&both),
            BTreeMap::from([(UK.into(), 10), (DE.into(), 10)])
        );
        let foreign = search(&mut amazon, EU, &seller, &format!("{UK},{US}"));
        assert_eq!(foreign.status, 403);
        assert!(String::from_utf8_lossy(&foreign.body).contains("not valid for region"));
        assert_eq!(
            search(&mut amazon, EU, &seller, "NOT-A-MARKETPLACE").status,
            400
        );
        let url = format!("{NA}/sellers/v1/marketplaceParticipations");
        let answer = amazon
            .respond(&request("GET", url, &[("x-amz-access-token", &seller)], ""))
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(
            body["payload"],
            serde_json::json!([]),
            "no NA participation"
        );
    }

    #[test]
    fn each_marketplace_s_orders_are_in_its_currency_and_japan_s_in_kanji() {
        let amazon = simulator(&[JP, "A1C3SOZRARQ6R3"]);
        let currencies: BTreeMap<&str, &str> = amazon
            .world()
            .orders()
            .map(|o| {
                let currency = o.json["proceeds"]["grandTotal"]["currencyCode"].as_str();
                (o.marketplace.as_str(), currency.unwrap())
            })
            .collect();
        assert_eq!(
            currencies,
            BTreeMap::from([(JP, "JPY"), ("A1C3SOZRARQ6R3", "PLN")])
        );
        let japanese = amazon
            .world()
            .orders()
            .find(|o| o.marketplace == JP && o.json.get("buyer").is_some())
            .unwrap();
        let address = &japanese.json["recipient"]["deliveryAddress"];
        assert_eq!(address["stateOrRegion"], "東京都");
        assert!(!address["addressLine1"].as_str().unwrap().is_ascii());
        let yen = japanese.json["proceeds"]["grandTotal"]["amount"]
            .as_str()
            .unwrap();
        assert!(yen.bytes().all(|b| b.is_ascii_digit()), "{yen}");
    }

    const JP: &str = marketplaces::JAPAN;

    #[test]
    fn grantless_operations_take_the_application_s_token_and_seller_ones_the_seller_s() {
        let mut amazon = simulator(&[US]);
        let seller = token(&mut amazon, "app-1", "Atzr|seller");
        let form = "grant_type=client_credentials&scope=sellingpartnerapi::notifications&client_id=app-1&client_secret=s";
        let url = "https://api.amazon.com/auth/o2/token".to_owned();
        let answer = amazon.respond(&request("POST", url, &[], form)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        let application = body["access_token"].as_str().unwrap().to_owned();
        let call = |amazon: &mut Simulator, method: &str, path: &str, token: &str, body: &str| {
            let url = format!("{NA}{path}");
            let headers = [("x-amz-access-token", token)];
            amazon
                .respond(&request(method, url, &headers, body))
                .unwrap()
                .status
        };
        let destinations = "/notifications/v1/destinations";
        assert_eq!(call(&mut amazon, "GET", destinations, &seller, ""), 403);
        assert_eq!(
            call(&mut amazon, "GET", destinations, &application, ""),
            200
        );
        let arn =
            r#"{"name":"q","resourceSpecification":{"sqs":{"arn":"arn:aws:sqs:us-east-1:1:q"}}}"#;
        assert_eq!(
            call(&mut amazon, "POST", destinations, &application, arn),
            200
        );
        assert_eq!(
            call(&mut amazon, "POST", destinations, &application, arn),
            409
        );
        let subscription = "/notifications/v1/subscriptions/ORDER_CHANGE";
        assert_eq!(
            call(&mut amazon, "GET", subscription, &application, ""),
            403
        );
        assert_eq!(call(&mut amazon, "GET", subscription, &seller, ""), 404);
        assert_eq!(
            call(
                &mut amazon,
                "GET",
                "/orders/2026-01-01/orders/1-2-3",
                &application,
                ""
            ),
            403
        );
        assert!(
            amazon.order_events().is_none(),
            "nothing published before a subscription"
        );
        let made = r#"{"payloadVersion":"1.0","destinationId":"destination-00000000-0000-4000-a000-000000000001"}"#;
        assert_eq!(call(&mut amazon, "POST", subscription, &seller, made), 200);
        assert_eq!(call(&mut amazon, "POST", subscription, &seller, made), 409);
        assert!(amazon.order_events().is_some());
        // Five a second at most, from a burst of five.
        let statuses: Vec<u16> = (0..6)
            .map(|_| call(&mut amazon, "GET", subscription, &seller, ""))
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count(),
            2,
            "{statuses:?}"
        );
    }
}
