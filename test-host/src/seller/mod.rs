//! `test-host simulate`: the component imports from the SP-API simulator the way a
//! host would (store each batch with its checkpoint, call again at
//! `next-call-after`), and the result is checked against the simulator's truth.
//!
//! The host jumps its virtual clock to each `next-call-after`, so hours of Amazon's
//! pacing run in seconds, and every figure about pace or loss comes from here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use amazon_marketplace::import::FIRST_IMPORT_LOOKBACK;
use amazon_marketplace::spapi::UsagePlan;

mod month;
mod shipper;

pub use month::RedactionReport;

use crate::har::Har;
use crate::kv::SqliteStore;
use crate::runtime::bindings as wit;
use crate::runtime::{Plugin, VirtualClock};
use crate::scenario::Settings;
use crate::upstream::fault::{Fault, Faults};
use crate::upstream::recorder::Recorder;
use crate::upstream::sim::{OperationCount, SimOrder, Simulator, World, WorldSpec};

/// Where a simulated run starts (a fixed date keeps runs reproducible).
pub const START: &str = "2026-11-20T15:00:00Z";
/// Virtual time each SP-API request takes.
const LATENCY: Duration = Duration::milliseconds(100);
/// A host retries a failed call after this long.
const HOST_RETRY: Duration = Duration::seconds(60);
/// A run that has not settled after this much virtual time is stopped and fails.
const MAX_RUN: Duration = Duration::days(3);

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Orders in the store's marketplace at the start.
    pub orders: usize,
    /// A searchOrders body whose orders become the world instead.
    pub amazon_orders: Option<serde_json::Value>,
    /// Import FBA orders (and make a fifth of the world Amazon-fulfilled).
    pub fba: bool,
    /// The store's marketplace.
    pub marketplace: String,
    /// Another marketplace of the seller whose orders (a quarter as many), and
    /// Multi-Channel orders of other shops, are mixed into the world.
    pub other_marketplace: Option<String>,
    /// The seed of the world and its changes.
    pub seed: u64,
    /// Changes during the run, as a share of `orders`.
    pub changes: f64,
    /// The share of the changes that are new orders (the rest ship, cancel or
    /// otherwise move existing ones on).
    pub arrival_share: f64,
    /// The changes happen within this long of the start; by default while the
    /// backlog is read, and for an hour at least.
    pub change_horizon: Option<Duration>,
    /// Import calls (1-based) after which the host crashes: it drops the returned
    /// batch and restarts the component on the same storage.
    pub crash_after_calls: BTreeSet<usize>,
    /// Faults at given requests (1-based, counting every request to Amazon).
    pub faults: Vec<(usize, Fault)>,
    /// Import calls (1-based) before which Amazon revokes every access token.
    pub revoke_tokens_before_calls: BTreeSet<usize>,
    /// This many orders of the backlog are served unreadable three times each.
    pub unreadable_orders: usize,
    /// A searchOrders rate Amazon granted this seller instead of the default.
    pub search_orders_rate: Option<f64>,
    /// How many different products the generated orders are made of.
    pub distinct_asins: u32,
    /// Labels the seller creates per hour for the unshipped orders it imported
    /// (none when `None`): import and notification run together.
    pub ship: Option<f64>,
    /// Labels per `on-label-created` call (one batch id).
    pub batch: usize,
    /// Notification calls (`on-label-created` and `deliver-notifications`, 1-based)
    /// after which the host crashes: it drops the outcomes and restarts the
    /// component on the same storage.
    pub crash_after_notification_calls: BTreeSet<usize>,
    /// Go on until this many days after the start, calling `redact` every hour and
    /// reporting deliveries, and check every directive against the seed's schedule.
    pub days: Option<u32>,
    /// `redact` calls (1-based) after which the host crashes before applying the
    /// directives.
    pub crash_after_redact_calls: BTreeSet<usize>,
    /// A random fault on each request with this probability, from this seed.
    pub random_faults: Option<(f64, u64)>,
    /// Each write to the component's storage fails with this probability (a full
    /// disk), from this seed; connecting is spared.
    pub write_faults: Option<(f64, u64)>,
    /// Keep every exchange for a HAR file.
    pub record: bool,
    /// Show a progress bar on stderr when the run takes longer than a second.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            orders: 2000,
            amazon_orders: None,
            fba: false,
            marketplace: "ATVPDKIKX0DER".into(),
            other_marketplace: None,
            seed: 1,
            changes: 0.0,
            arrival_share: 0.3,
            change_horizon: None,
            crash_after_calls: BTreeSet::new(),
            faults: Vec::new(),
            revoke_tokens_before_calls: BTreeSet::new(),
            unreadable_orders: 0,
            search_orders_rate: None,
            distinct_asins: 300,
            ship: None,
            batch: 1,
            crash_after_notification_calls: BTreeSet::new(),
            days: None,
            crash_after_redact_calls: BTreeSet::new(),
            random_faults: None,
            write_faults: None,
            record: false,
            progress: false,
        }
    }
}

