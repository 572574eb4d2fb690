//! `import-orders`: one searchOrders page per call, plus orders being retried, paced
//! by the component's view of Amazon's buckets. The position lives in a
//! [`Checkpoint`] the host stores with each batch, so a batch the host did not keep
//! comes again and one it kept never does.

pub mod checkpoint;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};

use crate::catalog;
use crate::error::{Error, describe_json_error};
use crate::host::{Host, Store};
use crate::mapping::{MappingOptions, map_order};
use crate::model::{
    FulfillmentChannel, ImportBatch, Order, OrderStatus, ProductInfo, SkipReason, SkippedOrder,
    StoreSettings,
};
use crate::redact;
use crate::spapi::orders::{
    GetOrderResponse, SEARCH_PATH, SearchOrdersResponse, WireOrder, get_order_path,
};
use crate::spapi::{Operation, SpApi, pacing};
use serde_json::value::RawValue;

pub use checkpoint::Checkpoint;
use checkpoint::{
    Delivered, MAX_DELIVERED, MAX_PRODUCTS, MAX_RETRIES, PendingProduct, Retry, Window,
};

/// How far back the first import of a store reaches. Amazon's retention rule has
/// unshipped orders' buyer data redacted 14 days after import; an order last changed
/// before that is shipped or cancelled long ago, and importing it would only create
/// a record to redact at once.
pub const FIRST_IMPORT_LOOKBACK: Duration = Duration::days(14);
/// The next window re-reads this much of the last one: an order Amazon indexes a
/// little late (its `lastUpdatedTime` already in the past) is still found. Versions
/// the last window delivered are dropped, so the overlap costs no duplicates.
pub const CURSOR_OVERLAP: Duration = Duration::minutes(5);
/// Amazon's `lastUpdatedBefore` must be at least two minutes before the request.
pub const AMAZON_SETTLE_TIME: Duration = Duration::minutes(2);
/// A page token lives 24 hours; a window older than this starts again.
const PAGE_TOKEN_LIFETIME: Duration = Duration::hours(23);
/// A window read in order of update for this long ends where its pages reached and
/// the next one starts there, long before its page token could expire: a backlog
/// of more than about 48,000 orders cannot be paged in one window within 24 hours
/// at Amazon's default rate.
const WINDOW_REFRESH: Duration = Duration::hours(12);
/// Datasets read inline, so one call returns complete orders.
const INCLUDED_DATA: &str =
    "BUYER,RECIPIENT,PROCEEDS,PROMOTION,CANCELLATION,FULFILLMENT,PACKAGES,PAYMENT";
/// Retries per call, so one call stays short whatever the retry list holds.
const RETRIES_PER_CALL: usize = 10;
/// Readings of one order before it is given up.
const MAX_ATTEMPTS: u32 = 5;
/// Refusals of one catalog lookup before its items go without product info.
const CATALOG_REFUSALS: u32 = 3;

/// One call: what the buckets allow now, from `checkpoint` (or a first import).
pub fn import_orders(
    host: &dyn Host,
    settings: &StoreSettings,
    checkpoint: Option<&str>,
) -> Result<ImportBatch, Error> {
    settings.validate_for_orders()?;
    let now = host.now();
    let store = Store::new(host);
    let mut position = match checkpoint {
        Some(text) => Checkpoint::decode(text, settings)?,
        None => Checkpoint::first(settings, now, FIRST_IMPORT_LOOKBACK),
    };

    let page_due = now >= position.next_page_at
        && (position.window.is_some() || window_can_open(&position, now))
        && pacing::ready_at(&store, &Operation::SEARCH_ORDERS, now) <= now;
    let retry_due = position.retry.iter().any(|r| r.next_at <= now)
        && pacing::ready_at(&store, &Operation::GET_ORDER, now) <= now;
    let catalog_due = !position.products.is_empty()
        && pacing::ready_at(&store, &Operation::GET_CATALOG_ITEM, now) <= now;
    if !page_due && !retry_due && !catalog_due {
        // Early: nothing can progress, so nothing is called, not even Login with Amazon.
        return Ok(ImportBatch {
            orders: Vec::new(),
            skipped: Vec::new(),
            products: Vec::new(),
            more: position.window.is_some(),
            next_call_after: next_call_after(&store, &position, now),
            checkpoint: checkpoint.map_or_else(|| position.encode(), str::to_owned),
        });
    }

    let api = SpApi::authorize(host, settings)?;
    let mut batch = Collected::default();
    let mut window_read = false;
    if page_due {
        window_read = read_page(&api, settings, &mut position, now, &mut batch)?;
    }
    if position.retry.iter().any(|r| r.next_at <= now) {
        read_retries(&api, settings, &mut position, &mut batch)?;
    }
    let products = read_catalog(&api, &store, settings, &mut position, &mut batch.orders)?;

    // Redacted stays redacted: an order whose PII is due arrives without it, however
    // often Amazon sends it again.
    for order in &mut batch.orders {
        if redact::is_due(&store, &order.order_id, now) {
            redact::apply_to(order);
        }
    }
    // Redaction is scheduled before the batch is handed out: a crash in between
    // re-delivers the orders rather than leaving their PII unscheduled.
    let merchant: Vec<&str> = batch
        .orders
        .iter()
        .filter(|o| o.fulfillment_channel == FulfillmentChannel::Merchant)
        .map(|o| o.order_id.as_str())
        .collect();
    redact::schedule_imports(&store, &merchant, now)?;
    // What each order still has to ship (ids and quantities only): its first
    // shipment update confirms all of it, as Amazon takes one update per order.
    for order in batch.orders.iter().filter(|o| {
        o.fulfillment_channel == FulfillmentChannel::Merchant
            && !matches!(o.status, OrderStatus::Shipped | OrderStatus::Cancelled)
    }) {
        let unshipped: Vec<(String, u32)> = order
            .items
            .iter()
            .filter(|i| i.quantity > i.quantity_shipped)
            .map(|i| (i.order_item_id.clone(), i.quantity - i.quantity_shipped))
            .collect();
        crate::notify::remember_unshipped(&store, &order.order_id, &unshipped)?;
    }
    if page_due {
        position.next_page_at = next_page_at(&store, &position, now, window_read);
    }
    let next = next_call_after(&store, &position, now);
    log::info!(
        "imported {} orders, skipped {}, more: {}",
        batch.orders.len(),
        batch.skipped.len(),
        position.window.is_some()
    );
    Ok(ImportBatch {
        orders: batch.orders,
        skipped: batch.skipped,
        products,
        more: position.window.is_some(),
        next_call_after: next,
        checkpoint: position.encode(),
    })
}

#[derive(Default)]
struct Collected {
    orders: Vec<Order>,
    skipped: Vec<SkippedOrder>,
}

/// A new window needs Amazon's settle time past the cursor to cover anything.
fn window_can_open(position: &Checkpoint, now: DateTime<Utc>) -> bool {
    now - AMAZON_SETTLE_TIME > position.cursor
}

