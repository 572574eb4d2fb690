//! The simulated host's import desk: it calls `import-orders` with the checkpoint of
//! its last stored batch, stores each batch with its checkpoint in one step, and
//! calls again at `next-call-after` (a minute later after an error). It also keeps
//! what the other desks and the report need to know about the import: when each
//! order first arrived, which orders the component is still retrying, and when a
//! window was read to its end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::database::HostDatabase;
use super::redaction::FirstSeen;
use super::shipping::ShippingDesk;
use super::{HOST_RETRY, SimulatedAmazon, leaks, lock, time};
use crate::embed::runtime::bindings as wit;
use crate::embed::{ComponentInstance, VirtualClock};

/// The searchOrders page path: a call that asked for one read a page.
const SEARCH_ORDERS: &str = "/orders/2026-01-01/orders?";

/// What one import step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// The call returned an error: the host tries again a minute later.
    Failed,
    /// The host crashed before storing the batch: restart the component.
    Crashed,
    /// The batch and its checkpoint are stored.
    Stored,
}

/// Faults the host injects around its import calls.
#[derive(Debug, Clone, Default)]
pub struct ImportFaults {
    /// Calls (1-based) after which the host crashes before storing the batch.
    pub crash_after_calls: BTreeSet<usize>,
    /// Calls (1-based) before which Amazon revokes every access token.
    pub revoke_tokens_before_calls: BTreeSet<usize>,
}

/// The import desk and its figures.
pub struct ImportDesk {
    start: DateTime<Utc>,
    faults: ImportFaults,
    /// Amazon's last change, two minutes on: a window opened after it has it all.
    quiet_from: DateTime<Utc>,
    /// When the next `import-orders` call is due.
    pub next_call_at: DateTime<Utc>,
    /// `import-orders` calls.
    pub calls: usize,
    /// Calls that returned nothing new.
    pub empty_calls: usize,
    /// Calls that returned an error.
    pub errors: usize,
    /// Host crashes before a batch was stored.
    pub crashes: usize,
    /// Order versions stored twice.
    pub duplicated: usize,
    /// Skipped orders by reason (the WIT's names).
    pub skipped: BTreeMap<String, usize>,
    /// Orders the component reported it will retry, not yet received.
    retrying: BTreeSet<String>,
    /// Product infos that followed their orders.
    pub products_received: usize,
    /// When the host last received something new.
    pub caught_up_at: DateTime<Utc>,
    /// Seconds from each change made during the run until the host had it.
    pub lags: Vec<f64>,
    /// searchOrders calls until the first window (the backlog) was read.
    pub backlog_search_calls: usize,
    /// Virtual time spent waiting, up to `caught_up_at`.
    pub waited_until_caught_up: Duration,
    /// When the first window was read to its end.
    pub backlog_read_at: Option<DateTime<Utc>>,
    /// When each order's retention clock can have started.
    pub first_seen: FirstSeen,
    first_call_at: Option<DateTime<Utc>>,
    /// The connection's order sources.
    sources: Vec<String>,
    /// Per source, the `lastUpdatedBefore` of every window a page was read of.
    windows: BTreeMap<String, BTreeSet<DateTime<Utc>>>,
    /// The last batch said a window is still being paged.
    paging: bool,
    /// Side output of its calls that held a buyer value or a secret.
    pub leaked: usize,
    /// When each taken notification's change (order id, its time in ms) reached
    /// the host, until a batch delivers that version.
    arrivals: BTreeMap<(String, i64), DateTime<Utc>>,
    /// Seconds from a notification's arrival at the host until the batch with
    /// its version was stored.
    pub arrival_lags: Vec<f64>,
    /// Seconds from Amazon's change until then, for the same versions.
    pub notified_change_lags: Vec<f64>,
}

