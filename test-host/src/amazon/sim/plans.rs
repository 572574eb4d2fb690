//! The simulator's own usage plans, written from the rate and burst in each
//! operation's model (spapi-reference.md §3.3), and the routes they belong to.
//!
//! This table is Amazon's side and deliberately not the component's
//! (`amazon_marketplace::spapi::UsagePlan`): the simulator is the oracle, so an
//! entry the component gets wrong shows up as a 429 here instead of agreeing with
//! itself.

/// One operation Amazon serves, and its default usage plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Amazon's operationId.
    pub operation: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// The path as the model writes it, parameters in braces.
    pub path: &'static str,
    /// Tokens restored per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

const fn plan(
    operation: &'static str,
    method: &'static str,
    path: &'static str,
    rate: f64,
    burst: u32,
) -> Plan {
    Plan {
        operation,
        method,
        path,
        rate,
        burst,
    }
}

/// Every operation the simulator serves. Literal paths come before templated ones
/// of the same shape, so `/feeds/2021-06-30/documents` is never `{feedDocumentId}`.
pub const PLANS: [Plan; 23] = [
    plan(
        "searchOrders",
        "GET",
        "/orders/2026-01-01/orders",
        0.0056,
        20,
    ),
    plan(
        "getOrder",
        "GET",
        "/orders/2026-01-01/orders/{orderId}",
        0.5,
        30,
    ),
    plan("getOrders", "GET", "/orders/v0/orders", 0.0167, 20),
    plan(
        "getOrderItems",
        "GET",
        "/orders/v0/orders/{orderId}/orderItems",
        0.5,
        30,
    ),
    plan(
        "getOrderAddress",
        "GET",
        "/orders/v0/orders/{orderId}/address",
        0.5,
        30,
    ),
    plan(
        "getOrderBuyerInfo",
        "GET",
        "/orders/v0/orders/{orderId}/buyerInfo",
        0.5,
        30,
    ),
    plan(
        "confirmShipment",
        "POST",
        "/orders/v0/orders/{orderId}/shipmentConfirmation",
        2.0,
        10,
    ),
    plan(
        "getMarketplaceParticipations",
        "GET",
        "/sellers/v1/marketplaceParticipations",
        0.016,
        15,
    ),
    plan("getAccount", "GET", "/sellers/v1/account", 0.016, 15),
    plan(
        "createFeedDocument",
        "POST",
        "/feeds/2021-06-30/documents",
        0.5,
        15,
    ),
    plan("createFeed", "POST", "/feeds/2021-06-30/feeds", 0.0083, 15),
    plan("getFeeds", "GET", "/feeds/2021-06-30/feeds", 0.0222, 10),
    plan(
        "getFeed",
        "GET",
        "/feeds/2021-06-30/feeds/{feedId}",
        2.0,
        15,
    ),
    plan(
        "cancelFeed",
        "DELETE",
        "/feeds/2021-06-30/feeds/{feedId}",
        2.0,
        15,
    ),
    plan(
        "getFeedDocument",
        "GET",
        "/feeds/2021-06-30/documents/{feedDocumentId}",
        0.0222,
        10,
    ),
    plan(
        "searchCatalogItems",
        "GET",
        "/catalog/2022-04-01/items",
        2.0,
        2,
    ),
    plan(
        "getCatalogItem",
        "GET",
        "/catalog/2022-04-01/items/{asin}",
        2.0,
        2,
    ),
    plan(
        "getDestinations",
        "GET",
        "/notifications/v1/destinations",
        1.0,
        5,
    ),
    plan(
        "createDestination",
        "POST",
        "/notifications/v1/destinations",
        1.0,
        5,
    ),
    plan(
        "getSubscription",
        "GET",
        "/notifications/v1/subscriptions/{notificationType}",
        1.0,
        5,
    ),
    plan(
        "createSubscription",
        "POST",
        "/notifications/v1/subscriptions/{notificationType}",
        1.0,
        5,
    ),
    plan(
        "deleteSubscriptionById",
        "DELETE",
        "/notifications/v1/subscriptions/{notificationType}/{subscriptionId}",
        1.0,
        5,
    ),
    plan(
        "createRestrictedDataToken",
        "POST",
        "/tokens/2021-03-01/restrictedDataToken",
        1.0,
        10,
    ),
];

/// The operations called with a grantless token (the application's alone); every
/// other one needs a seller's.
pub const GRANTLESS: [&str; 3] = [
    "getDestinations",
    "createDestination",
    "deleteSubscriptionById",
];

/// Every sandbox operation: "limited to rate 5 requests/s and burst 15".
pub const SANDBOX: (f64, u32) = (5.0, 15);

/// A request matched to its operation, with the path's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Route<'p> {
    /// The operation and its plan.
    pub plan: &'static Plan,
    parameters: Vec<(&'static str, &'p str)>,
}

impl<'p> Route<'p> {
    /// The operation serving `method` and `path`, if Amazon has one.
    pub fn find(method: &str, path: &'p str) -> Option<Self> {
        PLANS
            .iter()
            .filter(|plan| plan.method == method)
            .find_map(|plan| bind(plan.path, path).map(|parameters| Self { plan, parameters }))
    }

    /// The value of the path parameter `name` (`orderId` ...), empty when the
    /// operation has none of that name.
    pub fn parameter(&self, name: &str) -> &'p str {
        self.parameters
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, value)| value)
    }
}

/// The parameters of `path` when it has the shape of `template`.
fn bind<'p>(template: &'static str, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    let mut parameters = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(parameters),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                parameters.push((&w[1..w.len() - 1], g));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_bind_parameters_and_prefer_literal_paths() {
        let get = Route::find("GET", "/orders/2026-01-01/orders/113-1-2").unwrap();
        assert_eq!(get.plan.operation, "getOrder");
        assert_eq!(get.parameter("orderId"), "113-1-2");
        assert_eq!(get.parameter("asin"), "");
        let search = Route::find("GET", "/orders/2026-01-01/orders").unwrap();
        assert_eq!((search.plan.rate, search.plan.burst), (0.0056, 20));
        let document = Route::find("POST", "/feeds/2021-06-30/documents").unwrap();
        assert_eq!(document.plan.operation, "createFeedDocument");
        let confirm = Route::find("POST", "/orders/v0/orders/1-2-3/shipmentConfirmation");
        assert_eq!(confirm.map(|r| r.plan.operation), Some("confirmShipment"));
        assert!(Route::find("GET", "/orders/2026-01-01/orders/a/b").is_none());
        assert!(Route::find("GET", "/orders/2026-01-01/orders/").is_none());
        assert!(Route::find("PUT", "/orders/2026-01-01/orders").is_none());
    }
}