/// The searchOrders floor for a backlog of `n` orders: 100 per page, the first 20
/// pages from the burst, then one page per restore period.
pub fn floor_seconds(n: usize) -> f64 {
    let pages = n.div_ceil(100) as f64;
    (pages - f64::from(UsagePlan::SEARCH_ORDERS.burst)).max(0.0) / UsagePlan::SEARCH_ORDERS.rate
}

/// An order the host ended with that differs from Amazon's latest version.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Mismatch {
    /// Amazon order id.
    pub order_id: String,
    /// What differs.
    pub detail: String,
}

/// The report of one run. Field names follow the WIT's kebab-case; dates are RFC 3339.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    /// The seed that reproduces the run.
    pub seed: u64,
    /// Orders of this store Amazon holds at the end (what the host should hold).
    pub amazon_orders: usize,
    /// Orders the first window reads (the floor's N), other shops' included.
    pub backlog: usize,
    /// Distinct orders the host holds.
    pub imported: usize,
    /// Of those, fulfilled by Amazon.
    pub imported_amazon_fulfilled: usize,
    /// Orders of this store the host never received.
    pub missed: usize,
    /// Order versions the host stored twice (a repeat with nothing new).
    pub duplicated: usize,
    /// Orders whose stored version is not Amazon's latest.
    pub final_state_mismatches: usize,
    /// The first few of those.
    pub mismatches: Vec<Mismatch>,
    /// Orders in the world that are not this store's (another marketplace, another
    /// sales channel, FBA when FBA import is off).
    pub foreign_orders: usize,
    /// Of those, how many the host received (must be 0).
    pub foreign_imported: usize,
    /// Skipped orders reported, by reason (kebab-case, as the WIT names them).
    pub skipped: BTreeMap<String, usize>,
    /// Changes Amazon made during the run.
    pub changes: usize,
    /// Product infos that arrived after their orders (`import-batch.products`).
    pub products_received: usize,
    /// Items the host still lacks a weight for although the component promises one.
    pub items_without_product_info: usize,
    /// Distinct ASINs read from the catalog, and the most reads of any one of them.
    pub catalog_asins: usize,
    /// See `catalog-asins`.
    pub most_reads_of_one_asin: usize,
    /// `import-orders` calls.
    pub import_calls: usize,
    /// Calls that returned nothing new.
    pub empty_calls: usize,
    /// Calls that returned an error.
    pub errors: usize,
    /// Host crashes (a returned batch dropped, the component restarted).
    pub crashes: usize,
    /// Faults injected.
    pub faults: usize,
    /// Calls and 429s per operation.
    pub calls: BTreeMap<String, OperationCount>,
    /// 429s over all operations.
    pub throttled: u64,
    /// Virtual seconds until the first window (the backlog) was read to its end.
    pub backlog_seconds: f64,
    /// Virtual seconds until the host last received something new.
    pub virtual_seconds: f64,
    /// Seconds from a change Amazon made during the run until the host had it:
    /// median (0 when there were none).
    pub import_lag_p50_seconds: f64,
    /// 99th percentile.
    pub import_lag_p99_seconds: f64,
    /// Virtual seconds the host waited for `next-call-after` until then.
    pub waited_seconds: f64,
    /// The searchOrders floor for `backlog`.
    pub floor_seconds: f64,
    /// `backlog-seconds` / `floor-seconds` (absent when the floor is 0).
    pub floor_ratio: Option<f64>,
    /// ceil(backlog / 100): the fewest searchOrders calls the backlog can take.
    pub min_search_calls: usize,
    /// searchOrders calls made until the backlog was read to its end.
    pub backlog_search_calls: usize,
    /// True when the run settled: every change was read and nothing was pending.
    pub settled: bool,
    /// Redaction directives against the seed's schedule, when the run went on for
    /// `--days`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redaction: Option<RedactionReport>,
    /// Writes to the component's storage that failed (injected).
    pub failed_writes: usize,
    /// Log lines, stderr, failures and errors of the component's calls that hold
    /// a buyer value or a credential (must be 0).
    pub secrets_in_outputs: usize,
    /// Buyer values the simulator generated, and credentials, found in the
    /// component's storage at the end of the run (must be 0).
    pub pii_in_storage: usize,
    /// Shipment updates, when the run created labels (`--ship`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<NotificationReport>,
    /// The orders the host ends with, as the WIT names them, when the world came
    /// from `--amazon-orders` (a generated world is too large to print).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<Vec<crate::view::Order>>,
    /// The virtual start.
    pub started_at: String,
    /// The virtual end.
    pub finished_at: String,
}

