//! `import-orders`: one searchOrders page per call, resumable. The cursor advances only
//! when the window's last page has been returned, so an error never loses an order.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::host::{Host, Store};
use crate::mapping::{MappingOptions, map_order};
use crate::model::{FulfillmentChannel, ImportBatch, SkippedOrder, StoreSettings};
use crate::redact;
use crate::spapi::orders::{SEARCH_PATH, SearchOrdersResponse, WireOrder};
use crate::spapi::{Operation, SpApi};

/// `lastUpdatedAfter` of the next window.
pub const CURSOR_KEY: &str = "import/cursor";
/// A window being paged through: its filters and the next page token.
pub const PAGE_KEY: &str = "import/page";
/// How far back the first import of a store reaches. Unshipped orders older than
/// this are redacted under Amazon's schedule anyway.
const FIRST_IMPORT_LOOKBACK: Duration = Duration::days(14);
/// The next window re-reads this much of the last one: orders Amazon updated right at
/// the boundary come again (the host upserts) instead of being missed.
const CURSOR_OVERLAP: Duration = Duration::minutes(5);
/// Amazon's `lastUpdatedBefore` is at least two minutes before the request.
const AMAZON_SETTLE_TIME: Duration = Duration::minutes(2);
/// Datasets read inline, so one call returns complete orders.
const INCLUDED_DATA: &str = "BUYER,RECIPIENT,PROCEEDS,PROMOTION,FULFILLMENT,PAYMENT";

#[derive(Serialize, Deserialize)]
struct Cursor {
    last_updated_after: DateTime<Utc>,
}

/// Amazon requires the same filters on every page of a window.
#[derive(Serialize, Deserialize)]
struct Page {
    filters: Vec<(String, String)>,
    token: String,
}

/// Fetches and maps one page of orders.
pub fn import_orders(host: &dyn Host, settings: &StoreSettings) -> Result<ImportBatch, Error> {
    let api = SpApi::authorize(host, settings)?;
    let store = Store::new(host);
    let now = host.now();

    let page: Option<Page> = store.load(PAGE_KEY)?;
    let (filters, token) = match page {
        Some(page) => (page.filters, Some(page.token)),
        None => {
            let after = match store.load::<Cursor>(CURSOR_KEY)? {
                Some(cursor) => cursor.last_updated_after,
                None => now - FIRST_IMPORT_LOOKBACK,
            };
            (window_filters(settings, after), None)
        }
    };
    let mut query: Vec<(&str, String)> = filters
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if let Some(token) = &token {
        query.push(("paginationToken", token.clone()));
    }

    let response: SearchOrdersResponse =
        match api.get(Operation::SEARCH_ORDERS, SEARCH_PATH, &query) {
            Ok(response) => response,
            // A page token expires after 24 h: start the window again from the cursor,
            // which has not moved, so nothing is lost.
            Err(Error::Amazon(e)) if token.is_some() && e.status == 400 => {
                store.remove(PAGE_KEY)?;
                return Err(Error::Amazon(e));
            }
            Err(e) => return Err(e),
        };

    let options = MappingOptions {
        product_identifier: settings.product_identifier,
    };
    let mut orders = Vec::new();
    let mut skipped = Vec::new();
    for raw in response.orders {
        let order_id = raw
            .get("orderId")
            .and_then(|v| v.as_str())
            .unwrap_or("(unknown)")
            .to_owned();
        let mapped = serde_json::from_value::<WireOrder>(raw)
            .map_err(|e| crate::error::describe_json_error(&e))
            .and_then(|wire| map_order(wire, options));
        match mapped {
            Ok(order) => {
                if order.fulfillment_channel == FulfillmentChannel::Amazon
                    && !settings.import_fba_orders
                {
                    continue;
                }
                orders.push(order);
            }
            Err(reason) => {
                log::warn!("skipped order {order_id}: {reason}");
                skipped.push(SkippedOrder { order_id, reason });
            }
        }
    }
    // Redaction is scheduled before the cursor moves: a crash in between re-imports
    // the orders rather than leaving their PII unscheduled.
    for order in &orders {
        if order.fulfillment_channel == FulfillmentChannel::Merchant {
            redact::schedule_import(&store, &order.order_id, now)?;
        }
    }

    let next_token = response.pagination.and_then(|p| p.next_token);
    let more = next_token.is_some();
    match next_token {
        Some(token) => store.save(PAGE_KEY, &Page { filters, token })?,
        None => {
            let before = response
                .last_updated_before
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now - AMAZON_SETTLE_TIME);
            store.save(
                CURSOR_KEY,
                &Cursor {
                    last_updated_after: before - CURSOR_OVERLAP,
                },
            )?;
            store.remove(PAGE_KEY)?;
        }
    }
    log::info!(
        "imported {} orders, skipped {}, more: {more}",
        orders.len(),
        skipped.len()
    );
    Ok(ImportBatch {
        orders,
        skipped,
        more,
        next_call_after: if more {
            now
        } else {
            now + Duration::seconds(Operation::SEARCH_ORDERS.restore_seconds)
        },
    })
}

