//! `on-label-created` and `send-queued-notifications`: one shipment update per order,
//! through a write-ahead outbox. Each update is stored before any call that sends
//! it and moves forward only on Amazon's answer; a lost answer is resolved by
//! Amazon's own PACKAGES data, never by sending blindly again. Updates go by
//! confirmShipment or, when that reaches Amazon sooner under the current buckets,
//! together in one `POST_ORDER_FULFILLMENT_DATA` feed ([`feed`]).

pub mod feed;
pub mod outbox;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AmazonError, Error};
use crate::host::{Host, Store};
use crate::model::{
    ConnectionSettings, LabelEvent, LabelOrder, NotSentReason, NotificationOutcome,
    NotificationReport, NotificationResult, SourceSettings,
};
use crate::redact;
use crate::spapi::orders::{GetOrderResponse, get_order_path};
use crate::spapi::shipments::{ConfirmItem, ConfirmShipmentRequest, PackageDetail, confirm_path};
use crate::spapi::{Operation, SpApi, carriers, pacing};
pub use outbox::{
    Notified, OUTBOX_INDEX_PREFIX, OUTBOX_PARTS, OUTBOX_PREFIX, Outbox, OutboxEntry,
    SHIPMENT_PREFIX, Stage,
};

pub use crate::keys::UNSHIPPED_PREFIX;

/// What an imported order still has to ship (order item ids and quantities), and
/// the marketplace it was sold in: its shipment update goes there.
#[derive(Debug, Serialize, Deserialize)]
pub struct Unshipped {
    /// The order's marketplace.
    pub marketplace: String,
    /// Order item ids and the quantities still to ship.
    pub items: Vec<(String, u32)>,
}

/// Keeps what an imported order still has to ship, and where it was sold.
pub fn remember_unshipped(
    store: &Store<'_>,
    order_id: &str,
    unshipped: &Unshipped,
) -> Result<(), Error> {
    store.save(&format!("{UNSHIPPED_PREFIX}{order_id}"), unshipped)
}

/// True when Amazon has tracking for the order from this connection's updates (or
/// found it shipped elsewhere when an update was due).
pub fn shipped_by_this_connection(store: &Store<'_>, order_id: &str) -> Result<bool, Error> {
    // Only whether the record is there: its shape is the outbox's concern.
    store
        .load::<serde::de::IgnoredAny>(&format!("{SHIPMENT_PREFIX}{order_id}"))
        .map(|record| record.is_some())
}

/// Amazon assigns one package per order here: the order's first (and only) update.
const PACKAGE_REFERENCE_ID: &str = "1";
/// Retry delay after a transport failure or an Amazon 5xx.
const RETRY_AFTER_FAILURE: Duration = Duration::seconds(60);

/// Sends tracking for each (label, order) and reports one outcome for each. Every
/// update is written to the outbox before anything is sent, so an error or a crash
/// after that loses none: `send-queued-notifications` sends what this call could not.
/// Calling it again with the same label returns the update's state and sends
/// nothing new.
///
/// Labels for an order that an earlier label of the same call also ships wait for
/// that label's outcome: sent makes them `already-notified`, still queued
/// `earlier-update-queued`, refused by Amazon lets the next one go.
pub fn on_label_created(
    host: &dyn Host,
    settings: &ConnectionSettings,
    labels: &[LabelEvent],
) -> Result<Vec<NotificationOutcome>, Error> {
    settings.validate()?;
    let store = Store::new(host);
    let now = host.now();
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (label_index, label) in labels.iter().enumerate() {
        for (order_index, order) in label.orders.iter().enumerate() {
            let label_field = format!("labels[{label_index}]");
            let checked = check_label(label, order, &label_field, order_index);
            let field = format!("{label_field}.orders[{order_index}]");
            rows.push(Row {
                label,
                order,
                field,
                settled: checked.err().map(NotificationResult::NotSent),
            });
        }
    }
    let mut waiting: Vec<usize> = (0..rows.len())
        .filter(|&r| rows[r].settled.is_none())
        .collect();
    // What this call's dispatches did, by (order, label): an order may have had a
    // refused label and then a sent one.
    let mut sent_now: BTreeMap<(String, String), NotificationResult> = BTreeMap::new();
    let mut api: Option<SpApi<'_>> = None;
    // Each round plans the first waiting label of every order; the others wait for
    // its outcome, so every round settles at least one label per order.
    while !waiting.is_empty() {
        let mut claimed = BTreeSet::new();
        let mut fresh = Vec::new();
        let mut behind = Vec::new();
        for row in waiting {
            let Row { label, order, .. } = rows[row];
            if !claimed.insert(order.order_id.as_str()) {
                behind.push(row);
                continue;
            }
            match plan(&store, settings, label, order, &rows[row].field, now) {
                Ok(Planned::New(entry)) => fresh.push((row, entry)),
                Ok(Planned::Known) => {}
                Ok(Planned::Settled(outcome)) => rows[row].settled = Some(outcome),
                Err(Error::Storage(e)) => rows[row].settled = Some(storage_failed(e)),
                Err(e) => return Err(e),
            }
        }
        let kept = keep(&store, &mut rows, fresh)?;
        if !kept.is_empty() {
            if api.is_none() {
                api = Some(SpApi::authorize(host, settings)?);
            }
            let api = api.as_ref().expect("authorized above");
            for (order_id, label_id, outcome) in dispatch(api, &store, settings, kept)? {
                sent_now.insert((order_id, label_id), outcome);
            }
        }
        waiting = behind;
    }
    rows.into_iter()
        .map(|row| outcome_of(&store, row, &sent_now, now))
        .collect()
}