/// What became of the labels of a run, checked against Amazon's record of every
/// confirmation that reached it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct NotificationReport {
    /// Labels the host created (one order each).
    pub labels: usize,
    /// `on-label-created` calls.
    pub label_calls: usize,
    /// `deliver-notifications` calls.
    pub delivery_calls: usize,
    /// Host crashes during notification calls.
    pub crashes: usize,
    /// Labels whose tracking Amazon has, never sent again after it was accepted.
    pub confirmed_once: usize,
    /// Of those, carried by a feed.
    pub via_feed: usize,
    /// Labels whose tracking reached Amazon again after Amazon had accepted it.
    pub sent_twice: usize,
    /// Labels whose tracking Amazon does not have at the end, for an order Amazon
    /// would have taken it for (not cancelled).
    pub lost: usize,
    /// Labels Amazon refused (their order was cancelled before the label).
    pub rejected: usize,
    /// Labels whose final outcome at the host differs from Amazon's record.
    pub host_mismatches: usize,
    /// Labels the host holds no final outcome for at the end.
    pub unresolved: usize,
    /// Seconds from a label's creation until Amazon had its tracking: median.
    pub lag_p50_seconds: f64,
    /// 99th percentile.
    pub lag_p99_seconds: f64,
    /// Worst.
    pub lag_max_seconds: f64,
    /// The first few labels that went wrong, ids and outcomes only.
    pub problems: Vec<String>,
}

impl Report {
    /// Every check the run makes.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |bad: bool, text: String| {
            if bad {
                problems.push(text);
            }
        };
        check(!self.settled, "the run did not settle".into());
        check(self.missed > 0, format!("{} orders missed", self.missed));
        check(
            self.duplicated > 0,
            format!("{} order versions duplicated", self.duplicated),
        );
        check(
            self.final_state_mismatches > 0,
            format!(
                "{} orders differ from Amazon's latest",
                self.final_state_mismatches
            ),
        );
        check(
            self.foreign_imported > 0,
            format!("{} orders of other stores imported", self.foreign_imported),
        );
        check(
            self.secrets_in_outputs > 0,
            format!(
                "{} log lines, errors or stderr outputs hold buyer values or secrets",
                self.secrets_in_outputs
            ),
        );
        check(
            self.pii_in_storage > 0,
            format!(
                "{} buyer values or secrets in the component's storage",
                self.pii_in_storage
            ),
        );
        if let Some(r) = &self.redaction {
            for (count, what) in [
                (r.missed, "missed"),
                (r.late, "late"),
                (r.early, "early"),
                (r.wrong_due, "with the wrong due time"),
                (r.unapplied, "never applied"),
            ] {
                check(count > 0, format!("{count} redaction directives {what}"));
            }
        }
        if let Some(n) = &self.notifications {
            check(n.lost > 0, format!("{} shipment updates lost", n.lost));
            check(
                n.sent_twice > 0,
                format!("{} shipment updates sent twice", n.sent_twice),
            );
            check(
                n.host_mismatches > 0,
                format!("{} labels the host sees wrongly", n.host_mismatches),
            );
            check(
                n.unresolved > 0,
                format!("{} labels without a final outcome", n.unresolved),
            );
        }
        check(
            self.items_without_product_info > 0,
            format!(
                "{} items never got their product info",
                self.items_without_product_info
            ),
        );
        problems
    }
}

/// The host's record of one order.
pub(crate) struct Held {
    updated: DateTime<Utc>,
    status: String,
    amazon_fulfilled: bool,
    /// The component promises product info for it (the seed's rule).
    wants_product_info: bool,
    /// (ASIN, has a weight) per item.
    items: Vec<(Option<String>, bool)>,
    /// (order item id, quantity not yet shipped) per item.
    lines: Vec<(String, u32)>,
    /// The order itself, kept for the report when the world is small (a file).
    full: Option<wit::Order>,
}

/// The host's database: orders and the checkpoint, changed together.
#[derive(Default)]
pub(crate) struct HostDatabase {
    orders: BTreeMap<String, Held>,
    checkpoint: Option<String>,
    versions: BTreeSet<(String, i64)>,
}

/// Items the component promised product info for that the host still lacks.
fn items_without_product_info(db: &HostDatabase) -> usize {
    db.orders
        .values()
        .filter(|held| held.wants_product_info)
        .flat_map(|held| &held.items)
        .filter(|(asin, weighed)| asin.is_some() && !weighed)
        .count()
}