impl ImportDesk {
    /// A desk for a run from `start` whose first call is due at `first_call_at`
    /// (once the connection is made) for the order sources `sources`; Amazon's
    /// changes end at `last_change`.
    pub fn new(
        start: DateTime<Utc>,
        first_call_at: DateTime<Utc>,
        last_change: Option<DateTime<Utc>>,
        faults: ImportFaults,
        sources: Vec<String>,
    ) -> Self {
        Self {
            start,
            faults,
            // Amazon's last change must be read by a window of each source that
            // opened after the change settled.
            quiet_from: last_change.unwrap_or(start) + Duration::minutes(2),
            next_call_at: first_call_at,
            calls: 0,
            empty_calls: 0,
            errors: 0,
            crashes: 0,
            duplicated: 0,
            skipped: BTreeMap::new(),
            retrying: BTreeSet::new(),
            products_received: 0,
            caught_up_at: first_call_at,
            lags: Vec::new(),
            backlog_search_calls: 0,
            waited_until_caught_up: Duration::zero(),
            backlog_read_at: None,
            first_seen: FirstSeen::new(),
            first_call_at: None,
            sources,
            windows: BTreeMap::new(),
            paging: false,
            leaked: 0,
            arrivals: BTreeMap::new(),
            arrival_lags: Vec::new(),
            notified_change_lags: Vec::new(),
        }
    }

    /// A notification the component took reached the host at `at`. One of the
    /// host's own shipments (of an order it `labelled`) is not waited for: the
    /// host knows, and the component leaves it to polling.
    pub fn note_arrival(&mut self, body: &str, at: DateTime<Utc>, labelled: &dyn Fn(&str) -> bool) {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
            return;
        };
        let change = &json["Payload"]["OrderChangeNotification"];
        let changed = change["OrderChangeTrigger"]["TimeOfOrderChange"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        let shipped = change["Summary"]["OrderStatus"] == "Shipped";
        if let (Some(id), Some(changed)) = (change["AmazonOrderId"].as_str(), changed)
            && !(shipped && labelled(id))
        {
            self.arrivals
                .entry((id.to_owned(), changed.timestamp_millis()))
                .or_insert(at);
        }
    }

    /// A window of every source has been read to its end: the backlog is in.
    pub fn backlog_read(&self) -> bool {
        self.backlog_read_at.is_some()
    }

    /// Calls `import-orders` and stores what it returns. `waited` is the time the
    /// host has waited so far.
    pub fn step(
        &mut self,
        instance: &mut ComponentInstance,
        amazon: &Arc<Mutex<SimulatedAmazon>>,
        settings: &wit::ConnectionSettings,
        db: &mut HostDatabase,
        waited: Duration,
    ) -> Result<Imported> {
        let clock = instance.clock().clone();
        self.calls += 1;
        let called_at = clock.now();
        self.first_call_at.get_or_insert(called_at);
        {
            let mut amazon = lock(amazon);
            let simulator = amazon.simulator_mut();
            simulator.advance();
            if self.faults.revoke_tokens_before_calls.contains(&self.calls) {
                simulator.revoke_access_tokens();
            }
        }
        let (result, record) = instance.import_orders(settings, db.checkpoint.as_deref())?;
        self.leaked += leaks(&result, &record);
        let batch = match result {
            Err(_) => {
                self.errors += 1;
                self.next_call_at = called_at + HOST_RETRY;
                return Ok(Imported::Failed);
            }
            Ok(batch) => batch,
        };
        self.note_first_seen(&batch, called_at, &clock);
        if self.faults.crash_after_calls.contains(&self.calls) {
            // The host dies before its transaction commits: the batch is gone.
            self.crashes += 1;
            return Ok(Imported::Crashed);
        }
        // The retry the component promised for an order it reported unreadable
        // may bring a version the host had by another path: that is the promise
        // kept, not a repeat.
        let promised = batch
            .orders
            .iter()
            .filter(|o| {
                self.retrying.contains(&o.order_id)
                    && db.has_version(&o.order_id, time(&o.updated_at))
            })
            .count();
        let stored = db.store(&batch, clock.now(), self.start);
        for order in &batch.orders {
            let version = (
                order.order_id.clone(),
                time(&order.updated_at).timestamp_millis(),
            );
            if let Some(arrived) = self.arrivals.remove(&version) {
                let seconds = |lag: Duration| lag.num_milliseconds() as f64 / 1000.0;
                self.arrival_lags.push(seconds(clock.now() - arrived));
                let changed = time(&order.updated_at);
                self.notified_change_lags
                    .push(seconds(clock.now() - changed));
            }
        }
        self.duplicated += stored.duplicated - promised.min(stored.duplicated);
        self.lags.extend(stored.lags);
        self.products_received += stored.products;
        for order in &batch.orders {
            self.retrying.remove(&order.order_id);
        }
        for skip in &batch.skipped {
            *self
                .skipped
                .entry(skip_reason(skip.reason).to_owned())
                .or_default() += 1;
            if skip.will_retry {
                self.retrying.insert(skip.order_id.clone());
            } else {
                self.retrying.remove(&skip.order_id);
            }
        }
        if stored.changed {
            self.caught_up_at = clock.now();
            self.waited_until_caught_up = waited;
        } else {
            self.empty_calls += 1;
        }
        self.note_windows(&batch, &record, clock.now());
        self.next_call_at = time(&batch.next_call_after);
        Ok(Imported::Stored)
    }

