//! Amazon's default usage plans: one token bucket per (seller, operation), with the
//! rate and burst each operation's model states (spapi-reference.md §3.3).
//!
//! This table is the single copy: the component paces itself from it, and the test
//! host's SP-API simulator enforces it.

/// One SP-API operation and its default usage plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsagePlan {
    /// Amazon's operationId, used in errors, logs and storage keys.
    pub name: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path template as Amazon's model writes it, e.g. `/orders/2026-01-01/orders/{orderId}`.
    pub path: &'static str,
    /// Tokens restored per second.
    pub rate: f64,
    /// Bucket size: how many calls can be made at once from a full bucket.
    pub burst: u32,
    /// Deprecated by Amazon: the component never calls it (the simulator serves it
    /// for the benchmark's per-order baseline only).
    pub deprecated: bool,
}

/// Operation constants, so code names an operation rather than a string.
pub type Operation = UsagePlan;

const fn plan(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    rate: f64,
    burst: u32,
) -> UsagePlan {
    UsagePlan {
        name,
        method,
        path,
        rate,
        burst,
        deprecated: false,
    }
}

const fn deprecated(mut plan: UsagePlan) -> UsagePlan {
    plan.deprecated = true;
    plan
}

impl UsagePlan {
    /// Sellers getMarketplaceParticipations.
    pub const MARKETPLACE_PARTICIPATIONS: Self = plan(
        "getMarketplaceParticipations",
        "GET",
        "/sellers/v1/marketplaceParticipations",
        0.016,
        15,
    );
    /// Sellers getAccount.
    pub const ACCOUNT: Self = plan("getAccount", "GET", "/sellers/v1/account", 0.016, 15);
    /// Orders 2026-01-01 searchOrders: one token every ~179 s, burst 20.
    pub const SEARCH_ORDERS: Self = plan(
        "searchOrders",
        "GET",
        "/orders/2026-01-01/orders",
        0.0056,
        20,
    );
    /// Orders 2026-01-01 getOrder.
    pub const GET_ORDER: Self = plan(
        "getOrder",
        "GET",
        "/orders/2026-01-01/orders/{orderId}",
        0.5,
        30,
    );
    /// Orders v0 confirmShipment.
    pub const CONFIRM_SHIPMENT: Self = plan(
        "confirmShipment",
        "POST",
        "/orders/v0/orders/{orderId}/shipmentConfirmation",
        2.0,
        10,
    );
    /// Catalog Items 2022-04-01 getCatalogItem.
    pub const GET_CATALOG_ITEM: Self = plan(
        "getCatalogItem",
        "GET",
        "/catalog/2022-04-01/items/{asin}",
        2.0,
        2,
    );
    /// Catalog Items 2022-04-01 searchCatalogItems.
    pub const SEARCH_CATALOG_ITEMS: Self = plan(
        "searchCatalogItems",
        "GET",
        "/catalog/2022-04-01/items",
        2.0,
        2,
    );
    /// Feeds createFeedDocument.
    pub const CREATE_FEED_DOCUMENT: Self = plan(
        "createFeedDocument",
        "POST",
        "/feeds/2021-06-30/documents",
        0.5,
        15,
    );
    /// Feeds createFeed: one token every two minutes, burst 15.
    pub const CREATE_FEED: Self = plan("createFeed", "POST", "/feeds/2021-06-30/feeds", 0.0083, 15);
    /// Feeds getFeed.
    pub const GET_FEED: Self = plan(
        "getFeed",
        "GET",
        "/feeds/2021-06-30/feeds/{feedId}",
        2.0,
        15,
    );
    /// Feeds getFeeds.
    pub const GET_FEEDS: Self = plan("getFeeds", "GET", "/feeds/2021-06-30/feeds", 0.0222, 10);
    /// Feeds getFeedDocument.
    pub const GET_FEED_DOCUMENT: Self = plan(
        "getFeedDocument",
        "GET",
        "/feeds/2021-06-30/documents/{feedDocumentId}",
        0.0222,
        10,
    );
    /// Notifications getDestinations (grantless).
    pub const GET_DESTINATIONS: Self = plan(
        "getDestinations",
        "GET",
        "/notifications/v1/destinations",
        1.0,
        5,
    );
    /// Notifications createDestination (grantless).
    pub const CREATE_DESTINATION: Self = plan(
        "createDestination",
        "POST",
        "/notifications/v1/destinations",
        1.0,
        5,
    );
    /// Notifications getSubscription (the seller's token).
    pub const GET_SUBSCRIPTION: Self = plan(
        "getSubscription",
        "GET",
        "/notifications/v1/subscriptions/{notificationType}",
        1.0,
        5,
    );
    /// Notifications createSubscription (the seller's token).
    pub const CREATE_SUBSCRIPTION: Self = plan(
        "createSubscription",
        "POST",
        "/notifications/v1/subscriptions/{notificationType}",
        1.0,
        5,
    );
    /// Orders v0 getOrders (deprecated).
    pub const V0_GET_ORDERS: Self =
        deprecated(plan("getOrders", "GET", "/orders/v0/orders", 0.0167, 20));
    /// Orders v0 getOrderItems (deprecated).
    pub const V0_GET_ORDER_ITEMS: Self = deprecated(plan(
        "getOrderItems",
        "GET",
        "/orders/v0/orders/{orderId}/orderItems",
        0.5,
        30,
    ));
    /// Orders v0 getOrderAddress (deprecated).
    pub const V0_GET_ORDER_ADDRESS: Self = deprecated(plan(
        "getOrderAddress",
        "GET",
        "/orders/v0/orders/{orderId}/address",
        0.5,
        30,
    ));
    /// Orders v0 getOrderBuyerInfo (deprecated).
    pub const V0_GET_ORDER_BUYER_INFO: Self = deprecated(plan(
        "getOrderBuyerInfo",
        "GET",
        "/orders/v0/orders/{orderId}/buyerInfo",
        0.5,
        30,
    ));