fn lock(upstream: &Arc<Mutex<Upstream>>) -> std::sync::MutexGuard<'_, Upstream> {
    upstream.lock().unwrap_or_else(|p| p.into_inner())
}

/// A WIT datetime as chrono's.
pub(crate) fn time(at: &wit::wasi::clocks::wall_clock::Datetime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.seconds as i64, at.nanoseconds).unwrap_or_default()
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

type Upstream = Recorder<Faults<Simulator>>;

/// A finished run: its report and, when asked for, the recording.
pub struct Run {
    /// The figures.
    pub report: Report,
    /// Every exchange, when `Options::record` was set.
    pub har: Option<Har>,
}

/// Runs one simulation.
pub fn run(options: &Options) -> Result<Run> {
    let start: DateTime<Utc> = START.parse().context("START")?;
    if let Some(body) = &options.amazon_orders {
        // Amazon's examples are dated anywhere: the run starts just after the latest
        // of them, so they are the store's recent orders.
        let probe =
            World::from_search_orders_body(body, &options.marketplace, options.seed, start)?;
        let start = probe.latest_update().unwrap_or(start) + Duration::minutes(10);
        let world =
            World::from_search_orders_body(body, &options.marketplace, options.seed, start)?;
        return run_world(options, world, start);
    }
    let spec = WorldSpec {
        seed: options.seed,
        orders: options.orders,
        marketplace: options.marketplace.clone(),
        fba_share: if options.fba { 0.2 } else { 0.0 },
        other_marketplace: options
            .other_marketplace
            .clone()
            .map(|m| (m, options.orders / 4)),
        non_amazon_orders: if options.other_marketplace.is_some() {
            options.orders / 50
        } else {
            0
        },
        change_rate: options.changes,
        change_horizon: options.change_horizon.unwrap_or_else(|| {
            Duration::seconds(floor_seconds(options.orders) as i64).max(Duration::hours(1))
        }),
        arrival_share: options.arrival_share,
        distinct_asins: options.distinct_asins,
        seller_ships: options.ship.is_some(),
    };
    run_world(options, World::generate(&spec, start), start)
}

