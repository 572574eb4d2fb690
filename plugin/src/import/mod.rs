//! `import-orders`: one searchOrders page per call, plus orders being retried, paced
//! by the component's view of Amazon's buckets. The position lives in a
//! [`Checkpoint`] the host stores with each batch, so a batch the host did not keep
//! comes again and one it kept never does.

pub mod catalog;
mod changed;
pub mod checkpoint;
pub mod mapping;
pub mod streams;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};

use crate::error::Error;
use crate::events::Changes;
use crate::host::{Host, Store};
use crate::model::{
    ConnectionSettings, FulfillmentChannel, ImportBatch, Order, OrderStatus, ProductInfo,
    SkipReason, SkippedOrder,
};
use crate::notify::Unshipped;
use crate::redact;
use crate::spapi::orders::{
    GetOrderResponse, SEARCH_PATH, SearchOrdersResponse, WireOrder, get_order_path,
};
use crate::spapi::{Operation, SpApi, pacing, strict};
use serde_json::value::RawValue;

pub use checkpoint::Checkpoint;
use checkpoint::{
    Delivered, MAX_DELIVERED, MAX_PRODUCTS, MAX_RETRIES, PendingProduct, Retry, Stream, Window,
};
use mapping::{MappingOptions, map_order};

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
    settings: &ConnectionSettings,
    checkpoint: Option<&str>,
) -> Result<ImportBatch, Error> {
    settings.validate_for_orders()?;
    let now = host.now();
    let store = Store::new(host);
    let mut position = match checkpoint {
        Some(text) => Checkpoint::decode(text, settings)?,
        None => Checkpoint::first(settings, now, FIRST_IMPORT_LOOKBACK),
    };
    streams::reconcile(&mut position, settings, now, FIRST_IMPORT_LOOKBACK);
    // The host stored the batch of this checkpoint: what it fetched is done with.
    let mut changes = Changes::load(&store)?;
    let waiting = changes.pending.len();
    changes.settle(&position.fetched);
    if changes.pending.len() != waiting {
        changes.save(&store)?;
    }

    let stream_due = streams::next_due(&position, now)
        .filter(|_| pacing::ready_at(&store, &Operation::SEARCH_ORDERS, now) <= now);
    let get_order_ready = pacing::ready_at(&store, &Operation::GET_ORDER, now) <= now;
    let retry_due = position.retry.iter().any(|r| r.next_at <= now) && get_order_ready;
    let changes_due = get_order_ready && changes.unfetched(&position.fetched).any(|p| p.due(now));
    let catalog_due = !position.products.is_empty()
        && pacing::ready_at(&store, &Operation::GET_CATALOG_ITEM, now) <= now;
    if stream_due.is_none() && !retry_due && !changes_due && !catalog_due {
        // Early: nothing can progress, so nothing is called, not even Login with Amazon.
        return Ok(ImportBatch {
            orders: Vec::new(),
            skipped: Vec::new(),
            products: Vec::new(),
            more: more(&position, &changes),
            next_call_after: next_call_after(&store, &position, &changes, now),
            // The same text when nothing moved, as the WIT promises.
            checkpoint: position.encode(),
        });
    }

    let api = SpApi::authorize(host, settings)?;
    let mut batch = Collected::default();
    // Changes first: they are what the host is waiting for.
    position.fetched.clear();
    if changes_due {
        let result = changed::read_changes(&api, settings, &mut position, &mut changes, &mut batch);
        changes.save(&store)?;
        result?;
    }
    if let Some(index) = stream_due {
        let window_read = read_page(&api, settings, &mut position, index, now, &mut batch)?;
        position.streams[index].next_page_at =
            next_page_at(&store, &position.streams[index], now, window_read);
    }
    if position.retry.iter().any(|r| r.next_at <= now) {
        read_retries(&api, settings, &mut position, &mut batch)?;
    }
    let products = read_catalog(&api, &store, &mut position, &mut batch.orders)?;
    after_reading(&store, &mut batch, now)?;
    // An order one path could not read and another delivered in the same call is
    // delivered: the retry the skip announced is off (the delivery took it off).
    let retrying = &position.retry;
    let delivered: Vec<&str> = batch.orders.iter().map(|o| o.order_id.as_str()).collect();
    batch.skipped.retain(|s| {
        !(s.will_retry
            && delivered.contains(&s.order_id.as_str())
            && !retrying.iter().any(|r| r.order_id == s.order_id))
    });
    // A stream that caught up joins its group now, not a call later.
    streams::reconcile(&mut position, settings, now, FIRST_IMPORT_LOOKBACK);
    changed::forget_polled_past(&mut position);
    let next = next_call_after(&store, &position, &changes, now);
    log::info!(
        "imported {} orders, skipped {}, more: {}",
        batch.orders.len(),
        batch.skipped.len(),
        more(&position, &changes)
    );
    Ok(ImportBatch {
        orders: batch.orders,
        skipped: batch.skipped,
        products,
        more: more(&position, &changes),
        next_call_after: next,
        checkpoint: position.encode(),
    })
}