    /// Every plan, for lookups by method and path.
    pub const ALL: [Self; 20] = [
        Self::MARKETPLACE_PARTICIPATIONS,
        Self::ACCOUNT,
        Self::SEARCH_ORDERS,
        Self::GET_ORDER,
        Self::CONFIRM_SHIPMENT,
        Self::GET_CATALOG_ITEM,
        Self::SEARCH_CATALOG_ITEMS,
        Self::CREATE_FEED_DOCUMENT,
        Self::CREATE_FEED,
        Self::GET_FEED,
        Self::GET_FEEDS,
        Self::GET_FEED_DOCUMENT,
        Self::GET_DESTINATIONS,
        Self::CREATE_DESTINATION,
        Self::GET_SUBSCRIPTION,
        Self::CREATE_SUBSCRIPTION,
        Self::V0_GET_ORDERS,
        Self::V0_GET_ORDER_ITEMS,
        Self::V0_GET_ORDER_ADDRESS,
        Self::V0_GET_ORDER_BUYER_INFO,
    ];

    /// Seconds for an empty bucket to earn one token.
    pub fn seconds_per_token(&self) -> f64 {
        1.0 / self.rate
    }

    /// The operation serving `method path`, matching `{placeholders}` against one
    /// path segment each. A literal path wins over a template (`/orders` is
    /// searchOrders, not getOrder).
    pub fn find(method: &str, path: &str) -> Option<&'static UsagePlan> {
        let exact = Self::ALL
            .iter()
            .find(|plan| plan.method.eq_ignore_ascii_case(method) && plan.path == path);
        exact.or_else(|| {
            Self::ALL.iter().find(|plan| {
                plan.method.eq_ignore_ascii_case(method) && template_matches(plan.path, path)
            })
        })
    }

    /// The value of `{name}` in `path`, for a path this plan serves.
    pub fn path_parameter<'p>(&self, path: &'p str, name: &str) -> Option<&'p str> {
        let wanted = format!("{{{name}}}");
        self.path
            .split('/')
            .zip(path.split('/'))
            .find(|(template, _)| *template == wanted)
            .map(|(_, value)| value)
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let (mut template, mut path) = (template.split('/'), path.split('/'));
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_orders_refills_one_token_about_every_three_minutes() {
        let seconds = UsagePlan::SEARCH_ORDERS.seconds_per_token();
        assert!((178.0..179.0).contains(&seconds), "{seconds}");
        assert_eq!(UsagePlan::SEARCH_ORDERS.burst, 20);
    }

    #[test]
    fn lookups_match_templates_and_prefer_literal_paths() {
        let search = UsagePlan::find("GET", "/orders/2026-01-01/orders").unwrap();
        assert_eq!(search.name, "searchOrders");
        let get = UsagePlan::find("GET", "/orders/2026-01-01/orders/113-1234567-1234567").unwrap();
        assert_eq!(get.name, "getOrder");
        assert_eq!(
            get.path_parameter("/orders/2026-01-01/orders/113-1234567-1234567", "orderId"),
            Some("113-1234567-1234567")
        );
        let confirm =
            UsagePlan::find("POST", "/orders/v0/orders/1-2-3/shipmentConfirmation").unwrap();
        assert_eq!(confirm.name, "confirmShipment");
        assert!(UsagePlan::find("GET", "/orders/2026-01-01/orders/a/b").is_none());
        assert!(UsagePlan::find("DELETE", "/orders/2026-01-01/orders").is_none());
    }
}