/// One (label, order) of an `on-label-created` call.
#[derive(Clone)]
struct Row<'l> {
    label: &'l LabelEvent,
    order: &'l LabelOrder,
    /// Where the order is in the call's arguments: "labels[0].orders[1]".
    field: String,
    /// The outcome, once it is known without asking the outbox.
    settled: Option<NotificationResult>,
}

fn storage_failed(reason: String) -> NotificationResult {
    NotificationResult::NotSent(NotSentReason::StorageFailed(reason))
}

/// Writes the planned updates ahead: the index once for all, then each update. An
/// update whose write failed is not kept, so not sent; the others go on.
fn keep(
    store: &Store<'_>,
    rows: &mut [Row<'_>],
    fresh: Vec<(usize, OutboxEntry)>,
) -> Result<Vec<(String, OutboxEntry)>, Error> {
    let outbox = Outbox::new(store);
    let order_ids: Vec<&str> = fresh
        .iter()
        .map(|(row, _)| rows[*row].order.order_id.as_str())
        .collect();
    match outbox.reserve(&order_ids) {
        Ok(()) => {}
        Err(Error::Storage(e)) => {
            for (row, _) in &fresh {
                rows[*row].settled = Some(storage_failed(e.clone()));
            }
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    }
    let mut kept = Vec::new();
    for (row, entry) in fresh {
        let order_id = rows[row].order.order_id.clone();
        match outbox.update(&order_id, &entry) {
            Ok(()) => kept.push((order_id, entry)),
            Err(Error::Storage(e)) => rows[row].settled = Some(storage_failed(e)),
            Err(e) => return Err(e),
        }
    }
    Ok(kept)
}

/// The row's outcome: settled, sent in this call, or the outbox's state. A label
/// whose update was not sent still holds the buyer's address: it gets a redaction
/// schedule of its own (a sent one is scheduled with its order).
fn outcome_of(
    store: &Store<'_>,
    row: Row<'_>,
    sent_now: &BTreeMap<(String, String), NotificationResult>,
    now: DateTime<Utc>,
) -> Result<NotificationOutcome, Error> {
    let Row {
        label,
        order,
        settled,
        ..
    } = row;
    let outcome = match settled {
        Some(outcome) => outcome,
        None => match sent_now.get(&(order.order_id.clone(), label.label_id.clone())) {
            Some(outcome) => outcome.clone(),
            None => match state_of(store, &order.order_id, &label.label_id, now) {
                Ok(outcome) => outcome,
                Err(Error::Storage(e)) => storage_failed(e),
                Err(e) => return Err(e),
            },
        },
    };
    if matches!(outcome, NotificationResult::NotSent(_))
        && let Err(e) = redact::schedule_label(store, &order.order_id, label)
    {
        log::error!(
            "label {} could not be scheduled for redaction: {e}",
            label.label_id
        );
    }
    Ok(NotificationOutcome {
        label_id: label.label_id.clone(),
        order_id: order.order_id.clone(),
        outcome,
    })
}

/// What planning one (label, order) found.
enum Planned {
    /// A new update, to be written ahead.
    New(OutboxEntry),
    /// This label's update is already in the outbox (a repeated call).
    Known,
    /// Nothing to send: the outcome is already known.
    Settled(NotificationResult),
}

fn plan(
    store: &Store<'_>,
    settings: &ConnectionSettings,
    label: &LabelEvent,
    order: &LabelOrder,
    field: &str,
    now: DateTime<Utc>,
) -> Result<Planned, Error> {
    let outbox = Outbox::new(store);
    if let Some(notified) = outbox.notified(&order.order_id)? {
        return Ok(Planned::Settled(if notified.label_id == label.label_id {
            sent_result(&notified)
        } else {
            NotificationResult::NotSent(NotSentReason::AlreadyNotified)
        }));
    }
    if let Some(rejected) = outbox.rejected(&order.order_id)?
        && rejected.label_id == label.label_id
    {
        return Ok(Planned::Settled(NotificationResult::NotSent(
            NotSentReason::Rejected(rejected.error),
        )));
    }
    // One update per order: while an earlier label's is on its way, this one is not
    // sent (and the earlier one is not replaced).
    if let Some(queued) = outbox.get(&order.order_id)? {
        return Ok(if queued.label_id == label.label_id {
            Planned::Known
        } else {
            Planned::Settled(NotificationResult::NotSent(
                NotSentReason::EarlierUpdateQueued(queued.label_id),
            ))
        });
    }
    let unshipped: Option<Unshipped> =
        store.load(&format!("{UNSHIPPED_PREFIX}{}", order.order_id))?;
    let source = match source_of(settings, unshipped.as_ref(), order, field) {
        Ok(source) => source,
        Err(reason) => return Ok(Planned::Settled(NotificationResult::NotSent(reason))),
    };
    let (carrier_code, carrier_name) = carriers::amazon_carrier(
        &label.carrier_code,
        label.carrier_name.as_deref(),
        &source.carrier_codes,
    );
    Ok(Planned::New(OutboxEntry {
        label_id: label.label_id.clone(),
        request: ConfirmShipmentRequest {
            marketplace_id: source.marketplace_id.clone(),
            package_detail: PackageDetail {
                package_reference_id: PACKAGE_REFERENCE_ID.to_owned(),
                carrier_code,
                carrier_name,
                shipping_method: label.service.clone(),
                tracking_number: label.tracking_number.clone(),
                ship_date: label.ship_date.to_rfc3339_opts(SecondsFormat::Millis, true),
                order_items: items_to_confirm(unshipped, order),
            },
        },
        retry_at: now,
        automatic_tracking: label.automatic_tracking,
        label_created_at: Some(label.created_at),
        stage: Stage::Pending,
        direct_only: false,
    }))
}

fn sent_result(notified: &Notified) -> NotificationResult {
    match &notified.feed_id {
        Some(feed_id) => NotificationResult::SentInFeed(feed_id.clone()),
        None => NotificationResult::Sent,
    }
}

/// Where this label's update for the order stands now.
fn state_of(
    store: &Store<'_>,
    order_id: &str,
    label_id: &str,
    now: DateTime<Utc>,
) -> Result<NotificationResult, Error> {
    let outbox = Outbox::new(store);
    if let Some(notified) = outbox.notified(order_id)? {
        return Ok(if notified.label_id == label_id {
            sent_result(&notified)
        } else {
            NotificationResult::NotSent(NotSentReason::AlreadyNotified)
        });
    }
    let Some(entry) = outbox.get(order_id)? else {
        return Ok(match outbox.rejected(order_id)? {
            Some(rejected) if rejected.label_id == label_id => {
                NotificationResult::NotSent(NotSentReason::Rejected(rejected.error))
            }
            // The outbox was emptied under it (by hand, or a damaged record).
            _ => NotificationResult::NotSent(NotSentReason::StorageFailed(format!(
                "no record of the update for {order_id}; send the label again"
            ))),
        });
    };
    if entry.label_id != label_id {
        return Ok(NotificationResult::NotSent(
            NotSentReason::EarlierUpdateQueued(entry.label_id),
        ));
    }
    Ok(match &entry.stage {
        Stage::InFeed { job } => match feed::submission(store, job, now)? {
            Some(submission) => NotificationResult::InFeed(submission),
            None => NotificationResult::Queued(feed::next_step_at(store, job, now)?),
        },
        Stage::Pending => NotificationResult::Queued(entry.retry_at.max(pacing::ready_at(
            store,
            &Operation::CONFIRM_SHIPMENT,
            now,
        ))),
        Stage::Sending | Stage::Verify => {
            NotificationResult::Queued(now.max(pacing::ready_at(store, &Operation::GET_ORDER, now)))
        }
    })
}

/// Sends the due pending updates among `candidates` by the sooner path, as far as
/// the buckets allow now. Returns the outcome of each update that moved, with its
/// label id.
fn dispatch(
    api: &SpApi<'_>,
    store: &Store<'_>,
    settings: &ConnectionSettings,
    candidates: Vec<(String, OutboxEntry)>,
) -> Result<Vec<feed::Moved>, Error> {
    let now = api.now();
    let due: Vec<(String, OutboxEntry)> = candidates
        .into_iter()
        .filter(|(_, e)| e.stage == Stage::Pending && e.retry_at <= now)
        .collect();
    let (batchable, mut direct): (Vec<_>, Vec<_>) =
        due.into_iter().partition(|(_, e)| !e.direct_only);
    let mut moved = Vec::new();
    // A feed is applied to the marketplaces it names, and an order-fulfillment
    // message names none: each marketplace's updates go in a feed of their own.
    let mut by_marketplace: BTreeMap<String, Vec<(String, OutboxEntry)>> = BTreeMap::new();
    for (order_id, entry) in batchable {
        let marketplace = entry.request.marketplace_id.clone();
        by_marketplace
            .entry(marketplace)
            .or_default()
            .push((order_id, entry));
    }
    // One confirmShipment bucket serves every update not in a feed: a marketplace's
    // updates go in a feed when it ends no later than the direct path would with
    // them on it. The largest first, the first of equals (a handful of them).
    let mut groups: Vec<_> = by_marketplace.into_iter().collect();
    let mut on_direct_path: usize = groups.iter().map(|(_, batch)| batch.len()).sum();
    while let Some(largest) =
        (0..groups.len()).min_by_key(|&i| std::cmp::Reverse(groups[i].1.len()))
    {
        let (marketplace, batch) = groups.remove(largest);
        if batch.len() >= 2 && feed::is_sooner(store, on_direct_path, api.now()) {
            on_direct_path -= batch.len();
            let job = feed::open(store, &marketplace, &batch, api.now())?;
            moved.extend(feed::advance(api, store, settings, &job)?);
        } else {
            direct.extend(batch);
        }
    }
    outbox::sort_by_retry(&mut direct);
    for (order_id, entry) in direct {
        if api.ready_at(Operation::CONFIRM_SHIPMENT) > api.now() {
            // The bucket is empty: the rest wait for it (their outcome says when).
            break;
        }
        let label_id = entry.label_id.clone();
        match send_direct(api, store, &order_id, entry) {
            Ok(outcome) => moved.push((order_id, label_id, outcome)),
            // Storage failed before the call: the update is still pending in the
            // outbox, and nothing more is sent while storage cannot record it.
            Err(Error::Storage(e)) => {
                log::error!("the update for {order_id} was not sent: {e}");
                let retry_at = api.now() + RETRY_AFTER_FAILURE;
                moved.push((order_id, label_id, NotificationResult::Queued(retry_at)));
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}

/// Sends one update by confirmShipment. The entry is marked `Sending` before the
/// call; on Amazon's acceptance the order is marked notified and its redaction
/// scheduled; on a failure worth retrying it goes back to pending; on Amazon's
/// refusal it is dropped (after Amazon's PACKAGES data says it does not have it).
fn send_direct(
    api: &SpApi<'_>,
    store: &Store<'_>,
    order_id: &str,
    mut entry: OutboxEntry,
) -> Result<NotificationResult, Error> {
    let outbox = Outbox::new(store);
    entry.stage = Stage::Sending;
    outbox.update(order_id, &entry)?;
    let sent = api.post_json(
        Operation::CONFIRM_SHIPMENT,
        &confirm_path(order_id),
        &entry.request,
    );
    let retry_at = match sent {
        Ok(_) => {
            record_sent(store, order_id, &entry, None, api.now());
            return Ok(NotificationResult::Sent);
        }
        Err(Error::Throttled { retry_at }) => retry_at,
        Err(Error::Transport(reason)) => {
            // The request may have reached Amazon: ask before sending it again.
            log::warn!("confirmShipment for {order_id} failed in transit: {reason}");
            entry.stage = Stage::Verify;
            entry.retry_at = api.now() + RETRY_AFTER_FAILURE;
            outbox.update(order_id, &entry)?;
            return Ok(NotificationResult::Queued(entry.retry_at));
        }
        // Not Amazon's verdict on the update: a server error, a timeout (408), a
        // redirect from something in between, or a token refused twice (401).
        Err(Error::Amazon(e)) if e.status >= 500 || matches!(e.status, 300..=399 | 408) => {
            api.now() + RETRY_AFTER_FAILURE
        }
        // Refused even with a fresh token: the seller's authorization, not the
        // update, is at fault. It waits for the seller to fix it, never dropped.
        Err(Error::AccessDenied(e)) => {
            log::warn!(
                "confirmShipment for {order_id} denied: {} {}",
                e.status,
                e.code
            );
            api.now() + RETRY_AFTER_FAILURE
        }
        // Amazon may refuse an update because it already has it (an answer lost on
        // the way back, a second worker): its own PACKAGES data decides.
        Err(Error::Amazon(e))
            if e.status == 400 && amazon_has(api, order_id, &entry) == Some(true) =>
        {
            log::info!("Amazon already has the tracking for {order_id}");
            record_sent(store, order_id, &entry, None, api.now());
            return Ok(NotificationResult::Sent);
        }
        Err(Error::Amazon(e)) => {
            reject(store, order_id, &entry, &e, api.now())?;
            return Ok(NotificationResult::NotSent(NotSentReason::Rejected(e)));
        }
        Err(other) => {
            // Nothing reached Amazon (e.g. the request could not be built): kept.
            entry.stage = Stage::Pending;
            outbox.update(order_id, &entry)?;
            return Err(other);
        }
    };
    entry.stage = Stage::Pending;
    entry.retry_at = retry_at;
    outbox.update(order_id, &entry)?;
    Ok(NotificationResult::Queued(retry_at))
}

/// Amazon refused the update: the verdict is kept (so a repeated call returns
/// it), the update leaves the outbox, and its label gets its own redaction
/// schedule. Once the verdict is kept it is the outcome, whatever storage does
/// next.
fn reject(
    store: &Store<'_>,
    order_id: &str,
    entry: &OutboxEntry,
    error: &AmazonError,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let outbox = Outbox::new(store);
    outbox.mark_rejected(
        order_id,
        &outbox::Rejected {
            label_id: entry.label_id.clone(),
            error: error.clone(),
        },
    )?;
    let cleaned = outbox
        .remove(order_id)
        .and_then(|()| redact::schedule_label(store, order_id, &entry.label(order_id, now)));
    if let Err(e) = cleaned {
        log::error!("Amazon refused the update for {order_id}; recording it failed: {e}");
    }
    Ok(())
}

/// Amazon has the update: that is the outcome, whatever storage does next.
fn record_sent(
    store: &Store<'_>,
    order_id: &str,
    entry: &OutboxEntry,
    feed_id: Option<&str>,
    now: DateTime<Utc>,
) {
    record_all_sent(store, &[(order_id, entry)], feed_id, now);
}

/// Amazon has these updates (a feed's report): each order is marked notified, then
/// the outbox lets go of them together (each index part written once), then they
/// are scheduled for redaction together. That is their outcome, whatever storage
/// does next: an order whose mark failed stays in the outbox and is checked with
/// Amazon before anything is sent again.
fn record_all_sent(
    store: &Store<'_>,
    sent: &[(&str, &OutboxEntry)],
    feed_id: Option<&str>,
    now: DateTime<Utc>,
) {
    let outbox = Outbox::new(store);
    let mut marked = Vec::new();
    for (order_id, entry) in sent {
        let notified = Notified {
            label_id: entry.label_id.clone(),
            sent_at: now,
            feed_id: feed_id.map(str::to_owned),
        };
        match outbox.mark_notified(order_id, &notified) {
            Ok(()) => marked.push((*order_id, *entry)),
            Err(e) => {
                log::error!("Amazon has the update for {order_id}, but recording it failed: {e}");
            }
        }
    }
    let order_ids: Vec<&str> = marked.iter().map(|(order_id, _)| *order_id).collect();
    let shipments: Vec<(&str, LabelEvent)> = marked
        .iter()
        .map(|(order_id, entry)| (*order_id, entry.label(order_id, now)))
        .collect();
    let recorded = outbox
        .remove_all(&order_ids)
        .and_then(|()| redact::schedule_shipments(store, &shipments, now));
    if let Err(e) = recorded {
        log::error!(
            "Amazon has {} updates; recording them in full failed: {e}",
            marked.len()
        );
    }
}

/// Whether Amazon's PACKAGES data for the order holds this update's tracking
/// number; `None` when Amazon could not be asked now.
fn amazon_has(api: &SpApi<'_>, order_id: &str, entry: &OutboxEntry) -> Option<bool> {
    let query = [("includedData", "PACKAGES".to_owned())];
    let response = match api.get::<GetOrderResponse>(
        Operation::GET_ORDER,
        &get_order_path(order_id),
        &query,
    ) {
        Ok(response) => response,
        // Amazon does not know the order: it cannot have its tracking.
        Err(Error::Amazon(e)) if e.status == 404 => return Some(false),
        Err(_) => return None,
    };
    #[derive(serde::Deserialize)]
    struct Packages {
        #[serde(default)]
        packages: Vec<crate::spapi::orders::Package>,
    }
    let packages =
        crate::spapi::strict::from_slice::<Packages>(response.order.get().as_bytes()).ok()?;
    Some(packages.packages.iter().any(|p| {
        p.tracking_number.as_deref() == Some(entry.request.package_detail.tracking_number.as_str())
    }))
}

/// Resolves an update whose fate is unknown by Amazon's PACKAGES data: sent when
/// Amazon has it, pending again when it does not, left as it is when Amazon cannot
/// be asked now.
fn verify(
    api: &SpApi<'_>,
    store: &Store<'_>,
    order_id: &str,
    mut entry: OutboxEntry,
) -> Result<Option<NotificationResult>, Error> {
    match amazon_has(api, order_id, &entry) {
        Some(true) => {
            record_sent(store, order_id, &entry, None, api.now());
            Ok(Some(NotificationResult::Sent))
        }
        Some(false) => {
            entry.stage = Stage::Pending;
            entry.retry_at = api.now();
            Outbox::new(store).update(order_id, &entry)?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Sends the queued updates that are due, resolves updates whose answer was lost,
/// and follows feeds in progress, as far as the buckets allow now.
pub fn send_queued_notifications(
    host: &dyn Host,
    settings: &ConnectionSettings,
) -> Result<NotificationReport, Error> {
    settings.validate()?;
    let store = Store::new(host);
    let mut outcomes = Vec::new();
    // Outcomes already produced are never thrown away by a later failure: the
    // host gets them, and calls again for the rest.
    let mut untouched = None;
    match deliver_due(host, settings, &store, &mut outcomes) {
        Ok(entries) => untouched = entries,
        Err(e) if outcomes.is_empty() => return Err(e),
        Err(e) => log::error!("delivery stopped after {} updates: {e}", outcomes.len()),
    }
    // A call with nothing due changed nothing: the outbox it read is still current.
    let entries = match untouched {
        Some(entries) => Ok(entries),
        None => Outbox::new(&store).all(),
    };
    let (pending, next_call_after) = match entries.and_then(|e| next_call(&store, &e, host.now())) {
        Ok(next) => next,
        Err(e) if outcomes.is_empty() => return Err(e),
        Err(e) => {
            log::error!("the outbox could not be read back: {e}");
            (0, Some(host.now() + RETRY_AFTER_FAILURE))
        }
    };
    log::info!("delivered {} updates, {} pending", outcomes.len(), pending);
    Ok(NotificationReport {
        outcomes,
        pending,
        next_call_after,
    })
}

/// The work of [`send_queued_notifications`]; each outcome goes into `outcomes` as
/// soon as it is known.
fn deliver_due(
    host: &dyn Host,
    settings: &ConnectionSettings,
    store: &Store<'_>,
    outcomes: &mut Vec<NotificationOutcome>,
) -> Result<Option<Vec<(String, OutboxEntry)>>, Error> {
    let outbox = Outbox::new(store);
    let now = host.now();
    let jobs = feed::jobs(store)?;
    let mut entries = outbox.all()?;
    // An update marked as in a feed job that no longer exists (the job ended while
    // a failed write left the mark) may or may not be at Amazon: Amazon is asked.
    for (order_id, entry) in &mut entries {
        if let Stage::InFeed { job } = &entry.stage
            && !jobs.contains(job)
        {
            entry.stage = Stage::Verify;
            entry.retry_at = now;
            outbox.update(order_id, entry)?;
        }
    }
    let work_due = entries.iter().any(|(_, e)| match e.stage {
        Stage::Pending => e.retry_at <= now,
        Stage::Sending | Stage::Verify => e.retry_at <= now || e.stage == Stage::Sending,
        Stage::InFeed { .. } => false,
    }) || jobs
        .iter()
        .any(|job| feed::next_step_at(store, job, now).is_ok_and(|at| at <= now));
    if !work_due {
        return Ok(Some(entries));
    }
    {
        let api = SpApi::authorize(host, settings)?;
        let mut pending = Vec::new();
        for (order_id, mut entry) in entries {
            match entry.stage {
                Stage::Pending => pending.push((order_id, entry)),
                Stage::Sending | Stage::Verify => {
                    // Found by a later call, a `Sending` entry's answer was lost.
                    if entry.stage == Stage::Sending {
                        entry.stage = Stage::Verify;
                        entry.retry_at = entry.retry_at.min(now);
                        outbox.update(&order_id, &entry)?;
                    }
                    if entry.retry_at > now || api.ready_at(Operation::GET_ORDER) > api.now() {
                        continue;
                    }
                    let label_id = entry.label_id.clone();
                    match verify(&api, store, &order_id, entry)? {
                        Some(outcome) => outcomes.push(NotificationOutcome {
                            label_id,
                            order_id,
                            outcome,
                        }),
                        None => {
                            if let Some(entry) = outbox.get(&order_id)?
                                && entry.stage == Stage::Pending
                            {
                                pending.push((order_id, entry));
                            }
                        }
                    }
                }
                Stage::InFeed { .. } => {}
            }
        }
        for job in &jobs {
            for (order_id, label_id, outcome) in feed::advance(&api, store, settings, job)? {
                outcomes.push(NotificationOutcome {
                    label_id,
                    order_id,
                    outcome,
                });
            }
        }
        // Feeds that failed send their updates back to pending: they go now too.
        let listed: BTreeSet<String> = pending.iter().map(|(id, _)| id.clone()).collect();
        for (order_id, entry) in outbox.all()? {
            if entry.stage == Stage::Pending && !listed.contains(&order_id) {
                pending.push((order_id, entry));
            }
        }
        for (order_id, label_id, outcome) in dispatch(&api, store, settings, pending)? {
            outcomes.push(NotificationOutcome {
                label_id,
                order_id,
                outcome,
            });
        }
    }
    Ok(None)
}

/// How many updates the outbox holds, and when the next of them can move.
fn next_call(
    store: &Store<'_>,
    entries: &[(String, OutboxEntry)],
    now: DateTime<Utc>,
) -> Result<(u32, Option<DateTime<Utc>>), Error> {
    let confirm_ready = pacing::ready_at(store, &Operation::CONFIRM_SHIPMENT, now);
    let get_order_ready = pacing::ready_at(store, &Operation::GET_ORDER, now);
    let mut next: Option<DateTime<Utc>> = None;
    let mut earliest = |at: DateTime<Utc>| next = Some(next.map_or(at, |n| n.min(at)));
    for (_, entry) in entries {
        match entry.stage {
            Stage::Pending => earliest(entry.retry_at.max(confirm_ready)),
            Stage::Sending | Stage::Verify => earliest(entry.retry_at.max(get_order_ready)),
            Stage::InFeed { .. } => {}
        }
    }
    for job in feed::jobs(store)? {
        earliest(feed::next_step_at(store, &job, now)?);
    }
    Ok((u32::try_from(entries.len()).unwrap_or(u32::MAX), next))
}

/// The order source an order's update goes to: the marketplace it was imported
/// from, else the one the host names, else the connection's only source. A
/// marketplace that is not (or no longer) a source of the connection gets none.
fn source_of<'s>(
    settings: &'s ConnectionSettings,
    unshipped: Option<&Unshipped>,
    order: &LabelOrder,
    field: &str,
) -> Result<&'s SourceSettings, NotSentReason> {
    let invalid = |reason: String| NotSentReason::InvalidLabel {
        field: format!("{field}.marketplace-id"),
        reason,
    };
    let imported = unshipped.map(|u| u.marketplace.as_str());
    let marketplace = match (imported, order.marketplace_id.as_deref()) {
        (Some(imported), Some(named)) if imported != named => {
            return Err(invalid(format!("the order was imported from {imported}")));
        }
        (Some(marketplace), _) | (None, Some(marketplace)) => marketplace,
        (None, None) => match settings.sources.as_slice() {
            [only] => return Ok(only),
            _ => {
                return Err(invalid(
                    "the order was not imported here and the connection has several sources: name its marketplace".into(),
                ));
            }
        },
    };
    settings.source(marketplace).ok_or_else(|| {
        invalid(format!(
            "marketplace {marketplace} is not an order source of this connection"
        ))
    })
}

/// The order's one shipment update carries everything it still has to ship (a split
/// order's later packages would otherwise never be confirmed); the label's items
/// when the order was not imported here.
fn items_to_confirm(unshipped: Option<Unshipped>, order: &LabelOrder) -> Vec<ConfirmItem> {
    match unshipped.filter(|u| !u.items.is_empty()) {
        Some(unshipped) => unshipped
            .items
            .into_iter()
            .map(|(order_item_id, quantity)| ConfirmItem {
                order_item_id,
                quantity,
            })
            .collect(),
        None => order
            .items
            .iter()
            .map(|i| ConfirmItem {
                order_item_id: i.order_item_id.clone(),
                quantity: i.quantity,
            })
            .collect(),
    }
}

/// What Amazon needs from a label, checked before spending a call on it.
fn check_label(
    label: &LabelEvent,
    order: &LabelOrder,
    label_field: &str,
    order_index: usize,
) -> Result<(), NotSentReason> {
    let field = format!("{label_field}.orders[{order_index}]");
    let invalid = |field: String, reason: &str| {
        Err(NotSentReason::InvalidLabel {
            field,
            reason: reason.to_owned(),
        })
    };
    // Amazon's ids are 19 characters ("3-7-7"); anything far longer is not one.
    let is_order_id = (1..=64).contains(&order.order_id.len())
        && order
            .order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !is_order_id {
        return invalid(
            format!("{field}.order-id"),
            "must be an Amazon order id (digits and dashes)",
        );
    }
    if label.tracking_number.trim().is_empty() {
        return invalid(
            format!("{label_field}.tracking-number"),
            "must not be empty",
        );
    }
    if label.carrier_code.trim().is_empty() {
        return invalid(format!("{label_field}.carrier-code"), "must not be empty");
    }
    if label.carrier_code.eq_ignore_ascii_case("other")
        && label
            .carrier_name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
    {
        return invalid(
            format!("{label_field}.carrier-name"),
            "Amazon requires it when the carrier code is Other",
        );
    }
    // Dates far outside any real shipment would overflow the redaction clocks.
    for (name, date) in [
        ("ship-date", label.ship_date),
        ("created-at", label.created_at),
    ] {
        if !(2000..=2200).contains(&date.year()) {
            return invalid(
                format!("{label_field}.{name}"),
                "must be a date between 2000 and 2200",
            );
        }
    }
    if order.items.is_empty() {
        return invalid(
            format!("{field}.items"),
            "must list the order items in the package",
        );
    }
    for (index, item) in order.items.iter().enumerate() {
        if item.order_item_id.trim().is_empty() || item.quantity == 0 {
            return invalid(
                format!("{field}.items[{index}]"),
                "needs an order item id and a quantity of at least 1",
            );
        }
    }
    Ok(())
}

/// Labels for tests elsewhere in the crate (the property tests).
#[cfg(test)]
pub mod tests_support {
    use crate::model::{LabelEvent, LabelItem, LabelOrder};

    /// `count` labels of one order each.
    pub fn labels(count: usize) -> Vec<LabelEvent> {
        (1..=count)
            .map(|n| LabelEvent {
                label_id: format!("L{n}"),
                orders: vec![LabelOrder {
                    order_id: format!("111-0000000-{n:07}"),
                    marketplace_id: None,
                    items: vec![LabelItem {
                        order_item_id: format!("{n}01"),
                        quantity: 1,
                    }],
                }],
                carrier_code: "UPS".into(),
                carrier_name: None,
                service: Some("Ground".into()),
                tracking_number: format!("1Z{n:08}"),
                ship_date: crate::testing::at("2026-11-20T16:00:00Z"),
                created_at: crate::testing::at("2026-11-20T15:00:00Z"),
                carrier_fee: None,
                automatic_tracking: true,
                batch_id: Some("B1".into()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