/// When the next page can be read: as soon as its bucket allows while a window is
/// open or has to start again; once a window is read, a restore period later
/// (polling faster would only drain the burst a backlog needs), and never before a
/// new window would cover anything.
fn next_page_at(
    store: &Store<'_>,
    position: &Checkpoint,
    now: DateTime<Utc>,
    window_read: bool,
) -> DateTime<Utc> {
    let search_ready = pacing::ready_at(store, &Operation::SEARCH_ORDERS, now);
    if position.window.is_some() || !window_read {
        return search_ready;
    }
    let poll = Duration::milliseconds(
        (Operation::SEARCH_ORDERS.seconds_per_token() * 1000.0).ceil() as i64,
    );
    let settled = position.cursor + AMAZON_SETTLE_TIME + Duration::seconds(1);
    search_ready.max(now + poll).max(settled)
}

/// When another call can make progress: the next page or a due retry, whichever
/// comes first, each no sooner than its bucket allows.
fn next_call_after(store: &Store<'_>, position: &Checkpoint, now: DateTime<Utc>) -> DateTime<Utc> {
    let page = position
        .next_page_at
        .max(pacing::ready_at(store, &Operation::SEARCH_ORDERS, now))
        .max(now);
    let catalog = (!position.products.is_empty())
        .then(|| pacing::ready_at(store, &Operation::GET_CATALOG_ITEM, now).max(now));
    let page = catalog.map_or(page, |catalog| catalog.min(page));
    let retry = position.retry.iter().map(|r| r.next_at).min().map(|due| {
        due.max(pacing::ready_at(store, &Operation::GET_ORDER, now))
            .max(now)
    });
    retry.map_or(page, |retry| retry.min(page))
}

/// Reads the next page of the window (opening one if none is open). True when that
/// was the window's last page.
fn read_page(
    api: &SpApi<'_>,
    settings: &StoreSettings,
    position: &mut Checkpoint,
    now: DateTime<Utc>,
    batch: &mut Collected,
) -> Result<bool, Error> {
    if let Some(window) = &position.window
        && window.token.is_some()
        && now - window.opened_at > WINDOW_REFRESH
        && !window.unordered
        && window.tail.len() < MAX_DELIVERED
        && let Some(frontier) = window.frontier
    {
        log::info!(
            "the window opened at {} ends at {frontier}, where its pages reached; the next starts there",
            window.opened_at
        );
        end_window_at(position, frontier);
    }
    let mut narrower = None;
    if let Some(window) = &position.window
        && now - window.opened_at > PAGE_TOKEN_LIFETIME
    {
        // It could not end early (out of update order, or more versions at its edge
        // than a checkpoint keeps): read again, half as wide, until a window fits in
        // its token's life.
        log::warn!(
            "the window opened at {} outlived its page token; reading half of it again",
            window.opened_at
        );
        narrower = Some(position.cursor + (window.before - position.cursor) / 2);
        position.window = None;
    }
    let window = match position.window.take() {
        Some(window) => window,
        None => open_window(settings, position.cursor, now, narrower),
    };
    let mut query: Vec<(&str, String)> = window
        .filters
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    if let Some(token) = &window.token {
        query.push(("paginationToken", token.clone()));
    }
    let response: SearchOrdersResponse =
        match api.get(Operation::SEARCH_ORDERS, SEARCH_PATH, &query) {
            Ok(response) => response,
            Err(Error::Throttled { .. }) => {
                // Not an error for the host: the bucket view now knows, and
                // `next-call-after` says when. A window not yet started is not kept, so
                // it opens later with a fresh upper bound.
                position.window = window.token.is_some().then_some(window);
                return Ok(false);
            }
            Err(Error::Amazon(e)) if window.token.is_some() && e.status == 400 => {
                // Amazon no longer accepts the token (expired, or Amazon lost it): read
                // the window again from the cursor, which has not moved.
                log::warn!(
                    "searchOrders refused the page token ({}); reading the window again",
                    e.code
                );
                position.window = Some(open_window(settings, position.cursor, now, None));
                return Ok(false);
            }
            Err(e) => {
                if window.token.is_some() {
                    position.window = Some(window);
                }
                return Err(e);
            }
        };

    let mut window = window;
    let overlap_start = window.before - CURSOR_OVERLAP;
    for raw in response.orders {
        let version = match accept(&raw, now, settings, position, batch) {
            Verdict::Import(order) => {
                let version = (
                    order.updated_at,
                    Delivered(order.order.order_id.clone(), order.updated_text),
                );
                position
                    .retry
                    .retain(|r| r.order_id != order.order.order_id);
                batch.orders.push(order.order);
                version
            }
            Verdict::Repeat(updated_at, version) => (updated_at, version),
            Verdict::Skipped => continue,
        };
        // Versions the next window's overlap will read again, repeats included (a
        // short window's overlap can reach back past the one before).
        if version.0 >= overlap_start && window.boundary.len() < MAX_DELIVERED {
            window.boundary.push(version.1.clone());
        }
        advance_frontier(&mut window, version);
    }
    trim_tail(&mut window);

    match response
        .pagination
        .and_then(|p| p.next_token)
        .filter(|t| !t.is_empty())
    {
        Some(token) => {
            window.token = Some(token);
            position.window = Some(window);
            Ok(false)
        }
        None => {
            // The window is read: the next one starts at its end, less the overlap.
            position.cursor = position.cursor.max(window.before - CURSOR_OVERLAP);
            position.delivered = window.boundary;
            position.window = None;
            Ok(true)
        }
    }
}

/// Follows the window's order of update: the frontier moves with each version, and
/// the tail collects them ([`trim_tail`] keeps those within the overlap).
fn advance_frontier(window: &mut Window, (updated_at, version): (DateTime<Utc>, Delivered)) {
    if window.unordered {
        return;
    }
    if window
        .frontier
        .is_some_and(|frontier| updated_at < frontier)
    {
        window.unordered = true;
        window.tail.clear();
        return;
    }
    window.frontier = Some(updated_at);
    window.tail.push(version);
}

/// Keeps in the tail only the versions within the overlap before the frontier, once
/// a page: more than a checkpoint keeps means the window cannot end early.
fn trim_tail(window: &mut Window) {
    let Some(frontier) = window.frontier else {
        return;
    };
    let since = frontier - CURSOR_OVERLAP;
    window.tail.retain(|Delivered(_, text)| {
        DateTime::parse_from_rfc3339(text).is_ok_and(|t| t.with_timezone(&Utc) >= since)
    });
    window.tail.truncate(MAX_DELIVERED);
}

/// Ends the open window at `frontier`: the next one starts the overlap before it,
/// and drops the versions this one delivered there.
fn end_window_at(position: &mut Checkpoint, frontier: DateTime<Utc>) {
    if let Some(window) = position.window.take() {
        position.cursor = position.cursor.max(frontier - CURSOR_OVERLAP);
        position.delivered = window.tail;
    }
}

