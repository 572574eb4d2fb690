//! Orders API 2026-01-01 `searchOrders` and `getOrder`, with the query rules Amazon's
//! model states: one date family, `*Before` at least two minutes back, enums, page
//! sizes, and page tokens bound to unchanged filters that expire after 24 hours.
//!
//! Results come in (lastUpdatedTime, orderId) order and a page token remembers the
//! last one returned, so an order that changes while a window is paged leaves it
//! (its new time is past the window's end) without shifting the other pages.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::marketplaces::{self, Region};
use super::world::{SimOrder, World, stamp};
use crate::amazon::Response;

const PARAMETERS: [&str; 10] = [
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "fulfillmentStatuses",
    "marketplaceIds",
    "fulfilledBy",
    "maxResultsPerPage",
    "paginationToken",
    "includedData",
];
const FULFILLMENT_STATUSES: [&str; 7] = [
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
];
const FULFILLED_BY: [&str; 2] = ["MERCHANT", "AMAZON"];
const DATASETS: [&str; 11] = [
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];
/// Parameters a page token does not bind (the model allows changing these).
const UNBOUND: [&str; 3] = ["paginationToken", "maxResultsPerPage", "includedData"];
/// Amazon wants `*Before` at least this far before the request.
const SETTLE: Duration = Duration::minutes(2);
/// How long a page token is accepted.
pub const TOKEN_LIFETIME: Duration = Duration::hours(24);

/// An error answer in Amazon's shape.
pub fn error(status: u16, code: &str, message: impl Into<String>) -> Response {
    Response::json(
        status,
        &json!({"errors": [{"code": code, "message": message.into()}]}),
    )
}

fn invalid(message: impl Into<String>) -> Response {
    error(400, "InvalidInput", message)
}

/// What a page token carries.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Token {
    /// The bound filters, sorted.
    filters: Vec<(String, String)>,
    /// The window's end, fixed by the first page.
    before: DateTime<Utc>,
    /// The last result returned: (time, orderId).
    after: (DateTime<Utc>, String),
    /// When the first page was served.
    issued: DateTime<Utc>,
}

impl Token {
    fn encode(&self) -> String {
        BASE64.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(text: &str) -> Option<Self> {
        serde_json::from_slice(&BASE64.decode(text).ok()?).ok()
    }
}

fn time(name: &str, value: &str) -> Result<DateTime<Utc>, Response> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(format!("{name} must be an ISO 8601 date-time")))
}

fn list<'q>(
    name: &str,
    value: Option<&'q str>,
    allowed: &[&str],
) -> Result<Option<BTreeSet<&'q str>>, Response> {
    let Some(value) = value else {
        return Ok(None);
    };
    let items: BTreeSet<&str> = value.split(',').collect();
    if let Some(bad) = items.iter().find(|item| !allowed.contains(item)) {
        return Err(invalid(format!("{bad} is not a valid value for {name}")));
    }
    Ok(Some(items))
}

/// `GET /orders/2026-01-01/orders` on the endpoint of `region`.
pub fn search_orders(
    world: &World,
    query: &[(String, String)],
    region: Region,
    now: DateTime<Utc>,
) -> Response {
    match search(world, query, region, now) {
        Ok(body) => Response::json(200, &body),
        Err(response) => response,
    }
}

/// The date filter of a searchOrders request: creation or last update, the
/// interval it asks for (`before` defaults to two minutes ago), and the name of the
/// interval's end as the answer repeats it.
struct DateFilter {
    created: bool,
    after: DateTime<Utc>,
    before: DateTime<Utc>,
    before_name: &'static str,
}

/// The value of the query parameter `name`.
fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Each parameter is one the model defines, given once.
fn check_parameters(query: &[(String, String)]) -> Result<(), Response> {
    let mut seen = BTreeSet::new();
    for (name, _) in query {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "{name} is not a parameter of searchOrders"
            )));
        }
        if !seen.insert(name.as_str()) {
            return Err(invalid(format!("{name} is given more than once")));
        }
    }
    Ok(())
}

/// One date family, its interval in order and at least two minutes old.
fn date_filter(query: &[(String, String)], now: DateTime<Utc>) -> Result<DateFilter, Response> {
    let get = |name: &str| param(query, name);
    let created = get("createdAfter").is_some() || get("createdBefore").is_some();
    let updated = get("lastUpdatedAfter").is_some() || get("lastUpdatedBefore").is_some();
    if created && updated {
        return Err(invalid(
            "createdAfter/createdBefore cannot be combined with lastUpdatedAfter/lastUpdatedBefore",
        ));
    }
    if get("createdAfter").is_some() == get("lastUpdatedAfter").is_some() {
        return Err(invalid(
            "exactly one of createdAfter and lastUpdatedAfter is required",
        ));
    }
    let (after_name, before_name) = if created {
        ("createdAfter", "createdBefore")
    } else {
        ("lastUpdatedAfter", "lastUpdatedBefore")
    };
    let after = time(after_name, get(after_name).unwrap_or_default())?;
    let latest = now - SETTLE;
    let before = match get(before_name) {
        Some(value) => {
            let before = time(before_name, value)?;
            if before < after {
                return Err(invalid(format!(
                    "{before_name} must be equal to or after {after_name}"
                )));
            }
            if before > latest {
                return Err(invalid(format!(
                    "{before_name} must be at least two minutes before the time of the request"
                )));
            }
            before
        }
        None => latest,
    };
    if after > latest {
        return Err(invalid(format!(
            "{after_name} must be at least two minutes before the time of the request"
        )));
    }
    Ok(DateFilter {
        created,
        after,
        before,
        before_name,
    })
}