    /// The component may have read an order in an earlier call whose batch never
    /// reached the host (a storage failure after it was scheduled): its clock can
    /// start any time after Amazon had it and the import began, and no later than
    /// this call.
    fn note_first_seen(
        &mut self,
        batch: &wit::ImportBatch,
        called_at: DateTime<Utc>,
        clock: &VirtualClock,
    ) {
        let import_began = self.first_call_at.unwrap_or(called_at);
        for order in &batch.orders {
            self.first_seen
                .entry(order.order_id.clone())
                .or_insert((time(&order.ordered_at).max(import_began), clock.now()));
        }
    }

    /// Notes the windows this call read a page of (each source's, from the
    /// request), and whether one is still being paged. Once none is and every
    /// source has had a window, the backlog is in.
    fn note_windows(
        &mut self,
        batch: &wit::ImportBatch,
        record: &crate::embed::CallRecord,
        now: DateTime<Utc>,
    ) {
        let pages = record
            .exchanges
            .iter()
            .filter(|e| e.url.contains(SEARCH_ORDERS));
        if self.backlog_read_at.is_none() {
            self.backlog_search_calls += pages.clone().count();
        }
        for page in pages.filter(|e| e.status == Some(200)) {
            let Ok(url) = url::Url::parse(&page.url) else {
                continue;
            };
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let before = param("lastUpdatedBefore")
                .and_then(|b| DateTime::parse_from_rfc3339(&b).ok())
                .map(|b| b.with_timezone(&Utc));
            if let (Some(marketplaces), Some(before)) = (param("marketplaceIds"), before) {
                for marketplace in marketplaces.split(',') {
                    self.windows
                        .entry(marketplace.to_owned())
                        .or_default()
                        .insert(before);
                }
            }
        }
        self.paging = batch.more;
        let every_source_read = self.sources.iter().all(|m| self.windows.contains_key(m));
        if !batch.more && every_source_read {
            self.backlog_read_at.get_or_insert(now);
        }
    }

    /// The run has settled: no window is being paged and every source has had a
    /// window opened after Amazon's changes and the seller's shipments were over,
    /// nothing is being retried, and every promised product info has arrived.
    pub fn settled(&self, db: &HostDatabase, shipping: Option<&ShippingDesk>) -> bool {
        let shipping_done = shipping.is_none_or(ShippingDesk::done);
        let quiet_from = shipping
            .and_then(|desk| desk.last_activity)
            .map_or(self.quiet_from, |at| {
                self.quiet_from.max(at + Duration::minutes(2))
            });
        // A window opened after `quiet_from` ends two minutes (Amazon's settle time)
        // before it opened.
        let opened_after_quiet = quiet_from - Duration::minutes(2);
        let read_past_quiet = self.sources.iter().all(|m| {
            self.windows
                .get(m)
                .is_some_and(|befores| befores.range(opened_after_quiet..).next().is_some())
        });
        !self.paging
            && read_past_quiet
            && shipping_done
            && self.retrying.is_empty()
            && db.items_without_product_info() == 0
    }
}

fn skip_reason(reason: wit::SkipReason) -> &'static str {
    match reason {
        wit::SkipReason::Unreadable => "unreadable",
        wit::SkipReason::GivenUp => "given-up",
        wit::SkipReason::OtherMarketplace => "other-marketplace",
        wit::SkipReason::NonAmazonSalesChannel => "non-amazon-sales-channel",
        wit::SkipReason::AmazonFulfilled => "amazon-fulfilled",
    }
}