/// A window from `after` to what Amazon has settled by `now`, or to `until` when
/// that is sooner.
fn open_window(
    settings: &StoreSettings,
    after: DateTime<Utc>,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Window {
    let settled = (now - AMAZON_SETTLE_TIME)
        .duration_trunc(Duration::seconds(1))
        .unwrap_or(now - AMAZON_SETTLE_TIME);
    let before = until.map_or(settled, |until| until.min(settled));
    let fulfilled_by = if settings.import_fba_orders {
        "MERCHANT,AMAZON"
    } else {
        "MERCHANT"
    };
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    Window {
        filters: vec![
            ("lastUpdatedAfter".into(), time(after)),
            ("lastUpdatedBefore".into(), time(before)),
            ("marketplaceIds".into(), settings.marketplace_id.clone()),
            ("fulfilledBy".into(), fulfilled_by.into()),
            ("includedData".into(), INCLUDED_DATA.into()),
            ("maxResultsPerPage".into(), "100".into()),
        ],
        before,
        opened_at: now,
        token: None,
        boundary: Vec::new(),
        frontier: None,
        unordered: false,
        tail: Vec::new(),
    }
}

fn read_retries(
    api: &SpApi<'_>,
    settings: &StoreSettings,
    position: &mut Checkpoint,
    batch: &mut Collected,
) -> Result<(), Error> {
    let now = api.now();
    let due: Vec<String> = position
        .retry
        .iter()
        .filter(|r| r.next_at <= now)
        .take(RETRIES_PER_CALL)
        .map(|r| r.order_id.clone())
        .collect();
    for order_id in due {
        let query = [("includedData", INCLUDED_DATA.to_owned())];
        let response: GetOrderResponse =
            match api.get(Operation::GET_ORDER, &get_order_path(&order_id), &query) {
                Ok(response) => response,
                // Out of tokens or unreachable: the rest wait for a later call.
                Err(Error::Throttled { .. } | Error::Transport(_)) => break,
                Err(e @ (Error::Amazon(_) | Error::MalformedResponse { .. })) => {
                    fail(position, batch, &order_id, e.to_string(), now);
                    continue;
                }
                Err(e) => return Err(e),
            };
        match accept(&response.order, now, settings, position, batch) {
            Verdict::Import(order) => {
                position.retry.retain(|r| r.order_id != order_id);
                batch.orders.push(order.order);
            }
            Verdict::Repeat(..) => position.retry.retain(|r| r.order_id != order_id),
            Verdict::Skipped => {}
        }
    }
    Ok(())
}

/// Product info for the batch's orders and for items delivered earlier: ASINs the
/// cache lacks join the queue in the checkpoint, the queue is read as far as the
/// catalog's bucket allows, and the orders take what the cache then knows. An order
/// never waits for the catalog; what is not known yet follows in a later batch.
fn read_catalog(
    api: &SpApi<'_>,
    store: &Store<'_>,
    settings: &StoreSettings,
    position: &mut Checkpoint,
    orders: &mut [Order],
) -> Result<Vec<ProductInfo>, Error> {
    let marketplace = settings.marketplace_id.as_str();
    let now = api.now();
    let mut known_before = catalog::Known::new(store, marketplace, now);
    for order in orders.iter().filter(|o| catalog::wants_product_info(o)) {
        for asin in order.items.iter().filter_map(|i| i.asin.as_ref()) {
            if position.products.len() < MAX_PRODUCTS
                && !position.products.iter().any(|p| &p.0 == asin)
                && known_before.get(asin).is_none()
            {
                position.products.push(PendingProduct(asin.clone(), 0));
            }
        }
    }
    let mut products = Vec::new();
    while let Some(PendingProduct(asin, refusals)) = position.products.first().cloned() {
        let info = match catalog::cached(store, marketplace, &asin, api.now()) {
            Some(info) => info,
            None => match catalog::fetch(api, store, marketplace, &asin) {
                Ok(info) => info,
                // Out of tokens, unreachable or failing: the rest wait for a later call.
                Err(Error::Throttled { .. } | Error::Transport(_)) => break,
                Err(Error::Amazon(e)) if e.status >= 500 => break,
                Err(Error::Storage(e)) => return Err(Error::Storage(e)),
                // A refusal (a revoked token, a missing role, a bad answer): asked again
                // on later calls, at the back of the queue, until it has been refused
                // three times; then the item goes without.
                Err(e) => {
                    log::warn!("no catalog info for {asin}: {e}");
                    position.products.remove(0);
                    if refusals + 1 < CATALOG_REFUSALS {
                        position.products.push(PendingProduct(asin, refusals + 1));
                    }
                    break;
                }
            },
        };
        position.products.remove(0);
        if info.weight.is_some() || info.dimensions.is_some() || info.image_url.is_some() {
            products.push(info);
        }
    }
    // What the cache knows costs nothing: every order takes it.
    let mut known = catalog::Known::new(store, marketplace, now.max(api.now()));
    for order in orders.iter_mut() {
        catalog::fill(order, &mut known);
    }
    Ok(products)
}

/// An order that passed every check, with its version.
struct Accepted {
    order: Order,
    updated_text: String,
    updated_at: DateTime<Utc>,
}

/// What becomes of one order Amazon sent.
enum Verdict {
    /// Imported.
    Import(Box<Accepted>),
    /// The very version the last window delivered: dropped.
    Repeat(DateTime<Utc>, Delivered),
    /// Skipped with a reason, or put on the retry list.
    Skipped,
}

/// The fields of an order that decide whether it is imported, and nothing else:
/// building the whole order as a JSON tree cost more than mapping it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    order_id: Option<serde_json::Value>,
    sales_channel: Option<serde_json::Value>,
    fulfillment: Option<serde_json::Value>,
    last_updated_time: Option<serde_json::Value>,
}

impl From<Envelope> for serde_json::Value {
    fn from(envelope: Envelope) -> Self {
        let fields = [
            ("orderId", envelope.order_id),
            ("salesChannel", envelope.sales_channel),
            ("fulfillment", envelope.fulfillment),
            ("lastUpdatedTime", envelope.last_updated_time),
        ];
        serde_json::Value::Object(
            fields
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_owned(), value?)))
                .collect(),
        )
    }
}