fn window_filters(settings: &StoreSettings, after: DateTime<Utc>) -> Vec<(String, String)> {
    let fulfilled_by = if settings.import_fba_orders {
        "MERCHANT,AMAZON"
    } else {
        "MERCHANT"
    };
    vec![
        (
            "lastUpdatedAfter".into(),
            after.to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
        ("marketplaceIds".into(), settings.marketplace_id.clone()),
        ("fulfilledBy".into(), fulfilled_by.into()),
        ("includedData".into(), INCLUDED_DATA.into()),
        ("maxResultsPerPage".into(), "100".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::model::OrderStatus;
    use crate::testing::{FakeHost, us_settings};

    fn order(id: &str, status: &str) -> String {
        format!(
            r#"{{"orderId":"{id}","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T11:00:00Z",
            "salesChannel":{{"channelName":"AMAZON","marketplaceId":"ATVPDKIKX0DER"}},
            "fulfillment":{{"fulfillmentStatus":"{status}","fulfilledBy":"MERCHANT",
              "shipByWindow":{{"latestDateTime":"2026-11-22T23:59:59Z"}}}},
            "orderItems":[{{"orderItemId":"1","quantityOrdered":1,"product":{{"asin":"B000000001","sellerSku":"SKU-1"}}}}]}}"#
        )
    }

    fn query_of(uri: &str) -> Vec<(String, String)> {
        let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn pages_repeat_the_filters_and_the_cursor_moves_after_the_last_page() {
        let host = FakeHost::new();
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &format!(
                    r#"{{"orders":[{}],"pagination":{{"nextToken":"a+b/c="}}}}"#,
                    order("111-1", "UNSHIPPED")
                ),
            )
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &format!(
                    r#"{{"orders":[{}],"lastUpdatedBefore":"2026-11-20T14:58:00Z"}}"#,
                    order("111-2", "PENDING")
                ),
            );
        let first = import_orders(&host, &us_settings()).unwrap();
        assert!(first.more);
        assert_eq!(first.orders[0].status, OrderStatus::AwaitingShipment);
        assert!(
            !host.key_exists(CURSOR_KEY),
            "the cursor waits for the window's last page"
        );

        let second = import_orders(&host, &us_settings()).unwrap();
        assert!(!second.more);
        assert_eq!(second.orders[0].status, OrderStatus::AwaitingPayment);
        assert!(second.next_call_after > host.now());

        let sent = host.sent.borrow();
        let (first_query, second_query) = (query_of(&sent[1].uri), query_of(&sent[2].uri));
        assert_eq!(second_query[..first_query.len()], first_query[..]);
        assert_eq!(
            second_query.last().unwrap(),
            &("paginationToken".to_owned(), "a+b/c=".to_owned())
        );
        assert!(
            sent[2].uri.contains("paginationToken=a%2Bb%2Fc%3D"),
            "token encoded once: {}",
            sent[2].uri
        );
        assert_eq!(
            first_query[0],
            (
                "lastUpdatedAfter".to_owned(),
                "2026-11-06T15:00:00Z".to_owned()
            ),
            "a first import reaches back 14 days"
        );
        drop(sent);

        // The next window starts at Amazon's bound, less the overlap.
        host.expect("GET", SEARCH_PATH, 200, r#"{"orders":[]}"#);
        import_orders(&host, &us_settings()).unwrap();
        let sent = host.sent.borrow();
        assert_eq!(
            query_of(&sent[3].uri)[0].1,
            "2026-11-20T14:53:00Z",
            "lastUpdatedBefore minus five minutes"
        );
    }

    #[test]
    fn a_malformed_order_is_skipped_and_the_others_arrive() {
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &format!(
                r#"{{"orders":[{},{{"orderId":"222-BAD","createdTime":"x"}},{}]}}"#,
                order("111-1", "UNSHIPPED"),
                order("111-3", "TELEPORTED")
            ),
        );
        let batch = import_orders(&host, &us_settings()).unwrap();
        assert_eq!(batch.orders.len(), 1);
        let skipped: Vec<_> = batch.skipped.iter().map(|s| s.order_id.as_str()).collect();
        assert_eq!(skipped, ["222-BAD", "111-3"]);
        assert!(batch.skipped[0].reason.starts_with("missing field"));
    }

    #[test]
    fn throttling_and_an_expired_page_token_lose_nothing() {
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            429,
            r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota"}]}"#,
        );
        match import_orders(&host, &us_settings()) {
            Err(Error::Throttled { retry_at }) => {
                assert_eq!(retry_at, host.now() + Duration::seconds(179))
            }
            other => panic!("{other:?}"),
        }
        assert!(!host.key_exists(CURSOR_KEY));

        host.expect(
            "GET",
            SEARCH_PATH,
            200,
            &format!(
                r#"{{"orders":[{}],"pagination":{{"nextToken":"t"}}}}"#,
                order("111-1", "UNSHIPPED")
            ),
        )
        .expect(
            "GET",
            SEARCH_PATH,
            400,
            r#"{"errors":[{"code":"InvalidInput","message":"token expired"}]}"#,
        );
        import_orders(&host, &us_settings()).unwrap();
        assert!(matches!(
            import_orders(&host, &us_settings()),
            Err(Error::Amazon(_))
        ));
        assert!(
            !host.key_exists(PAGE_KEY),
            "the expired window restarts from the cursor"
        );
    }

    #[test]
    fn imported_merchant_orders_are_scheduled_for_redaction() {
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &format!(r#"{{"orders":[{}]}}"#, order("111-1", "UNSHIPPED")),
        );
        import_orders(&host, &us_settings()).unwrap();
        assert!(host.key_exists("redaction/order/111-1"));
    }
}