fn run_world(options: &Options, world: World, start: DateTime<Utc>) -> Result<Run> {
    let clock = VirtualClock::new(start);
    let mut marketplaces = vec![options.marketplace.clone()];
    marketplaces.extend(options.other_marketplace.clone());
    let unreadable: Vec<String> = world
        .orders()
        .filter(|o| o.marketplace == options.marketplace && o.channel == "AMAZON")
        .take(options.unreadable_orders)
        .map(|o| o.id.clone())
        .collect();
    let mut simulator = Simulator::new(world, clock.clone(), marketplaces, LATENCY);
    for id in &unreadable {
        simulator.break_order(id, 3);
    }
    if let Some(rate) = options.search_orders_rate {
        simulator.grant_rate(UsagePlan::SEARCH_ORDERS.name, rate);
    }
    let mut faults = Faults::new(simulator);
    for (number, fault) in &options.faults {
        faults = faults.at_request(*number, *fault);
    }
    if let Some((rate, seed)) = options.random_faults {
        faults = faults.random(rate, seed);
    }
    let recorder = if options.record {
        Recorder::new(faults, clock.clone())
    } else {
        Recorder::off(faults, clock.clone())
    };
    let upstream: Arc<Mutex<Upstream>> = Arc::new(Mutex::new(recorder));

    let eligible = |o: &SimOrder| {
        o.channel == "AMAZON"
            && o.marketplace == options.marketplace
            && (o.fulfilled_by == "MERCHANT" || options.fba)
    };
    let reach = start - FIRST_IMPORT_LOOKBACK;
    let backlog = lock(&upstream)
        .inner()
        .inner()
        .world()
        .orders()
        // What the first window's filters match, other shops' orders included:
        // Amazon pages through all of them.
        .filter(|o| {
            o.marketplace == options.marketplace
                && (o.fulfilled_by == "MERCHANT" || options.fba)
                && o.updated >= reach
                && o.updated <= start
        })
        .count();
    let last_change = lock(&upstream).inner().inner().world().last_change_at();

    let settings = Settings {
        import_fba_orders: options.fba,
        // Only Amazon.co.jp looks at it, and a simulated store there opts in.
        japan_kanji_addresses: true,
        ..Settings::simulated(&options.marketplace)
    }
    .to_wit();
    let mut plugin = Plugin::new(upstream.clone(), SqliteStore::in_memory()?, clock.clone())?;
    let mut leaked = 0usize;
    // A host tries again a minute later until the store is connected.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (result, record) = plugin.connect(&settings)?;
        leaked += leaks(&result, &record);
        match (result, record) {
            (Ok(_), _) => break,
            (Err(error), _) if attempts >= 10 => {
                bail!("connect failed on the simulator: {error:?}")
            }
            (Err(_), _) => clock.set(clock.now() + HOST_RETRY),
        }
    }
    if let Some((rate, seed)) = options.write_faults {
        let storage = plugin.into_storage();
        storage.fail_writes(rate, seed);
        plugin = Plugin::new(upstream.clone(), storage, clock.clone())?;
    }

    let mut db = HostDatabase::default();
    let mut import_calls = 0usize;
    let mut empty_calls = 0usize;
    let mut errors = 0usize;
    let mut crashes = 0usize;
    let mut duplicated = 0usize;
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut retrying: BTreeSet<String> = BTreeSet::new();
    let mut products_received = 0usize;
    let keep_orders = options.amazon_orders.is_some();
    let mut caught_up_at = clock.now();
    let mut import_lags: Vec<f64> = Vec::new();
    let mut backlog_search_calls = 0usize;
    let mut waited = Duration::zero();
    let mut waited_until_caught_up = Duration::zero();
    // Amazon's last change must be read by a window that opened after it settled:
    // the second window finished after that point proves it.
    let quiet_from = last_change.unwrap_or(start) + Duration::minutes(2);
    let mut backlog_read_at: Option<DateTime<Utc>> = None;
    let wall = Instant::now();
    let mut bar: Option<indicatif::ProgressBar> = None;

    let mut shipper = options.ship.map(|per_hour| {
        shipper::Shipper::new(
            per_hour,
            options.batch,
            start,
            options.crash_after_notification_calls.clone(),
        )
    });
    let mut next_import = clock.now();
    let mut first_seen = month::FirstSeen::new();
    let mut first_import_at: Option<DateTime<Utc>> = None;
    // Windows read to their end, by when the call that read them started.
    let mut windows_read: Vec<DateTime<Utc>> = Vec::new();

    let settled = loop {
        if clock.now() - start > MAX_RUN {
            break false;
        }
        if let Some(desk) = shipper.as_mut() {
            let backlog_read = !windows_read.is_empty();
            match desk.step(&mut plugin, &upstream, &clock, &settings, &db, backlog_read)? {
                shipper::Did::Nothing => {}
                shipper::Did::Something => continue,
                shipper::Did::Crashed => {
                    let storage = plugin.into_storage();
                    plugin = Plugin::new(upstream.clone(), storage, clock.clone())?;
                    desk.after_crash();
                    continue;
                }
            }
        }
        if next_import > clock.now() {
            let next = shipper
                .as_ref()
                .and_then(|desk| desk.due_at(clock.now()))
                .map_or(next_import, |at| at.min(next_import));
            if next > clock.now() {
                waited += next - clock.now();
                clock.set(next);
            }
            continue;
        }
        import_calls += 1;
        let called_at = clock.now();
        first_import_at.get_or_insert(called_at);
        lock(&upstream).inner_mut().inner_mut().advance();
        if options.revoke_tokens_before_calls.contains(&import_calls) {
            lock(&upstream)
                .inner_mut()
                .inner_mut()
                .revoke_access_tokens();
        }
        let (result, record) = plugin.import_orders(&settings, db.checkpoint.as_deref())?;
        leaked += leaks(&result, &record);
        let next = match result {
            Err(_) => {
                errors += 1;
                called_at + HOST_RETRY
            }
            Ok(batch) => {
                // The component may have read an order in an earlier call whose
                // batch never reached the host (a storage failure after it was
                // scheduled): its clock can start any time after Amazon had it and
                // the import began, and no later than this call.
                let import_began = first_import_at.unwrap_or(called_at);
                for order in &batch.orders {
                    first_seen
                        .entry(order.order_id.clone())
                        .or_insert((time(&order.ordered_at).max(import_began), clock.now()));
                }
                if options.crash_after_calls.contains(&import_calls) {
                    // The host dies before its transaction commits: the batch is
                    // gone, and the component restarts on the storage it left.
                    crashes += 1;
                    let storage = plugin.into_storage();
                    plugin = Plugin::new(upstream.clone(), storage, clock.clone())?;
                    continue;
                }
                let mut changed = false;
                for order in &batch.orders {
                    let updated = time(&order.updated_at);
                    if !db
                        .versions
                        .insert((order.order_id.clone(), updated.timestamp_millis()))
                    {
                        duplicated += 1;
                    } else if updated >= start {
                        // A change made during the run: how long until the host had it.
                        import_lags
                            .push((clock.now() - updated).num_milliseconds() as f64 / 1000.0);
                    }
                    retrying.remove(&order.order_id);
                    let newer = db
                        .orders
                        .get(&order.order_id)
                        .is_none_or(|held| held.updated <= updated);
                    if newer {
                        changed |= db.orders.get(&order.order_id).is_none_or(|held| {
                            held.updated < updated || held.status != order.marketplace_status
                        });
                        db.orders.insert(
                            order.order_id.clone(),
                            Held {
                                updated,
                                status: order.marketplace_status.clone(),
                                amazon_fulfilled: order.fulfillment_channel
                                    == wit::FulfillmentChannel::Amazon,
                                wants_product_info: order.fulfillment_channel
                                    == wit::FulfillmentChannel::Amazon
                                    || !matches!(
                                        order.status,
                                        wit::OrderStatus::Shipped | wit::OrderStatus::Cancelled
                                    ),
                                items: order
                                    .items
                                    .iter()
                                    .map(|i| (i.asin.clone(), i.weight.is_some()))
                                    .collect(),
                                lines: order
                                    .items
                                    .iter()
                                    .map(|i| {
                                        (
                                            i.order_item_id.clone(),
                                            i.quantity.saturating_sub(i.quantity_shipped),
                                        )
                                    })
                                    .collect(),
                                full: keep_orders.then(|| order.clone()),
                            },
                        );
                    }
                }
                for product in batch.products.iter().filter(|p| p.weight.is_some()) {
                    products_received += 1;
                    for held in db.orders.values_mut() {
                        for (asin, weighed) in &mut held.items {
                            if asin.as_deref() == Some(product.asin.as_str()) {
                                *weighed = true;
                            }
                        }
                        // As a host does: fill the items that came without it.
                        let items = held.full.iter_mut().flat_map(|o| o.items.iter_mut());
                        for item in
                            items.filter(|i| i.asin.as_deref() == Some(product.asin.as_str()))
                        {
                            item.weight = item.weight.take().or_else(|| product.weight.clone());
                            item.dimensions = item
                                .dimensions
                                .take()
                                .or_else(|| product.dimensions.clone());
                            item.image_url =
                                item.image_url.take().or_else(|| product.image_url.clone());
                        }
                    }
                }
                for skip in &batch.skipped {
                    *skipped
                        .entry(skip_reason(skip.reason).to_owned())
                        .or_default() += 1;
                    if skip.will_retry {
                        retrying.insert(skip.order_id.clone());
                    } else {
                        retrying.remove(&skip.order_id);
                    }
                }
                db.checkpoint = Some(batch.checkpoint.clone());
                if changed {
                    caught_up_at = clock.now();
                    waited_until_caught_up = waited;
                } else {
                    empty_calls += 1;
                }
                // A window was read to its end in this call: a page came back and
                // no more follow.
                let pages_read = record
                    .exchanges
                    .iter()
                    .filter(|e| e.url.contains("/orders/2026-01-01/orders?"))
                    .count();
                if backlog_read_at.is_none() {
                    backlog_search_calls += pages_read;
                }
                let read_page = record
                    .exchanges
                    .iter()
                    .any(|e| e.status == Some(200) && e.url.contains("/orders/2026-01-01/orders?"));
                if !batch.more && read_page && backlog_read_at.is_none() {
                    backlog_read_at = Some(clock.now());
                }
                if !batch.more && read_page {
                    windows_read.push(called_at);
                }
                // Quiet once Amazon's changes and the seller's shipments are over.
                let shipping_done = shipper.as_ref().is_none_or(shipper::Shipper::done);
                let quiet_from = shipper
                    .as_ref()
                    .and_then(|desk| desk.last_activity)
                    .map_or(quiet_from, |at| quiet_from.max(at + Duration::minutes(2)));
                let windows_after_quiet =
                    windows_read.iter().filter(|at| **at > quiet_from).count();
                if windows_after_quiet >= 2
                    && shipping_done
                    && retrying.is_empty()
                    && items_without_product_info(&db) == 0
                {
                    break true;
                }
                time(&batch.next_call_after)
            }
        };
        if options.progress && bar.is_none() && wall.elapsed().as_secs_f64() > 1.0 {
            let progress = indicatif::ProgressBar::new(backlog as u64);
            progress.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos}/{len} orders imported, virtual time {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar = Some(progress);
        }
        if let Some(bar) = &bar {
            bar.set_position(db.orders.len() as u64);
            bar.set_message(format!("{} s", (clock.now() - start).num_seconds()));
        }
        next_import = next;
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let redaction = match (options.days, settled) {
        (Some(days), true) => {
            let facts = match &shipper {
                Some(desk) => desk.facts(lock(&upstream).inner().inner().shipping()),
                None => Vec::new(),
            };
            let merchant: BTreeSet<String> = db
                .orders
                .iter()
                .filter(|(_, held)| !held.amazon_fulfilled)
                .map(|(id, _)| id.clone())
                .collect();
            let (report, restarted) = month::run(
                plugin,
                &upstream,
                &clock,
                start + Duration::days(i64::from(days)),
                days,
                &first_seen,
                &merchant,
                &facts,
                &options.crash_after_redact_calls,
            )?;
            plugin = restarted;
            Some(report)
        }
        _ => None,
    };
    let storage = plugin.into_storage();
    let failed_writes = storage.failed_writes();
    let secrets_in_outputs = leaked
        + shipper.as_ref().map_or(0, |desk| desk.leaked)
        + redaction.as_ref().map_or(0, |r| r.secrets_in_outputs);

    let upstream = lock(&upstream);
    let simulator = upstream.inner().inner();
    let world = simulator.world();
    let mut missed = 0;
    let mut mismatches = Vec::new();
    let mut amazon_orders = 0;
    let mut foreign_orders = 0;
    let mut foreign_imported = 0;
    for order in world.orders() {
        if !eligible(order) {
            foreign_orders += 1;
            foreign_imported += usize::from(db.orders.contains_key(&order.id));
            continue;
        }
        if order.updated < reach {
            continue;
        }
        amazon_orders += 1;
        match db.orders.get(&order.id) {
            None => missed += 1,
            Some(held) if held.updated != order.updated || held.status != order.status => {
                mismatches.push(Mismatch {
                    order_id: order.id.clone(),
                    detail: format!(
                        "host has {} of {}, Amazon {} of {}",
                        held.status,
                        held.updated.to_rfc3339_opts(SecondsFormat::Secs, true),
                        order.status,
                        order.updated.to_rfc3339_opts(SecondsFormat::Secs, true)
                    ),
                });
            }
            Some(_) => {}
        }
    }
    let notifications = shipper.as_ref().map(|desk| {
        desk.report(simulator.shipping(), |order_id| {
            world
                .order(order_id)
                .is_some_and(|o| o.status == "CANCELLED")
        })
    });
    let pii_in_storage = secrets_in_storage(&storage, world)?;
    let calls = simulator.counts().clone();
    let mut reads: BTreeMap<&str, usize> = BTreeMap::new();
    for asin in simulator.asins_read() {
        *reads.entry(asin.as_str()).or_default() += 1;
    }
    let items_without_product_info = items_without_product_info(&db);
    let throttled = calls.values().map(|c| c.throttled).sum();
    let seconds = |at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
    let virtual_seconds = seconds(caught_up_at);
    let backlog_seconds = seconds(backlog_read_at.unwrap_or(clock.now()));
    let floor = floor_seconds(backlog);
    let report = Report {
        seed: options.seed,
        amazon_orders,
        backlog,
        imported: db.orders.len(),
        imported_amazon_fulfilled: db
            .orders
            .values()
            .filter(|held| held.amazon_fulfilled)
            .count(),
        missed,
        duplicated,
        final_state_mismatches: mismatches.len(),
        mismatches: mismatches.into_iter().take(10).collect(),
        foreign_orders,
        foreign_imported,
        skipped,
        changes: world.changes_applied(),
        products_received,
        items_without_product_info,
        catalog_asins: reads.len(),
        most_reads_of_one_asin: reads.values().copied().max().unwrap_or(0),
        import_calls,
        empty_calls,
        errors,
        crashes,
        faults: upstream.inner().injected().len(),
        calls,
        throttled,
        backlog_seconds,
        virtual_seconds,
        import_lag_p50_seconds: percentile(&mut import_lags, 0.5),
        import_lag_p99_seconds: percentile(&mut import_lags, 0.99),
        waited_seconds: waited_until_caught_up.num_milliseconds() as f64 / 1000.0,
        floor_seconds: floor,
        floor_ratio: (floor > 0.0).then(|| backlog_seconds / floor),
        min_search_calls: backlog.div_ceil(100),
        backlog_search_calls,
        settled,
        redaction,
        failed_writes,
        secrets_in_outputs,
        pii_in_storage,
        notifications,
        orders: keep_orders.then(|| {
            db.orders
                .values()
                .filter_map(|held| held.full.as_ref())
                .map(crate::view::Order::from)
                .collect()
        }),
        started_at: start.to_rfc3339_opts(SecondsFormat::Secs, true),
        finished_at: clock.now().to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    Ok(Run {
        report,
        har: options.record.then(|| upstream.har()),
    })
}

/// How many of the world's buyer values, and of the credentials, the component's
/// storage holds (as a dump of it would show them).
fn secrets_in_storage(storage: &SqliteStore, world: &World) -> Result<usize> {
    let mut needles: BTreeSet<String> = BTreeSet::from([
        crate::scenario::PLACEHOLDER_CLIENT_SECRET.to_owned(),
        crate::scenario::PLACEHOLDER_REFRESH_TOKEN.to_owned(),
    ]);
    for order in world.orders() {
        for path in [
            &["buyer", "buyerName"][..],
            &["buyer", "buyerEmail"],
            &["recipient", "deliveryAddress", "name"],
            &["recipient", "deliveryAddress", "addressLine1"],
            &["recipient", "deliveryAddress", "phone"],
        ] {
            let value = path.iter().try_fold(&order.json, |v, k| v.get(k));
            if let Some(text) = value.and_then(serde_json::Value::as_str) {
                needles.insert(text.to_owned());
            }
        }
    }
    let dump: Vec<String> = storage
        .entries("")
        .context("reading the component's storage")?
        .into_iter()
        .map(|(key, value)| format!("{key}={}", String::from_utf8_lossy(&value)))
        .collect();
    Ok(needles
        .iter()
        .filter(|needle| dump.iter().any(|entry| entry.contains(needle.as_str())))
        .count())
}

/// The `share` percentile of `values` (0 when empty).
pub(crate) fn percentile(values: &mut [f64], share: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get(((values.len() as f64 * share).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

/// What marks a buyer value of the simulated world (every generated name, street
/// and email has one), and the credentials.
const LEAK_MARKERS: [&str; 5] = [
    "Simulated Buyer",
    "Simulated Way",
    "@marketplace.amazon.com",
    crate::scenario::PLACEHOLDER_CLIENT_SECRET,
    crate::scenario::PLACEHOLDER_REFRESH_TOKEN,
];

/// Lines of a call's side output (logs, stderr, upstream failures, the error it
/// returned) that hold a buyer value or a secret.
pub(crate) fn leaks<T, E: std::fmt::Debug>(
    result: &std::result::Result<T, E>,
    record: &crate::runtime::CallRecord,
) -> usize {
    let error = result.as_ref().err().map(|e| format!("{e:?}"));
    record
        .logs
        .iter()
        .map(|l| l.message.as_str())
        .chain(std::iter::once(record.stderr.as_str()))
        .chain(record.failures.iter().map(String::as_str))
        .chain(error.as_deref())
        .filter(|text| LEAK_MARKERS.iter().any(|m| text.contains(m)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_check_finds_a_buyer_value_or_a_secret_in_any_side_output() {
        use crate::runtime::{CallRecord, LogLine};
        let clean: std::result::Result<(), String> = Ok(());
        let quiet = CallRecord::default();
        assert_eq!(leaks(&clean, &quiet), 0);
        let mut chatty = CallRecord::default();
        chatty.logs.push(LogLine {
            level: "info".into(),
            context: String::new(),
            message: "imported order for Simulated Buyer 12".into(),
        });
        chatty
            .failures
            .push("token placeholder-client-secret refused".into());
        assert_eq!(leaks(&clean, &chatty), 2);
        let failed: std::result::Result<(), String> = Err("sim-3@marketplace.amazon.com".into());
        assert_eq!(leaks(&failed, &quiet), 1);
    }

    #[test]
    fn the_storage_check_finds_a_buyer_value_or_a_secret_wherever_it_is() {
        let start: DateTime<Utc> = START.parse().unwrap();
        let spec = WorldSpec {
            orders: 20,
            distinct_asins: 3,
            ..WorldSpec::default()
        };
        let world = World::generate(&spec, start);
        let buyer = world
            .orders()
            .find_map(|o| o.json["buyer"]["buyerEmail"].as_str().map(str::to_owned))
            .unwrap();
        let storage = SqliteStore::in_memory().unwrap();
        storage
            .set("", "outbox/1", b"{\"tracking\":\"1Z\"}")
            .unwrap();
        assert_eq!(secrets_in_storage(&storage, &world).unwrap(), 0);
        storage
            .set("", "notes/1", format!("{{\"to\":\"{buyer}\"}}").as_bytes())
            .unwrap();
        assert_eq!(secrets_in_storage(&storage, &world).unwrap(), 1);
        storage
            .set("", crate::scenario::PLACEHOLDER_REFRESH_TOKEN, b"1")
            .unwrap();
        assert_eq!(secrets_in_storage(&storage, &world).unwrap(), 2);
    }
}