/// True while a window of any stream is being paged, or changes wait for getOrder.
fn more(position: &Checkpoint, changes: &Changes) -> bool {
    paging(position) || changes.unfetched(&position.fetched).next().is_some()
}

/// True while a window of any stream is being paged.
fn paging(position: &Checkpoint) -> bool {
    position.streams.iter().any(|s| s.window.is_some())
}

/// What every batch needs before it is handed out: redacted orders stay redacted,
/// merchant orders have their redaction scheduled, and what each still has to ship
/// is remembered for its first shipment update.
fn after_reading(
    store: &Store<'_>,
    batch: &mut Collected,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // Redacted stays redacted: an order whose PII is due arrives without it, however
    // often Amazon sends it again.
    for order in &mut batch.orders {
        if redact::is_due(store, &order.order_id, now) {
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
    redact::schedule_imports(store, &merchant, now)?;
    // What each order still has to ship (ids and quantities only): its first
    // shipment update confirms all of it, as Amazon takes one update per order.
    for order in batch.orders.iter().filter(|o| {
        o.fulfillment_channel == FulfillmentChannel::Merchant
            && !matches!(o.status, OrderStatus::Shipped | OrderStatus::Cancelled)
    }) {
        let unshipped = Unshipped {
            marketplace: order.marketplace_id.clone(),
            items: order
                .items
                .iter()
                .filter(|i| i.quantity > i.quantity_shipped)
                .map(|i| (i.order_item_id.clone(), i.quantity - i.quantity_shipped))
                .collect(),
        };
        crate::notify::remember_unshipped(store, &order.order_id, &unshipped)?;
    }
    Ok(())
}

#[derive(Default)]
struct Collected {
    orders: Vec<Order>,
    skipped: Vec<SkippedOrder>,
}

/// When the next page can be read: as soon as its bucket allows while a window is
/// open or has to start again; once a window is read, a restore period later
/// (polling faster would only drain the burst a backlog needs). A new window then
/// always covers something: its cursor is the last one's end less the overlap,
/// and that end was settled before the last call.
fn next_page_at(
    store: &Store<'_>,
    stream: &Stream,
    now: DateTime<Utc>,
    window_read: bool,
) -> DateTime<Utc> {
    let search_ready = pacing::ready_at(store, &Operation::SEARCH_ORDERS, now);
    if stream.window.is_some() || !window_read {
        return search_ready;
    }
    let poll = Duration::milliseconds(
        (Operation::SEARCH_ORDERS.seconds_per_token() * 1000.0).ceil() as i64,
    );
    search_ready.max(now + poll)
}

/// When another call can make progress: the next page of any stream, a change
/// to fetch or a due retry, whichever comes first, each no sooner than its bucket
/// allows.
fn next_call_after(
    store: &Store<'_>,
    position: &Checkpoint,
    changes: &Changes,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let first_page = position
        .streams
        .iter()
        .map(|s| s.next_page_at)
        .min()
        .unwrap_or(now);
    let page = first_page
        .max(pacing::ready_at(store, &Operation::SEARCH_ORDERS, now))
        .max(now);
    let catalog = (!position.products.is_empty())
        .then(|| pacing::ready_at(store, &Operation::GET_CATALOG_ITEM, now).max(now));
    let page = catalog.map_or(page, |catalog| catalog.min(page));
    let retry = position.retry.iter().map(|r| r.next_at).min().map(|due| {
        due.max(pacing::ready_at(store, &Operation::GET_ORDER, now))
            .max(now)
    });
    let page = retry.map_or(page, |retry| retry.min(page));
    let change = changes.fetch_after(store, &position.fetched, now);
    change.map_or(page, |change| change.min(page))
}

/// Reads the next page of stream `index`'s window (opening one if none is open).
/// True when that was the window's last page.
fn read_page(
    api: &SpApi<'_>,
    settings: &ConnectionSettings,
    position: &mut Checkpoint,
    index: usize,
    now: DateTime<Utc>,
    batch: &mut Collected,
) -> Result<bool, Error> {
    let until = streams::catch_up_until(position, settings, index);
    let Checkpoint {
        streams,
        retry,
        event_delivered,
        ..
    } = position;
    let stream = &mut streams[index];
    if let Some(window) = &stream.window
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
        end_window_at(stream, frontier);
    }
    let mut narrower = until;
    if let Some(window) = &stream.window
        && now - window.opened_at > PAGE_TOKEN_LIFETIME
    {
        // It could not end early (out of update order, or more versions at its edge
        // than a checkpoint keeps): read again, half as wide, until a window fits in
        // its token's life.
        log::warn!(
            "the window opened at {} outlived its page token; reading half of it again",
            window.opened_at
        );
        let half = stream.cursor + (window.before - stream.cursor) / 2;
        narrower = Some(until.map_or(half, |until| until.min(half)));
        stream.window = None;
    }
    let window = match stream.window.take() {
        Some(window) => window,
        None => open_window(settings, stream, now, narrower),
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
                stream.window = window.token.is_some().then_some(window);
                return Ok(false);
            }
            Err(Error::Amazon(e)) if window.token.is_some() && e.status == 400 => {
                // Amazon no longer accepts the token (expired, or Amazon lost it): read
                // the window again from the cursor, which has not moved.
                log::warn!(
                    "searchOrders refused the page token ({}); reading the window again",
                    e.code
                );
                stream.window = Some(open_window(settings, stream, now, until));
                return Ok(false);
            }
            Err(e) => {
                if window.token.is_some() {
                    stream.window = Some(window);
                }
                return Err(e);
            }
        };

    let mut window = window;
    let overlap_start = window.before - CURSOR_OVERLAP;
    for raw in response.orders {
        let repeat = |id: &str, updated: &str| {
            stream.already_delivered(id, updated)
                || event_delivered.iter().any(|d| d.0 == id && d.1 == updated)
        };
        let version = match accept(&raw, now, settings, &repeat, retry, batch) {
            Verdict::Import(order) => {
                let version = (
                    order.updated_at,
                    Delivered(order.order.order_id.clone(), order.updated_text),
                );
                retry.retain(|r| r.order_id != order.order.order_id);
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
            stream.window = Some(window);
            Ok(false)
        }
        None => {
            // The window is read: the next one starts at its end, less the overlap.
            stream.cursor = stream.cursor.max(window.before - CURSOR_OVERLAP);
            stream.delivered = window.boundary;
            stream.window = None;
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
fn end_window_at(stream: &mut Stream, frontier: DateTime<Utc>) {
    if let Some(window) = stream.window.take() {
        stream.cursor = stream.cursor.max(frontier - CURSOR_OVERLAP);
        stream.delivered = window.tail;
    }
}

/// A window of `stream` from its cursor to what Amazon has settled by `now`, or to
/// `until` when that is sooner.
fn open_window(
    settings: &ConnectionSettings,
    stream: &Stream,
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Window {
    let settled = now - AMAZON_SETTLE_TIME;
    let settled = settled
        .duration_trunc(Duration::seconds(1))
        .unwrap_or(settled);
    let before = until.map_or(settled, |until| until.min(settled));
    // A stream's sources share their FBA setting (streams.rs groups them by it).
    let amazon_fulfilled = stream
        .marketplaces
        .first()
        .and_then(|m| settings.sources.iter().find(|s| &s.marketplace_id == m))
        .is_some_and(|s| s.import_fba_orders);
    let fulfilled_by = if amazon_fulfilled {
        "MERCHANT,AMAZON"
    } else {
        "MERCHANT"
    };
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    Window {
        filters: vec![
            ("lastUpdatedAfter".into(), time(stream.cursor)),
            ("lastUpdatedBefore".into(), time(before)),
            ("marketplaceIds".into(), stream.marketplaces.join(",")),
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
    settings: &ConnectionSettings,
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
                    fail(&mut position.retry, batch, &order_id, e.to_string(), now);
                    continue;
                }
                Err(e) => return Err(e),
            };
        let Checkpoint {
            retry,
            event_delivered,
            ..
        } = &mut *position;
        // The host was told this order comes again: it does, even as a version
        // the host may have had from another path (the upsert absorbs it).
        let repeat = |_: &str, _: &str| false;
        match accept(&response.order, now, settings, &repeat, retry, batch) {
            Verdict::Import(order) => {
                retry.retain(|r| r.order_id != order_id);
                // Polling may read this version again: it drops it then.
                if event_delivered.len() < MAX_DELIVERED {
                    event_delivered.push(Delivered(
                        order.order.order_id.clone(),
                        order.updated_text.clone(),
                    ));
                }
                batch.orders.push(order.order);
            }
            Verdict::Repeat(..) => retry.retain(|r| r.order_id != order_id),
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
    position: &mut Checkpoint,
    orders: &mut [Order],
) -> Result<Vec<ProductInfo>, Error> {
    let now = api.now();
    let mut known_before = catalog::Known::new(store, now);
    for order in orders.iter().filter(|o| catalog::wants_product_info(o)) {
        let marketplace = order.marketplace_id.as_str();
        for asin in order.items.iter().filter_map(|i| i.asin.as_ref()) {
            if position.products.len() < MAX_PRODUCTS
                && !position
                    .products
                    .iter()
                    .any(|p| &p.0 == asin && p.2 == marketplace)
                && known_before.get(marketplace, asin).is_none()
            {
                let pending = PendingProduct(asin.clone(), 0, marketplace.to_owned());
                position.products.push(pending);
            }
        }
    }
    let mut products = Vec::new();
    while let Some(PendingProduct(asin, refusals, marketplace)) = position.products.first().cloned()
    {
        let info = match catalog::cached(store, &marketplace, &asin, api.now()) {
            Some(info) => info,
            None => match catalog::fetch(api, store, &marketplace, &asin) {
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
                        let again = PendingProduct(asin, refusals + 1, marketplace);
                        position.products.push(again);
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
    let mut known = catalog::Known::new(store, now.max(api.now()));
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
    settings: &ConnectionSettings,
    already_delivered: &dyn Fn(&str, &str) -> bool,
    retry: &mut Vec<Retry>,
    batch: &mut Collected,
) -> Verdict {
    // A page's orders are valid JSON (the page parsed), so this only reads fields:
    // the few it decides on, unless the order is odd enough (a repeated key) to need
    // the whole tree.
    let fields = strict::from_slice::<Envelope>(raw.get().as_bytes())
        .map(serde_json::Value::from)
        .or_else(|_| strict::from_slice(raw.get().as_bytes()))
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
    // An order without a marketplace is taken as the first source's, as Amazon
    // answered the query for it.
    let source = match &marketplace {
        Some(m) => settings.source(m),
        None => settings.sources.first(),
    };
    let skip = if channel.as_deref() == Some("NON_AMAZON") {
        Some(foreign(
            SkipReason::NonAmazonSalesChannel,
            "a Multi-Channel Fulfillment order from another sales channel".into(),
        ))
    } else if source.is_none() {
        Some(foreign(
            SkipReason::OtherMarketplace,
            format!("placed in marketplace {}", marketplace.unwrap_or_default()),
        ))
    } else if !source.as_ref().is_some_and(|s| s.import_fba_orders)
        && text(&["fulfillment", "fulfilledBy"]).as_deref() == Some("AMAZON")
    {
        Some(foreign(
            SkipReason::AmazonFulfilled,
            "fulfilled by Amazon, and FBA import is off".into(),
        ))
    } else {
        None
    };
    let (Some(source), None) = (source, &skip) else {
        retry.retain(|r| r.order_id != order_id);
        batch.skipped.extend(skip);
        return Verdict::Skipped;
    };
    let updated_text = text(&["lastUpdatedTime"]).unwrap_or_default();
    if already_delivered(&order_id, &updated_text) {
        let updated_at = DateTime::parse_from_rfc3339(&updated_text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        return Verdict::Repeat(updated_at, Delivered(order_id, updated_text));
    }

    let options = MappingOptions {
        product_identifier: source.product_identifier,
    };
    let mapped = strict::from_slice::<WireOrder>(raw.get().as_bytes())
        .map_err(|e| e.to_string())
        .and_then(|wire| map_order(wire, options));
    match mapped {
        Ok(order) => Verdict::Import(Box::new(Accepted {
            updated_at: order.updated_at,
            order,
            updated_text,
        })),
        Err(reason) => {
            fail(retry, batch, &order_id, reason, now);
            Verdict::Skipped
        }
    }
}

/// Records one failed reading: on the retry list with a growing delay, or given up.
fn fail(
    retry: &mut Vec<Retry>,
    batch: &mut Collected,
    order_id: &str,
    reason: String,
    now: DateTime<Utc>,
) {
    log::warn!("order {order_id} could not be read: {reason}");
    let room = retry.len() < MAX_RETRIES;
    let attempts = match retry.iter_mut().find(|r| r.order_id == order_id) {
        Some(entry) => {
            entry.attempts += 1;
            entry.next_at = now + retry_delay(entry.attempts);
            entry.attempts
        }
        None if room => {
            retry.push(Retry {
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
        retry.retain(|r| r.order_id != order_id);
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
mod tests;