/// The marketplaces a search covers: those of `marketplaceIds` (at most 50, every
/// one of the endpoint's region), or every marketplace of the region.
fn marketplace_filter(value: Option<&str>, region: Region) -> Result<BTreeSet<&str>, Response> {
    let Some(value) = value else {
        return Ok(marketplaces::MARKETPLACES
            .iter()
            .filter(|m| m.region == region)
            .map(|m| m.id)
            .collect());
    };
    let ids: BTreeSet<&str> = value.split(',').collect();
    if ids.len() > 50 {
        return Err(invalid("marketplaceIds accepts at most 50 marketplaces"));
    }
    for id in &ids {
        match marketplaces::find(id) {
            None => return Err(invalid(format!("{id} is not a valid marketplaceId"))),
            Some(m) if m.region != region => {
                return Err(error(
                    403,
                    "Unauthorized",
                    "The marketplaces you provided are not valid for region.",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(ids)
}

fn search(
    world: &World,
    query: &[(String, String)],
    region: Region,
    now: DateTime<Utc>,
) -> Result<Value, Response> {
    check_parameters(query)?;
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let DateFilter {
        created,
        after,
        before,
        before_name,
    } = date_filter(query, now)?;
    let statuses = list(
        "fulfillmentStatuses",
        get("fulfillmentStatuses"),
        &FULFILLMENT_STATUSES,
    )?;
    let fulfilled_by = list("fulfilledBy", get("fulfilledBy"), &FULFILLED_BY)?;
    let included: BTreeSet<String> = list("includedData", get("includedData"), &DATASETS)?
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let marketplaces = marketplace_filter(get("marketplaceIds"), region)?;
    let size = match get("maxResultsPerPage") {
        Some(value) => match value.parse::<usize>() {
            Ok(size @ 1..=100) => size,
            _ => return Err(invalid("maxResultsPerPage must be between 1 and 100")),
        },
        None => 100,
    };

    let mut filters: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !UNBOUND.contains(&k.as_str()))
        .cloned()
        .collect();
    filters.sort();
    let (before, start, issued) = match get("paginationToken") {
        None => (before, (after, String::new()), now),
        Some(text) => {
            let token = Token::decode(text).ok_or_else(|| invalid("Invalid paginationToken"))?;
            if token.filters != filters {
                return Err(invalid(
                    "all parameters except maxResultsPerPage and includedData must be the same as in the request that returned this paginationToken",
                ));
            }
            if now - token.issued > TOKEN_LIFETIME {
                return Err(invalid("the paginationToken has expired"));
            }
            (token.before, token.after, token.issued)
        }
    };
    let resumed = get("paginationToken").is_some();

    let matches = |order: &&SimOrder| {
        marketplaces.contains(order.marketplace.as_str())
            && fulfilled_by
                .as_ref()
                .is_none_or(|f| f.contains(order.fulfilled_by.as_str()))
            && statuses
                .as_ref()
                .is_none_or(|s| s.contains(order.status.as_str()))
    };
    let key = |order: &SimOrder| {
        if created {
            order.created
        } else {
            order.updated
        }
    };
    let mut page: Vec<&SimOrder> = if created {
        let mut all: Vec<&SimOrder> = world
            .orders()
            .filter(|o| o.created >= after && o.created <= before)
            .filter(|o| !resumed || (o.created, o.id.clone()) > start)
            .filter(matches)
            .collect();
        all.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        all.truncate(size + 1);
        all
    } else {
        world
            .updated_since(&start, !resumed)
            .take_while(|o| o.updated <= before)
            .filter(matches)
            .take(size + 1)
            .collect()
    };
    let more = page.len() > size;
    page.truncate(size);

    let mut body = json!({
        "orders": page.iter().map(|o| o.view(&included)).collect::<Vec<_>>(),
    });
    if more && let Some(last) = page.last() {
        let token = Token {
            filters,
            before,
            after: (key(last), last.id.clone()),
            issued,
        };
        body["pagination"] = json!({"nextToken": token.encode()});
    }
    body[before_name] = json!(stamp(before));
    Ok(body)
}

/// `GET /orders/2026-01-01/orders/{orderId}`.
pub fn get_order(world: &World, order_id: &str, query: &[(String, String)]) -> Response {
    for (name, _) in query {
        if name != "includedData" {
            return invalid(format!("{name} is not a parameter of getOrder"));
        }
    }
    let included = match list(
        "includedData",
        query.first().map(|(_, v)| v.as_str()),
        &DATASETS,
    ) {
        Ok(included) => included
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        Err(response) => return response,
    };
    match world.order(order_id) {
        Some(order) => Response::json(200, &json!({"order": order.view(&included)})),
        None => error(404, "NotFound", format!("order {order_id} was not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::sim::world::WorldSpec;

    const NA: Region = Region::NorthAmerica;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T15:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn world(changes: f64) -> World {
        World::generate(
            &WorldSpec {
                seed: 3,
                orders: 250,
                marketplaces: vec!["ATVPDKIKX0DER".into()],
                fba_share: 0.0,
                other_marketplace: None,
                non_amazon_orders: 0,
                change_rate: changes,
                change_horizon: Duration::minutes(10),
                arrival_share: 0.3,
                distinct_asins: 300,
                seller_ships: false,
            },
            start(),
        )
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    fn ids(body: &Value) -> Vec<String> {
        body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["orderId"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn pages_cover_the_window_once_even_while_orders_change() {
        let mut world = world(1.0);
        let base = [
            ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
            ("lastUpdatedBefore", "2026-11-20T14:58:00Z"),
            ("maxResultsPerPage", "100"),
        ];
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut now = start();
        loop {
            let mut query = q(&base);
            if let Some(t) = &token {
                query.push(("paginationToken".into(), t.clone()));
            }
            let answer = search_orders(&world, &query, NA, now);
            assert_eq!(
                answer.status,
                200,
                "{}",
                String::from_utf8_lossy(&answer.body)
            );
            let page = body(&answer);
            seen.extend(ids(&page));
            token = page["pagination"]["nextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                break;
            }
            // The world moves on between pages.
            now += Duration::minutes(3);
            world.advance_to(now);
        }
        let unique: BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no order twice");
        // Every order of the window that did not change since is there.
        let cutoff = DateTime::parse_from_rfc3339("2026-11-20T14:58:00Z")
            .unwrap()
            .to_utc();
        for order in world.orders().filter(|o| o.updated <= cutoff) {
            assert!(unique.contains(&order.id), "{} missed", order.id);
        }
    }

    #[test]
    fn the_model_s_rules_are_enforced() {
        let world = world(0.0);
        let now = start();
        let bad = [
            q(&[]),
            q(&[
                ("createdAfter", "2026-11-01T00:00:00Z"),
                ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
            ]),
            q(&[
                ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
                ("lastUpdatedBefore", "2026-11-20T14:59:00Z"),
            ]),
            q(&[
                ("lastUpdatedAfter", "2026-11-10T00:00:00Z"),
                ("lastUpdatedBefore", "2026-11-01T00:00:00Z"),
            ]),
            q(&[
                ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
                ("maxResultsPerPage", "101"),
            ]),
            q(&[
                ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
                ("fulfilledBy", "SELLER"),
            ]),
            q(&[
                ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
                ("nextToken", "x"),
            ]),
            q(&[
                ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
                ("paginationToken", ""),
            ]),
        ];
        for query in bad {
            let answer = search_orders(&world, &query, NA, now);
            assert_eq!(answer.status, 400, "{query:?}");
            assert_eq!(body(&answer)["errors"][0]["code"], "InvalidInput");
        }
    }

    #[test]
    fn a_token_is_bound_to_its_filters_and_expires() {
        let world = world(0.0);
        let now = start();
        let first = q(&[
            ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
            ("maxResultsPerPage", "10"),
        ]);
        let page = body(&search_orders(&world, &first, NA, now));
        let token = page["pagination"]["nextToken"].as_str().unwrap().to_owned();
        assert!(page["lastUpdatedBefore"].is_string());

        let mut changed = q(&[("lastUpdatedAfter", "2026-11-02T00:00:00Z")]);
        changed.push(("paginationToken".into(), token.clone()));
        assert_eq!(search_orders(&world, &changed, NA, now).status, 400);

        let mut same = first.clone();
        same.push(("paginationToken".into(), token));
        assert_eq!(
            search_orders(&world, &same, NA, now).status,
            200,
            "maxResultsPerPage may change"
        );
        assert_eq!(
            search_orders(&world, &same, NA, now + Duration::hours(25)).status,
            400
        );
    }

    #[test]
    fn only_requested_datasets_are_sent() {
        let world = world(0.0);
        let query = q(&[
            ("lastUpdatedAfter", "2026-11-01T00:00:00Z"),
            ("includedData", "FULFILLMENT"),
        ]);
        let page = body(&search_orders(&world, &query, NA, start()));
        let order = &page["orders"][0];
        assert!(order.get("fulfillment").is_some());
        assert!(
            order.get("buyer").is_none()
                && order.get("recipient").is_none()
                && order.get("proceeds").is_none()
        );
        let id = order["orderId"].as_str().unwrap();
        assert_eq!(get_order(&world, id, &[]).status, 200);
        assert_eq!(get_order(&world, "000-0000000-0000000", &[]).status, 404);
    }
}