/// Decides what becomes of one order Amazon sent: imported, skipped as not this
/// store's, dropped as a repeat of the overlap, or put on the retry list.
fn accept(
    raw: &RawValue,
    now: DateTime<Utc>,
    settings: &StoreSettings,
    position: &mut Checkpoint,
    batch: &mut Collected,
) -> Verdict {
    // A page's orders are valid JSON (the page parsed), so this only reads fields:
    // the few it decides on, unless the order is odd enough (a repeated key) to need
    // the whole tree.
    let fields = serde_json::from_str::<Envelope>(raw.get())
        .map(serde_json::Value::from)
        .or_else(|_| serde_json::from_str(raw.get()))
        .unwrap_or_default();
    let text = |path: &[&str]| {
        path.iter()
            .try_fold(&fields, |v, key| v.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let Some(order_id) = text(&["orderId"]).filter(|id| !id.is_empty()) else {
        batch.skipped.push(SkippedOrder {
            order_id: "(unknown)".into(),
            reason: SkipReason::GivenUp,
            detail: "Amazon sent an order without an orderId; it cannot be fetched again".into(),
            will_retry: false,
        });
        return Verdict::Skipped;
    };
    let foreign = |reason, detail: String| SkippedOrder {
        order_id: order_id.clone(),
        reason,
        detail,
        will_retry: false,
    };
    let channel = text(&["salesChannel", "channelName"]);
    let marketplace = text(&["salesChannel", "marketplaceId"]);
    let skip = if channel.as_deref() == Some("NON_AMAZON") {
        Some(foreign(
            SkipReason::NonAmazonSalesChannel,
            "a Multi-Channel Fulfillment order from another sales channel".into(),
        ))
    } else if marketplace
        .as_deref()
        .is_some_and(|m| m != settings.marketplace_id)
    {
        Some(foreign(
            SkipReason::OtherMarketplace,
            format!("placed in marketplace {}", marketplace.unwrap_or_default()),
        ))
    } else if !settings.import_fba_orders
        && text(&["fulfillment", "fulfilledBy"]).as_deref() == Some("AMAZON")
    {
        Some(foreign(
            SkipReason::AmazonFulfilled,
            "fulfilled by Amazon, and FBA import is off".into(),
        ))
    } else {
        None
    };
    if let Some(skip) = skip {
        position.retry.retain(|r| r.order_id != order_id);
        batch.skipped.push(skip);
        return Verdict::Skipped;
    }
    let updated_text = text(&["lastUpdatedTime"]).unwrap_or_default();
    if position.already_delivered(&order_id, &updated_text) {
        let updated_at = DateTime::parse_from_rfc3339(&updated_text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        return Verdict::Repeat(updated_at, Delivered(order_id, updated_text));
    }

    let options = MappingOptions {
        product_identifier: settings.product_identifier,
    };
    let mapped = serde_json::from_str::<WireOrder>(raw.get())
        .map_err(|e| describe_json_error(&e))
        .and_then(|wire| map_order(wire, options));
    match mapped {
        Ok(order) => Verdict::Import(Box::new(Accepted {
            updated_at: order.updated_at,
            order,
            updated_text,
        })),
        Err(reason) => {
            fail(position, batch, &order_id, reason, now);
            Verdict::Skipped
        }
    }
}

/// Records one failed reading: on the retry list with a growing delay, or given up.
fn fail(
    position: &mut Checkpoint,
    batch: &mut Collected,
    order_id: &str,
    reason: String,
    now: DateTime<Utc>,
) {
    log::warn!("order {order_id} could not be read: {reason}");
    let room = position.retry.len() < MAX_RETRIES;
    let attempts = match position.retry.iter_mut().find(|r| r.order_id == order_id) {
        Some(entry) => {
            entry.attempts += 1;
            entry.next_at = now + retry_delay(entry.attempts);
            entry.attempts
        }
        None if room => {
            position.retry.push(Retry {
                order_id: order_id.to_owned(),
                attempts: 1,
                next_at: now + retry_delay(1),
            });
            1
        }
        // The list is full: this order is reported, not kept.
        None => MAX_ATTEMPTS,
    };
    let will_retry = attempts < MAX_ATTEMPTS;
    if !will_retry {
        position.retry.retain(|r| r.order_id != order_id);
    }
    batch.skipped.push(SkippedOrder {
        order_id: order_id.to_owned(),
        reason: if will_retry {
            SkipReason::Unreadable
        } else {
            SkipReason::GivenUp
        },
        detail: if will_retry {
            reason
        } else {
            format!("{reason} (after {attempts} readings)")
        },
        will_retry,
    });
}

/// 1, 2, 4, 8 minutes between readings.
fn retry_delay(attempts: u32) -> Duration {
    Duration::minutes(1 << attempts.saturating_sub(1).min(10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OrderStatus;
    use crate::spapi::lwa;
    use crate::testing::{FakeHost, at, us_settings};

    /// A host whose catalog cache already knows the tests' product, so the import
    /// tests script only the order calls; the catalog has tests of its own.
    fn host() -> FakeHost {
        let host = FakeHost::new();
        host.store.borrow_mut().insert(
            "catalog/ATVPDKIKX0DER/B000000001".into(),
            br#"{"info":{"weight":["1.5","pounds"],"dimensions":null,"image_url":null},"fetched_at":"2026-11-20T00:00:00Z","known":true}"#.to_vec(),
        );
        host
    }

    fn order(id: &str, status: &str) -> String {
        order_in(
            id,
            status,
            "ATVPDKIKX0DER",
            "AMAZON",
            "MERCHANT",
            "2026-11-20T11:00:00Z",
        )
    }

    fn order_in(
        id: &str,
        status: &str,
        marketplace: &str,
        channel: &str,
        by: &str,
        updated: &str,
    ) -> String {
        format!(
            r#"{{"orderId":"{id}","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"{updated}",
            "salesChannel":{{"channelName":"{channel}","marketplaceId":"{marketplace}"}},
            "fulfillment":{{"fulfillmentStatus":"{status}","fulfilledBy":"{by}",
              "shipByWindow":{{"latestDateTime":"2026-11-22T23:59:59Z"}}}},
            "orderItems":[{{"orderItemId":"1","quantityOrdered":1,"product":{{"asin":"B000000001","sellerSku":"SKU-1"}}}}]}}"#
        )
    }

    fn unshipped_updated(id: &str, updated: &str) -> String {
        order_in(
            id,
            "UNSHIPPED",
            "ATVPDKIKX0DER",
            "AMAZON",
            "MERCHANT",
            updated,
        )
    }

    fn page(orders: &[String], next: Option<&str>) -> String {
        let pagination = next.map_or(String::new(), |t| {
            format!(r#","pagination":{{"nextToken":"{t}"}}"#)
        });
        format!(r#"{{"orders":[{}]{pagination}}}"#, orders.join(","))
    }

    fn query_of(uri: &str) -> Vec<(String, String)> {
        let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    fn value<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn import(host: &FakeHost, checkpoint: Option<&str>) -> ImportBatch {
        import_orders(host, &us_settings(), checkpoint).unwrap()
    }

    fn ids(batch: &ImportBatch) -> Vec<&str> {
        batch.orders.iter().map(|o| o.order_id.as_str()).collect()
    }

    #[test]
    fn a_window_is_fixed_when_it_opens_and_the_next_starts_at_its_end() {
        let host = host();
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-1", "UNSHIPPED")], Some("a+b/c=")),
            )
            // Amazon's own bound in the answer (here absurd) never moves the cursor.
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-2", "PENDING")], None).replace(
                    r#""orders""#,
                    r#""lastUpdatedBefore":"2098-01-01T00:00:00Z","orders""#,
                ),
            );
        let first = import(&host, None);
        assert!(first.more);
        assert_eq!(first.orders[0].status, OrderStatus::AwaitingShipment);
        assert_eq!(
            first.next_call_after,
            host.now(),
            "the burst allows the next page now"
        );

        host.set_now(at("2026-11-20T15:00:30Z"));
        let second = import(&host, Some(&first.checkpoint));
        assert!(!second.more);
        assert_eq!(second.orders[0].status, OrderStatus::AwaitingPayment);

        let sent = host.sent.borrow();
        let (one, two) = (query_of(&sent[1].uri), query_of(&sent[2].uri));
        assert_eq!(
            value(&one, "lastUpdatedAfter"),
            Some("2026-11-06T15:00:00Z"),
            "14 days back"
        );
        assert_eq!(
            value(&one, "lastUpdatedBefore"),
            Some("2026-11-20T14:58:00Z"),
            "two minutes back"
        );
        assert_eq!(
            two[..one.len()],
            one[..],
            "every page repeats the window's filters"
        );
        assert_eq!(value(&two, "paginationToken"), Some("a+b/c="));
        assert!(
            sent[2].uri.contains("paginationToken=a%2Bb%2Fc%3D"),
            "encoded once: {}",
            sent[2].uri
        );
        drop(sent);

        // The next window: from the last one's end less the overlap, up to two
        // minutes before its own start, one restore period later.
        assert_eq!(
            second.next_call_after,
            at("2026-11-20T15:00:30Z") + Duration::milliseconds(178_572)
        );
        host.set_now(second.next_call_after);
        host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
        import(&host, Some(&second.checkpoint));
        let third = query_of(&host.sent.borrow()[3].uri);
        assert_eq!(
            value(&third, "lastUpdatedAfter"),
            Some("2026-11-20T14:53:00Z")
        );
        assert_eq!(
            value(&third, "lastUpdatedBefore"),
            Some("2026-11-20T15:01:28Z")
        );
        assert_eq!(value(&third, "paginationToken"), None);
    }

    #[test]
    fn an_early_call_returns_nothing_and_calls_nobody() {
        let host = host();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED")], None),
        );
        let batch = import(&host, None);
        let sent = host.sent.borrow().len();

        host.set_now(batch.next_call_after - Duration::seconds(1));
        let early = import(&host, Some(&batch.checkpoint));
        assert!(early.orders.is_empty() && early.skipped.is_empty());
        assert_eq!(
            early.checkpoint, batch.checkpoint,
            "the position does not move"
        );
        assert_eq!(early.next_call_after, batch.next_call_after);
        assert_eq!(
            host.sent.borrow().len(),
            sent,
            "no request at all, not even to Login with Amazon"
        );
    }

    #[test]
    fn the_burst_is_spent_then_calls_wait_for_each_token() {
        let host = host();
        host.expect_token();
        let mut checkpoint: Option<String> = None;
        for page_number in 0..20 {
            host.expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[], Some(&format!("t{page_number}"))),
            );
            let batch = import(&host, checkpoint.as_deref());
            checkpoint = Some(batch.checkpoint);
            if page_number < 19 {
                assert_eq!(batch.next_call_after, host.now(), "page {page_number}");
            } else {
                assert_eq!(
                    batch.next_call_after,
                    host.now() + Duration::milliseconds(178_572)
                );
            }
        }
        let waiting = import(&host, checkpoint.as_deref());
        assert!(waiting.more && waiting.orders.is_empty());
        assert_eq!(host.unanswered(), 0);
        assert_eq!(
            host.sent.borrow().len(),
            21,
            "the 21st page is not requested"
        );
    }

    #[test]
    fn throttling_is_an_empty_batch_at_the_same_position() {
        let host = host();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            429,
            r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}"#,
        );
        let batch = import(&host, None);
        assert!(batch.orders.is_empty());
        assert_eq!(
            batch.next_call_after,
            host.now() + Duration::milliseconds(178_572)
        );
        let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
        assert_eq!(
            position.cursor,
            at("2026-11-06T15:00:00Z"),
            "nothing was read, nothing moved"
        );
        assert!(
            position.window.is_none(),
            "the window opens afresh when Amazon allows"
        );
    }

    #[test]
    fn the_same_checkpoint_gives_the_same_orders_again() {
        let host = host();
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-1", "UNSHIPPED")], Some("t1")),
            )
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-2", "UNSHIPPED")], None),
            )
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-2", "UNSHIPPED")], None),
            );
        let first = import(&host, None);
        let dropped = import(&host, Some(&first.checkpoint));
        // The host crashed before storing `dropped`: it calls again with `first`'s.
        let again = import(&host, Some(&first.checkpoint));
        assert_eq!(ids(&dropped), ids(&again));
        assert_eq!(dropped.checkpoint, again.checkpoint);
        let sent = host.sent.borrow();
        assert_eq!(
            sent[2].uri, sent[3].uri,
            "the same page, with the same token"
        );
    }

    #[test]
    fn the_overlap_drops_what_the_last_window_delivered() {
        let host = host();
        // Updated a minute before the first window's end: inside the next overlap.
        let late = order_in(
            "111-7",
            "UNSHIPPED",
            "ATVPDKIKX0DER",
            "AMAZON",
            "MERCHANT",
            "2026-11-20T14:57:00Z",
        );
        let changed = late
            .replace("UNSHIPPED", "SHIPPED")
            .replace("14:57:00Z", "14:59:30Z");
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(std::slice::from_ref(&late), None),
            )
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(std::slice::from_ref(&late), None),
            )
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(std::slice::from_ref(&late), None),
            )
            .expect("GET", SEARCH_PATH, 200, &page(&[changed], None));
        let first = import(&host, None);
        assert_eq!(ids(&first), ["111-7"]);
        host.set_now(first.next_call_after);
        let second = import(&host, Some(&first.checkpoint));
        assert!(
            second.orders.is_empty(),
            "the same version is not delivered twice"
        );
        // The third window is three minutes later and its overlap still reaches
        // back to the first window's end: the repeat is still dropped.
        host.set_now(second.next_call_after);
        let third = import(&host, Some(&second.checkpoint));
        assert!(third.orders.is_empty(), "still not delivered twice");
        host.set_now(third.next_call_after);
        let fourth = import(&host, Some(&third.checkpoint));
        assert_eq!(ids(&fourth), ["111-7"], "a newer version is");
        let third = fourth;
        assert_eq!(third.orders[0].status, OrderStatus::Shipped);
    }

    #[test]
    fn an_unreadable_order_is_retried_with_get_order_until_it_maps() {
        let host = host();
        let broken = r#"{"orderId":"222-1","createdTime":"x","lastUpdatedTime":"2026-11-20T11:00:00Z","salesChannel":{"channelName":"AMAZON","marketplaceId":"ATVPDKIKX0DER"},"orderItems":[]}"#;
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED"), broken.into()], None),
        );
        let first = import(&host, None);
        assert_eq!(ids(&first), ["111-1"], "the others are not held back");
        assert_eq!(first.skipped[0].order_id, "222-1");
        assert_eq!(first.skipped[0].reason, SkipReason::Unreadable);
        assert!(first.skipped[0].will_retry);
        assert_eq!(
            first.next_call_after,
            host.now() + Duration::minutes(1),
            "the retry is due first"
        );

        // A minute later: only the retry is due (the next window waits for its token).
        host.set_now(first.next_call_after);
        host.expect(
            "GET",
            "/orders/2026-01-01/orders/222-1",
            200,
            &format!(r#"{{"order":{broken}}}"#),
        );
        let second = import(&host, Some(&first.checkpoint));
        assert_eq!(second.skipped.len(), 1);
        assert!(second.skipped[0].will_retry);
        assert!(
            host.sent
                .borrow()
                .last()
                .unwrap()
                .uri
                .contains("includedData=")
        );

        // The next window comes due first (one restore period after the first),
        // then the retry, two minutes after the last reading.
        host.set_now(second.next_call_after);
        assert_eq!(host.now(), at("2026-11-20T15:02:58.572Z"));
        host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
        let window = import(&host, Some(&second.checkpoint));
        assert!(window.orders.is_empty() && window.skipped.is_empty());
        host.set_now(window.next_call_after);
        assert_eq!(host.now(), at("2026-11-20T15:03:00Z"));
        host.expect(
            "GET",
            "/orders/2026-01-01/orders/222-1",
            200,
            &format!(r#"{{"order":{}}}"#, order("222-1", "UNSHIPPED")),
        );
        let second = window;
        let third = import(&host, Some(&second.checkpoint));
        assert_eq!(ids(&third), ["222-1"]);
        assert!(third.skipped.is_empty());
        let position = Checkpoint::decode(&third.checkpoint, &us_settings()).unwrap();
        assert!(position.retry.is_empty());
    }

    #[test]
    fn an_order_that_never_maps_is_given_up_after_five_readings() {
        let host = host();
        let broken = r#"{"orderId":"222-1","createdTime":"x","lastUpdatedTime":"2026-11-20T11:00:00Z","salesChannel":{"channelName":"AMAZON"},"orderItems":[]}"#;
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[broken.into()], None));
        let mut batch = import(&host, None);
        let mut reasons = vec![batch.skipped[0].reason];
        let mut retry_times = Vec::new();
        while reasons.len() < 5 {
            host.set_now(batch.next_call_after);
            let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
            if position.next_page_at <= host.now() {
                host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
            }
            if position.retry.iter().any(|r| r.next_at <= host.now()) {
                retry_times.push(host.now());
                host.expect(
                    "GET",
                    "/orders/2026-01-01/orders/222-1",
                    200,
                    &format!(r#"{{"order":{broken}}}"#),
                );
            }
            batch = import(&host, Some(&batch.checkpoint));
            assert_eq!(host.unanswered(), 0);
            reasons.extend(batch.skipped.iter().map(|s| s.reason));
        }
        assert_eq!(
            reasons,
            [
                SkipReason::Unreadable,
                SkipReason::Unreadable,
                SkipReason::Unreadable,
                SkipReason::Unreadable,
                SkipReason::GivenUp
            ]
        );
        let start = at("2026-11-20T15:00:00Z");
        let minutes: Vec<i64> = retry_times
            .iter()
            .map(|t| (*t - start).num_minutes())
            .collect();
        assert_eq!(minutes, [1, 3, 7, 15], "1, 2, 4 and 8 minutes apart");
        assert!(!batch.skipped[0].will_retry);
        assert!(
            Checkpoint::decode(&batch.checkpoint, &us_settings())
                .unwrap()
                .retry
                .is_empty()
        );
    }

    #[test]
    fn orders_that_are_not_this_stores_are_skipped_with_a_reason() {
        let host = host();
        let updated = "2026-11-20T11:00:00Z";
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(
                &[
                    order_in(
                        "111-1",
                        "UNSHIPPED",
                        "A2EUQ1WTGCTBG2",
                        "AMAZON",
                        "MERCHANT",
                        updated,
                    ),
                    order_in(
                        "111-2",
                        "UNSHIPPED",
                        "ATVPDKIKX0DER",
                        "NON_AMAZON",
                        "AMAZON",
                        updated,
                    ),
                    order_in(
                        "111-3",
                        "SHIPPED",
                        "ATVPDKIKX0DER",
                        "AMAZON",
                        "AMAZON",
                        updated,
                    ),
                    order("111-4", "UNSHIPPED"),
                ],
                None,
            ),
        );
        let batch = import(&host, None);
        assert_eq!(ids(&batch), ["111-4"]);
        let reasons: Vec<_> = batch
            .skipped
            .iter()
            .map(|s| (s.order_id.as_str(), s.reason, s.will_retry))
            .collect();
        assert_eq!(
            reasons,
            [
                ("111-1", SkipReason::OtherMarketplace, false),
                ("111-2", SkipReason::NonAmazonSalesChannel, false),
                ("111-3", SkipReason::AmazonFulfilled, false),
            ]
        );
        let query = query_of(&host.sent.borrow()[1].uri);
        assert_eq!(
            value(&query, "fulfilledBy"),
            Some("MERCHANT"),
            "FBA orders are not even requested"
        );
        assert_eq!(value(&query, "marketplaceIds"), Some("ATVPDKIKX0DER"));
    }

    #[test]
    fn an_empty_next_token_ends_the_window() {
        let host = host();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            r#"{"orders":[],"pagination":{"nextToken":""}}"#,
        );
        let batch = import(&host, None);
        assert!(!batch.more);
        assert!(
            Checkpoint::decode(&batch.checkpoint, &us_settings())
                .unwrap()
                .window
                .is_none()
        );
    }

    #[test]
    fn an_expired_page_token_reads_the_window_again() {
        let host = host();
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-1", "UNSHIPPED")], Some("t1")),
            )
            .expect(
                "GET",
                SEARCH_PATH,
                400,
                r#"{"errors":[{"code":"InvalidInput","message":"Invalid paginationToken"}]}"#,
            )
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[order("111-1", "UNSHIPPED")], None),
            );
        let first = import(&host, None);
        let refused = import(&host, Some(&first.checkpoint));
        assert!(refused.orders.is_empty());
        assert!(refused.more, "the window starts again at once");
        assert_eq!(refused.next_call_after, host.now());
        let position = Checkpoint::decode(&refused.checkpoint, &us_settings()).unwrap();
        assert_eq!(
            position.window.as_ref().and_then(|w| w.token.as_ref()),
            None
        );
        assert_eq!(
            position.cursor,
            at("2026-11-06T15:00:00Z"),
            "the cursor never moved"
        );
        let again = import(&host, Some(&refused.checkpoint));
        assert_eq!(ids(&again), ["111-1"]);
        assert_eq!(
            query_of(&host.sent.borrow()[3].uri)
                .iter()
                .filter(|(k, _)| k == "paginationToken")
                .count(),
            0
        );
    }

    #[test]
    fn a_window_read_in_update_order_ends_where_its_pages_reached_before_its_token_expires() {
        let host = host();
        let at_ten = |id| unshipped_updated(id, "2026-11-20T10:00:00Z");
        let at_eleven = |id| unshipped_updated(id, "2026-11-20T11:00:00Z");
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[at_ten("111-1"), at_eleven("111-2")], Some("t1")),
            )
            .expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[at_eleven("111-2"), at_eleven("111-3")], None),
            );
        let first = import(&host, None);
        assert_eq!(ids(&first), ["111-1", "111-2"]);
        // Twelve hours on, the token would still work, but a window this slow might
        // not end before it expires.
        host.set_now(at("2026-11-21T03:00:01Z"));
        let later = import(&host, Some(&first.checkpoint));
        assert_eq!(
            ids(&later),
            ["111-3"],
            "111-2 came again unchanged: dropped"
        );
        let query = query_of(&host.sent.borrow()[3].uri);
        assert_eq!(value(&query, "paginationToken"), None);
        assert_eq!(
            value(&query, "lastUpdatedAfter"),
            Some("2026-11-20T10:55:00Z"),
            "the overlap before the last order read"
        );
        assert_eq!(
            value(&query, "lastUpdatedBefore"),
            Some("2026-11-21T02:58:01Z")
        );
    }

    #[test]
    fn an_order_of_a_window_read_again_half_as_wide_comes_again() {
        let host = host();
        let early = unshipped_updated("111-0", "2026-11-08T10:00:00Z");
        let late = unshipped_updated("111-2", "2026-11-20T11:00:00Z");
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[late, early.clone()], Some("t1")),
            )
            .expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[early], None));
        let first = import(&host, None);
        assert_eq!(ids(&first), ["111-2", "111-0"]);
        host.set_now(at("2026-11-21T15:00:00Z"));
        let again = import(&host, Some(&first.checkpoint));
        assert_eq!(ids(&again), ["111-0"], "delivered before, and again");
    }

    #[test]
    fn a_window_out_of_update_order_is_read_again_half_as_wide_when_its_token_would_expire() {
        let host = host();
        let at_ten = |id| unshipped_updated(id, "2026-11-20T10:00:00Z");
        let at_eleven = |id| unshipped_updated(id, "2026-11-20T11:00:00Z");
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(&[at_eleven("111-2"), at_ten("111-1")], Some("t1")),
            )
            .expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[], Some("t2")))
            .expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[], None));
        let first = import(&host, None);
        // Twelve hours on, a window out of order goes on with its token.
        host.set_now(at("2026-11-21T03:00:01Z"));
        let middle = import(&host, Some(&first.checkpoint));
        let query = query_of(&host.sent.borrow()[3].uri);
        assert_eq!(value(&query, "paginationToken"), Some("t1"));
        // A day on, it cannot be paged further and cannot end early.
        host.set_now(at("2026-11-21T15:00:00Z"));
        import(&host, Some(&middle.checkpoint));
        let query = query_of(&host.sent.borrow()[5].uri);
        assert_eq!(
            value(&query, "paginationToken"),
            None,
            "Amazon's token is 24 h old"
        );
        assert_eq!(
            value(&query, "lastUpdatedAfter"),
            Some("2026-11-06T15:00:00Z"),
            "from the cursor"
        );
        assert_eq!(
            value(&query, "lastUpdatedBefore"),
            Some("2026-11-13T14:59:00Z"),
            "half as wide as the window it replaces"
        );
    }

    #[test]
    fn a_401_evicts_the_cached_token_and_the_call_is_made_again() {
        let host = host();
        host.expect_token()
            .expect("GET", SEARCH_PATH, 401, r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#)
            .expect("POST", "/auth/o2/token", 200, r#"{"access_token":"Atza|fresh","expires_in":3600}"#)
            .expect("GET", SEARCH_PATH, 200, &page(&[order("111-1", "UNSHIPPED")], None));
        let batch = import(&host, None);
        assert_eq!(ids(&batch), ["111-1"]);
        let sent = host.sent.borrow();
        let token = |i: usize| {
            sent[i]
                .headers
                .iter()
                .find(|(k, _)| k == "x-amz-access-token")
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(token(3), "Atza|fresh");
        assert!(host.key_exists(lwa::CACHE_KEY));
    }

    #[test]
    fn a_checkpoint_from_another_store_is_refused() {
        let host = host();
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[], None));
        let batch = import(&host, None);
        let mut canada = us_settings();
        canada.marketplace_id = "A2EUQ1WTGCTBG2".into();
        let error = import_orders(&host, &canada, Some(&batch.checkpoint)).unwrap_err();
        assert!(
            matches!(error, Error::InvalidInput { ref field, .. } if field == "checkpoint"),
            "{error:?}"
        );
    }

    #[test]
    fn a_japanese_store_without_the_kanji_setting_reads_nothing() {
        let host = host();
        let mut japan = us_settings();
        japan.marketplace_id = "A1VC38T7YXB528".into();
        assert_eq!(
            import_orders(&host, &japan, None),
            Err(Error::KanjiAddressesRequired)
        );
        assert!(host.sent.borrow().is_empty());
    }

    #[test]
    fn imported_merchant_orders_are_scheduled_for_redaction() {
        let host = host();
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED")], None),
        );
        import(&host, None);
        assert!(host.key_exists("redaction/order/111-1"));
    }

    fn order_with_items(id: &str, status: &str, asins: &[&str]) -> String {
        let items: Vec<String> = asins
            .iter()
            .enumerate()
            .map(|(n, asin)| {
                format!(r#"{{"orderItemId":"{id}-{n}","quantityOrdered":2,"product":{{"asin":"{asin}"}}}}"#)
            })
            .collect();
        format!(
            r#"{{"orderId":"{id}","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T11:00:00Z",
            "salesChannel":{{"channelName":"AMAZON","marketplaceId":"ATVPDKIKX0DER"}},
            "fulfillment":{{"fulfillmentStatus":"{status}","fulfilledBy":"MERCHANT"}},
            "orderItems":[{}]}}"#,
            items.join(",")
        )
    }

    fn catalog_item(asin: &str, pounds: &str) -> String {
        format!(
            r#"{{"asin":"{asin}","dimensions":[{{"marketplaceId":"ATVPDKIKX0DER","package":{{"weight":{{"unit":"pounds","value":{pounds}}}}}}}],
            "images":[{{"marketplaceId":"ATVPDKIKX0DER","images":[{{"variant":"MAIN","link":"https://m.media-amazon.com/images/I/{asin}.jpg","height":500,"width":500}}]}}]}}"#
        )
    }

    #[test]
    fn product_info_comes_within_the_catalog_bucket_and_never_holds_an_order_back() {
        let host = FakeHost::new();
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(
                    &[
                        order_with_items("111-1", "UNSHIPPED", &["B0CAT00001", "B0CAT00002"]),
                        order_with_items("111-2", "UNSHIPPED", &["B0CAT00003"]),
                        order_with_items("111-3", "SHIPPED", &["B0CAT00004"]),
                    ],
                    None,
                ),
            )
            .expect(
                "GET",
                "/catalog/2022-04-01/items/B0CAT00001",
                200,
                &catalog_item("B0CAT00001", "0.1"),
            )
            .expect(
                "GET",
                "/catalog/2022-04-01/items/B0CAT00002",
                200,
                &catalog_item("B0CAT00002", "0.2"),
            );
        let first = import(&host, None);
        assert_eq!(
            ids(&first),
            ["111-1", "111-2", "111-3"],
            "no order waits for the catalog"
        );
        let complete = &first.orders[0];
        assert_eq!(complete.items[0].weight.as_ref().unwrap().value, "0.1");
        assert_eq!(
            complete.items[0].image_url.as_deref(),
            Some("https://m.media-amazon.com/images/I/B0CAT00001.jpg")
        );
        let weight = complete.weight.as_ref().unwrap();
        assert_eq!(
            (weight.value.as_str(), weight.unit),
            ("0.6", crate::model::WeightUnit::Pounds),
            "2 × 0.1 + 2 × 0.2, exactly"
        );
        assert_eq!(
            first.orders[1].items[0].weight, None,
            "the burst of 2 is spent"
        );
        assert_eq!(first.orders[1].weight, None);
        assert_eq!(
            first.orders[2].items[0].weight, None,
            "shipped merchant orders are not looked up"
        );
        assert_eq!(
            first.next_call_after,
            host.now() + Duration::milliseconds(500),
            "the catalog's next token"
        );
        let sent: Vec<String> = host.sent.borrow().iter().map(|s| s.uri.clone()).collect();
        assert!(
            sent[2].contains("marketplaceIds=ATVPDKIKX0DER")
                && sent[2].contains("includedData=dimensions%2Cimages"),
            "{sent:?}"
        );
        assert!(!sent.iter().any(|u| u.contains("B0CAT00004")));

        host.set_now(first.next_call_after);
        host.expect(
            "GET",
            "/catalog/2022-04-01/items/B0CAT00003",
            200,
            &catalog_item("B0CAT00003", "3"),
        );
        let second = import(&host, Some(&first.checkpoint));
        assert!(second.orders.is_empty());
        assert_eq!(
            second.products.len(),
            1,
            "the info follows for the order already delivered"
        );
        assert_eq!(second.products[0].asin, "B0CAT00003");
        assert_eq!(second.products[0].weight.as_ref().unwrap().value, "3");
        assert_eq!(host.sent.borrow().len(), 5, "only the catalog was called");

        // Cached now: the same products in a later order cost nothing.
        host.set_now(
            second
                .next_call_after
                .max(host.now() + Duration::minutes(3)),
        );
        host.expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(
                &[order_with_items(
                    "111-5",
                    "UNSHIPPED",
                    &["B0CAT00001", "B0CAT00003"],
                )],
                None,
            ),
        );
        let third = import(&host, Some(&second.checkpoint));
        assert_eq!(third.orders[0].weight.as_ref().unwrap().value, "6.2");
        assert_eq!(host.unanswered(), 0);
    }

    #[test]
    fn a_catalog_that_refuses_never_fails_the_import() {
        let host = FakeHost::new();
        let refused = r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#;
        host.expect_token()
            .expect(
                "GET",
                SEARCH_PATH,
                200,
                &page(
                    &[order_with_items(
                        "111-1",
                        "UNSHIPPED",
                        &["B0CAT00001", "B0CAT00002"],
                    )],
                    None,
                ),
            )
            .expect(
                "GET",
                "/catalog/2022-04-01/items/B0CAT00001",
                404,
                r#"{"errors":[{"code":"NotFound","message":"not found"}]}"#,
            )
            .expect("GET", "/catalog/2022-04-01/items/B0CAT00002", 403, refused);
        let mut batch = import(&host, None);
        assert_eq!(ids(&batch), ["111-1"]);
        assert!(batch.orders[0].items.iter().all(|i| i.weight.is_none()));
        let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
        assert_eq!(
            position.products,
            [PendingProduct("B0CAT00002".into(), 1)],
            "the unknown ASIN is not asked again"
        );
        // A refusal may pass (a revoked token): asked twice more, then given up.
        for _ in 0..2 {
            host.set_now(batch.next_call_after);
            host.expect_token()
                .expect("GET", "/catalog/2022-04-01/items/B0CAT00002", 403, refused);
            batch = import(&host, Some(&batch.checkpoint));
        }
        assert_eq!(host.unanswered(), 0);
        let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
        assert!(position.products.is_empty());
    }

    #[test]
    fn an_order_whose_pii_is_due_comes_back_redacted() {
        let host = host();
        let with_buyer = order("111-1", "UNSHIPPED").replace(
            r#""salesChannel""#,
            r#""buyer":{"buyerName":"Sample Buyer","buyerEmail":"sample@marketplace.amazon.com"},
               "recipient":{"deliveryAddress":{"name":"Sample Buyer","addressLine1":"1 Example Way","city":"Seattle","postalCode":"98101"}},
               "salesChannel""#,
        );
        host.expect_token().expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(std::slice::from_ref(&with_buyer), None),
        );
        let first = import(&host, None);
        assert_eq!(
            first.orders[0].customer.as_ref().unwrap().name.as_deref(),
            Some("Sample Buyer")
        );

        // 15 days later the PII is due; Amazon then sends the order again.
        host.set_now(at("2026-12-05T15:00:00Z"));
        assert!(!crate::redact::redact(&host).unwrap().is_empty());
        let changed = with_buyer.replace("11:00:00Z", "12:00:00Z");
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[changed], None));
        let again = import(&host, Some(&first.checkpoint));
        let order = &again.orders[0];
        let customer = order.customer.as_ref().unwrap();
        assert_eq!(customer.name.as_deref(), Some("REDACTED (Amazon)"));
        assert_eq!(customer.email.as_deref(), Some("REDACTED (Amazon)"));
        let address = order.ship_to.as_ref().unwrap();
        assert_eq!(address.street1.as_deref(), Some("REDACTED (Amazon)"));
        assert_eq!(
            address.city.as_deref(),
            Some("Seattle"),
            "the order keeps its city"
        );
        assert_eq!(address.postal_code.as_deref(), Some("98101"));
    }
}
