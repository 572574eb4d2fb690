//! `test-host simulate`: a simulated seller imports, ships and redacts through the
//! component against the SP-API simulator, and the run is checked against the
//! simulator's truth. Every figure about pace or loss comes from here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use amazon_marketplace::import::FIRST_IMPORT_LOOKBACK;

use crate::amazon::Amazon;
use crate::amazon::faults::{Fault, Faults};
use crate::amazon::har::Har;
use crate::amazon::network::serve::{NetworkFault, Running, Server};
use crate::amazon::network::{Network, Timeouts, tls};
use crate::amazon::recorder::Recorder;
use crate::amazon::sim::notifications::EventSpec;
use crate::amazon::sim::plans::{PLANS, Plan};
use crate::amazon::sim::{SimOrder, Simulator, World, WorldSpec};
use crate::drive::scenario::Settings;
use crate::drive::scenario::record::{self, Unreplayable};
use crate::drive::wit_json;
use crate::embed::VirtualClock;
use crate::seller::import::ImportFaults;
use crate::seller::shipping::ShippingDesk;
use crate::seller::truth::{StoreTruth, check_orders, secrets_in_storage};
use crate::seller::{Seller, SellerPlan, SimulatedAmazon, lock, run_together};

use crate::seller::report::percentile;
pub use crate::seller::report::{
    Mismatch, NotificationReport, OrderEventsReport, RedactionReport, Report,
};

/// Where a simulated run starts (a fixed date keeps runs reproducible).
pub const START: &str = "2026-11-20T15:00:00Z";
/// Virtual time each SP-API request takes.
const LATENCY: Duration = Duration::milliseconds(100);
/// How long an outage of Amazon's notifications lasts (`--event-outage`).
pub const EVENT_OUTAGE: Duration = Duration::hours(2);
/// A run that has not settled after this much virtual time is stopped and fails.
const MAX_RUN: Duration = Duration::days(3);

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seller's orders at the start, spread over `marketplaces`.
    pub orders: usize,
    /// A searchOrders body whose orders become the world instead.
    pub amazon_orders: Option<serde_json::Value>,
    /// Import FBA orders (and make a fifth of the world Amazon-fulfilled).
    pub fba: bool,
    /// The marketplaces the seller imports from, all of one region.
    pub marketplaces: Vec<String>,
    /// Each marketplace is its own connection with its own component instance,
    /// all with the seller's one authorisation (the 0.2 shape): Amazon's buckets
    /// are the seller's, so the instances share them.
    pub per_marketplace_instances: bool,
    /// The connection reads its sources one at a time instead of together.
    pub read_sources_separately: bool,
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
    /// Usage plans (operation, rate, burst) Amazon gives this seller instead of
    /// its defaults, lower ones included.
    pub amazon_plans: Vec<(String, f64, u32)>,
    /// How many different products the generated orders are made of.
    pub distinct_asins: u32,
    /// Labels the seller creates per hour for the unshipped orders it imported
    /// (none when `None`): import and notification run together.
    pub ship: Option<f64>,
    /// Labels per `on-label-created` call (one batch id).
    pub batch: usize,
    /// Amazon stores each feed's processing report gzip-compressed.
    pub compressed_reports: bool,
    /// Notification calls (`on-label-created` and `send-queued-notifications`, 1-based)
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
    /// The host subscribes the seller to ORDER_CHANGE through the component:
    /// Amazon then publishes every change to the app's queue and the host hands
    /// the messages to `take-notifications`.
    pub order_events: bool,
    /// Amazon delivers no notification for two hours from this long after the start.
    pub event_outage: Option<Duration>,
    /// `take-notifications` calls (1-based) after which the host crashes before
    /// deleting the messages from its queue.
    pub crash_after_event_calls: BTreeSet<usize>,
    /// Share of notifications that reach the host garbled (cut short).
    pub garbled_messages: f64,
    /// The component's requests cross a real network: the simulator served over
    /// HTTPS on loopback, with network faults.
    pub over_network: Option<NetworkSpec>,
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
            marketplaces: vec!["ATVPDKIKX0DER".into()],
            per_marketplace_instances: false,
            read_sources_separately: false,
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
            amazon_plans: Vec::new(),
            distinct_asins: 300,
            ship: None,
            batch: 1,
            compressed_reports: false,
            crash_after_notification_calls: BTreeSet::new(),
            days: None,
            crash_after_redact_calls: BTreeSet::new(),
            random_faults: None,
            write_faults: None,
            over_network: None,
            order_events: false,
            event_outage: None,
            crash_after_event_calls: BTreeSet::new(),
            garbled_messages: 0.0,
            record: false,
            progress: false,
        }
    }
}

/// Amazon's searchOrders plan, from the simulator's table.
fn search_orders_plan() -> &'static Plan {
    PLANS
        .iter()
        .find(|plan| plan.operation == "searchOrders")
        .unwrap_or(&PLANS[0])
}

/// The searchOrders floor for a backlog of `n` orders: 100 per page, the first 20
/// pages from the burst, then one page per restore period.
pub fn floor_seconds(n: usize) -> f64 {
    let plan = search_orders_plan();
    let pages = n.div_ceil(100) as f64;
    (pages - f64::from(plan.burst)).max(0.0) / plan.rate
}

/// How the network between the component and the simulator misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetworkSpec {
    /// Each answer is cut mid-body with this probability.
    pub cut_share: f64,
    /// This request's answer stalls past the first-byte timeout.
    pub stall_at: Option<u64>,
    /// The seed of the faults' places.
    pub seed: u64,
}

/// The most requests a run's network faults are placed among.
const NETWORK_FAULT_REACH: u64 = 20_000;

/// The component's side of a network to `amazon`: a loopback HTTPS server of it,
/// misbehaving as `spec` says, and a client to it. The server stops when the
/// returned handle is dropped.
fn network_to(
    amazon: &Arc<Mutex<SimulatedAmazon>>,
    spec: &NetworkSpec,
) -> Result<(Arc<Mutex<dyn Amazon>>, Running)> {
    use rand::{RngExt, SeedableRng};
    let served: Arc<Mutex<dyn Amazon>> = amazon.clone();
    let mut server = Server::bind(0, served, None)?;
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(spec.seed);
    for number in 1..=NETWORK_FAULT_REACH {
        if rng.random_bool(spec.cut_share) {
            server = server.with_fault(number, NetworkFault::CutMidBody);
        }
    }
    if let Some(number) = spec.stall_at {
        server = server.with_fault(
            number,
            NetworkFault::Stall(std::time::Duration::from_millis(1500)),
        );
    }
    let tls = tls::client_trusting(server.ca_pem())?;
    let running = server.spawn();
    let base = url::Url::parse(&format!("https://{}", running.address))?;
    let timeouts = Timeouts {
        first_byte: std::time::Duration::from_secs(1),
        ..Timeouts::default()
    };
    let network = Network::new(tls, Some(base), timeouts)?;
    Ok((Arc::new(Mutex::new(network)), running))
}

/// A finished run: its report and, when asked for, the recording.
pub struct Run {
    /// The figures.
    pub report: Report,
    /// Every exchange, when `Options::record` was set, with the `_scenario` that
    /// replays it when the run can be one.
    pub har: Option<Har>,
    /// Why the recording has no `_scenario`.
    pub unreplayable: Option<String>,
    /// The export calls of a recorded run's one seller.
    pub exports: Option<crate::embed::export_log::ExportLog>,
    /// What the recording replaced (original, placeholder).
    pub placeholders: std::collections::HashMap<String, String>,
}

/// Runs one simulation.
pub fn run(options: &Options) -> Result<Run> {
    let start: DateTime<Utc> = START.parse().context("START")?;
    if let Some(body) = &options.amazon_orders {
        // Amazon's examples are dated anywhere: the run starts just after the latest
        // of them, so they are the store's recent orders.
        let marketplace = options.marketplaces.first().map_or("", String::as_str);
        let probe = World::from_search_orders_body(body, marketplace, options.seed, start)?;
        let start = probe.latest_update().unwrap_or(start) + Duration::minutes(10);
        let world = World::from_search_orders_body(body, marketplace, options.seed, start)?;
        return run_world(options, world, start);
    }
    run_world(options, World::generate(&world_spec(options), start), start)
}

/// The world `options` describe.
fn world_spec(options: &Options) -> WorldSpec {
    WorldSpec {
        seed: options.seed,
        orders: options.orders,
        marketplaces: options.marketplaces.clone(),
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
    }
}

/// The simulated Amazon of `options` with its world starting at `start`, on
/// `clock`: what `test-host serve` answers with.
pub fn amazon_at(options: &Options, start: DateTime<Utc>, clock: &VirtualClock) -> SimulatedAmazon {
    simulated_amazon(options, World::generate(&world_spec(options), start), clock)
}

/// The simulated Amazon of `options`: the simulator over `world`, its faults, and
/// a recorder.
fn simulated_amazon(options: &Options, world: World, clock: &VirtualClock) -> SimulatedAmazon {
    let mut marketplaces = options.marketplaces.clone();
    marketplaces.extend(options.other_marketplace.clone());
    let unreadable: Vec<String> = world
        .orders()
        .filter(|o| options.marketplaces.contains(&o.marketplace) && o.channel == "AMAZON")
        .take(options.unreadable_orders)
        .map(|o| o.id.clone())
        .collect();
    let mut simulator = Simulator::new(world, clock.clone(), marketplaces, LATENCY);
    for id in &unreadable {
        simulator.break_order(id, 3);
    }
    if let Some(rate) = options.search_orders_rate {
        simulator.grant_rate(search_orders_plan().operation, rate);
    }
    for (operation, rate, burst) in &options.amazon_plans {
        simulator.set_plan(operation, *rate, *burst);
    }
    if options.compressed_reports {
        simulator.compress_reports();
    }
    if options.order_events {
        let mut spec = EventSpec::new(options.seed, crate::drive::scenario::PLACEHOLDER_SELLER_ID);
        spec.garbled_share = options.garbled_messages;
        spec.outage = options
            .event_outage
            .map(|after| (clock.now() + after, EVENT_OUTAGE));
        simulator.configure_order_events(spec);
    }
    let mut faults = Faults::new(simulator);
    for (number, fault) in &options.faults {
        faults = faults.at_request(*number, *fault);
    }
    if let Some((rate, seed)) = options.random_faults {
        faults = faults.random(rate, seed);
    }
    if options.record {
        Recorder::new(faults, clock.clone())
    } else {
        Recorder::off(faults, clock.clone())
    }
}

/// The connections the host runs, the marketplaces of each: one for all, or one per
/// marketplace in the 0.2 shape.
fn connections(options: &Options) -> Result<Vec<Vec<String>>> {
    if options.marketplaces.is_empty() {
        anyhow::bail!("a simulated seller needs a marketplace");
    }
    Ok(if options.per_marketplace_instances {
        options
            .marketplaces
            .iter()
            .map(|m| vec![m.clone()])
            .collect()
    } else {
        vec![options.marketplaces.clone()]
    })
}

/// The host's plan for the connection of `marketplaces`.
fn seller_plan(options: &Options, marketplaces: &[String]) -> SellerPlan {
    let source = |marketplace: &str| Settings {
        import_fba_orders: options.fba,
        // Only Amazon.co.jp looks at it, and a simulated store there opts in.
        japan_kanji_addresses: true,
        ..Settings::simulated(marketplace)
    };
    let mut settings = source(&marketplaces[0]).to_wit();
    for marketplace in &marketplaces[1..] {
        settings
            .sources
            .extend(source(marketplace).to_wit().sources);
    }
    settings.read_sources_separately = options.read_sources_separately;
    SellerPlan {
        settings,
        keep_full_orders: options.amazon_orders.is_some(),
        import_faults: ImportFaults {
            crash_after_calls: options.crash_after_calls.clone(),
            revoke_tokens_before_calls: options.revoke_tokens_before_calls.clone(),
        },
        shipping: options.ship.map(|per_hour| {
            (
                per_hour,
                options.batch,
                options.crash_after_notification_calls.clone(),
            )
        }),
        write_faults: options.write_faults,
        order_events: options
            .order_events
            .then(|| options.crash_after_event_calls.clone()),
        log_exports: options.record,
        wire: None,
    }
}

fn run_world(options: &Options, world: World, start: DateTime<Utc>) -> Result<Run> {
    let connections = connections(options)?;
    if connections.len() > 1 && options.days.is_some() {
        anyhow::bail!("--days runs one connection; several instances do not redact yet");
    }
    let clock = VirtualClock::new(start);
    let amazon = Arc::new(Mutex::new(simulated_amazon(options, world, &clock)));
    let reach = start - FIRST_IMPORT_LOOKBACK;
    let read_by_import = |o: &SimOrder| o.fulfilled_by == "MERCHANT" || options.fba;
    // What the first window's filters match, other shops' orders included: Amazon
    // pages through all of them.
    let backlog = lock(&amazon)
        .simulator()
        .world()
        .orders()
        .filter(|o| {
            options.marketplaces.contains(&o.marketplace)
                && read_by_import(o)
                && o.updated >= reach
                && o.updated <= start
        })
        .count();
    let network = options
        .over_network
        .as_ref()
        .map(|spec| network_to(&amazon, spec))
        .transpose()?;
    let mut sellers = Vec::new();
    for marketplaces in &connections {
        let mut plan = seller_plan(options, marketplaces);
        plan.wire = network.as_ref().map(|(wire, _)| wire.clone());
        sellers.push(Seller::connect(amazon.clone(), clock.clone(), plan)?);
    }
    let settled = run_together(&mut sellers, MAX_RUN, options.progress, backlog)?;
    let redaction = match (options.days, settled, sellers.as_mut_slice()) {
        (Some(days), true, [seller]) => Some(seller.redact_until(
            start + Duration::days(i64::from(days)),
            days,
            options.crash_after_redact_calls.clone(),
        )?),
        _ => None,
    };
    // One closure expression: every owner has the same type.
    let owners: Vec<_> = connections
        .iter()
        .map(|marketplaces| {
            move |o: &SimOrder| {
                o.channel == "AMAZON" && marketplaces.contains(&o.marketplace) && read_by_import(o)
            }
        })
        .collect();
    let truth: Vec<StoreTruth> = sellers
        .iter()
        .zip(&owners)
        .map(|(seller, owns)| StoreTruth {
            database: &seller.database,
            owns,
        })
        .collect();
    let amazon = lock(&amazon);
    let ran = Ran {
        options,
        sellers: &sellers,
        truth: &truth,
        amazon: &amazon,
        start,
        now: clock.now(),
        reach,
        backlog,
        settled,
    };
    let mut report = ran.report(redaction)?;
    report.network_faults = network
        .as_ref()
        .map_or(0, |(_, running)| running.faults_fired() as usize);
    let (har, unreplayable) = match options.record {
        false => (None, None),
        true => {
            let mut har = amazon.har();
            match scenario_of(&sellers, amazon.unanswered(), options) {
                Ok(scenario) => {
                    har.log.scenario = Some(scenario);
                    (Some(har), None)
                }
                Err(why) => (Some(har), Some(why.to_string())),
            }
        }
    };
    let exports = match sellers.as_slice() {
        [seller] => seller.export_log().cloned(),
        _ => None,
    };
    Ok(Run {
        report,
        har,
        unreplayable,
        exports,
        placeholders: amazon.placeholders().clone(),
    })
}

/// The `_scenario` of a recorded run: what its one seller called.
fn scenario_of(
    sellers: &[Seller],
    unanswered: usize,
    options: &Options,
) -> Result<serde_json::Value, Unreplayable> {
    let [seller] = sellers else {
        return Err(Unreplayable(format!(
            "{} connections ran; a scenario is one",
            sellers.len()
        )));
    };
    if unanswered > 0 {
        return Err(Unreplayable(format!(
            "{unanswered} requests got no answer, which a recording cannot hold"
        )));
    }
    let log = seller
        .export_log()
        .ok_or_else(|| Unreplayable("the export calls were not kept".into()))?;
    let description = format!(
        "A simulated seller (seed {}, {} orders){}.",
        options.seed,
        options.orders,
        if options.ship.is_some() {
            ", shipping what it imports"
        } else {
            ""
        }
    );
    record::scenario(log, &description)
}

/// A finished run's parts, for its report.
struct Ran<'r> {
    options: &'r Options,
    sellers: &'r [Seller],
    truth: &'r [StoreTruth<'r>],
    amazon: &'r SimulatedAmazon,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    reach: DateTime<Utc>,
    backlog: usize,
    settled: bool,
}

impl Ran<'_> {
    /// The report, summed over the stores; times are the latest store's.
    fn report(&self, redaction: Option<crate::seller::RedactionReport>) -> Result<Report> {
        let (options, sellers, start) = (self.options, self.sellers, self.start);
        let simulator = self.amazon.simulator();
        let world = simulator.world();
        let truth = check_orders(self.truth, world, self.reach);
        let desks: Vec<&ShippingDesk> =
            sellers.iter().filter_map(|s| s.shipping.as_ref()).collect();
        let notifications = (!desks.is_empty()).then(|| {
            ShippingDesk::report(&desks, simulator.shipping(), |order_id| {
                world
                    .order(order_id)
                    .is_some_and(|o| o.status == "CANCELLED")
            })
        });
        let mut pii_in_storage = 0;
        for seller in sellers {
            pii_in_storage += secrets_in_storage(seller.storage(), world)?;
        }
        let calls = simulator.counts().clone();
        let mut reads: BTreeMap<&str, usize> = BTreeMap::new();
        for asin in simulator.asins_read() {
            *reads.entry(asin.as_str()).or_default() += 1;
        }
        let sum = |figure: &dyn Fn(&Seller) -> usize| sellers.iter().map(figure).sum::<usize>();
        let latest =
            |at: &dyn Fn(&Seller) -> DateTime<Utc>| sellers.iter().map(at).max().unwrap_or(start);
        let seconds = |at: DateTime<Utc>| (at - start).num_milliseconds() as f64 / 1000.0;
        let backlog_seconds = seconds(latest(&|s| s.import.backlog_read_at.unwrap_or(self.now)));
        let floor = floor_seconds(self.backlog);
        let mut lags: Vec<f64> = sellers.iter().flat_map(|s| s.import.lags.clone()).collect();
        let mut skipped = BTreeMap::new();
        for (reason, count) in sellers.iter().flat_map(|s| &s.import.skipped) {
            *skipped.entry(reason.clone()).or_default() += count;
        }
        let waited = sellers
            .iter()
            .map(|s| s.import.waited_until_caught_up)
            .max()
            .unwrap_or_default();
        let order_events = simulator.order_events().map(|queue| {
            let desks: Vec<_> = sellers.iter().filter_map(|s| s.events.as_ref()).collect();
            let mut arrival_lags: Vec<f64> = sellers
                .iter()
                .flat_map(|s| s.import.arrival_lags.clone())
                .collect();
            let mut change_lags: Vec<f64> = sellers
                .iter()
                .flat_map(|s| s.import.notified_change_lags.clone())
                .collect();
            let mut outcomes = BTreeMap::new();
            for (name, count) in desks.iter().flat_map(|d| &d.outcomes) {
                *outcomes.entry(name.clone()).or_default() += count;
            }
            OrderEventsReport {
                published: queue.counts.published,
                lost_by_amazon: queue.counts.lost,
                duplicated_by_queue: queue.counts.duplicated,
                received: queue.counts.received,
                take_calls: desks.iter().map(|d| d.calls).sum(),
                take_errors: desks.iter().map(|d| d.errors).sum(),
                outcomes,
                get_order_calls: simulator.counts().get("getOrder").map_or(0, |c| c.calls),
                lag_from_arrival_p50_seconds: percentile(&mut arrival_lags, 0.5),
                lag_from_arrival_p99_seconds: percentile(&mut arrival_lags, 0.99),
                lag_from_change_p50_seconds: percentile(&mut change_lags, 0.5),
                lag_from_change_p99_seconds: percentile(&mut change_lags, 0.99),
            }
        });
        let secrets_in_outputs =
            sum(&|s| s.leaked()) + redaction.as_ref().map_or(0, |r| r.secrets_in_outputs);
        Ok(Report {
            seed: options.seed,
            instances: sellers.len(),
            amazon_orders: truth.amazon_orders,
            backlog: self.backlog,
            imported: sum(&|s| s.database.orders.len()),
            imported_amazon_fulfilled: sum(&|s| {
                s.database
                    .orders
                    .values()
                    .filter(|h| h.amazon_fulfilled)
                    .count()
            }),
            missed: truth.missed,
            duplicated: sum(&|s| s.import.duplicated),
            final_state_mismatches: truth.mismatches.len(),
            mismatches: truth.mismatches.into_iter().take(10).collect(),
            foreign_orders: truth.foreign_orders,
            foreign_imported: truth.foreign_imported,
            skipped,
            changes: world.changes_applied(),
            products_received: sum(&|s| s.import.products_received),
            items_without_product_info: sum(&|s| s.database.items_without_product_info()),
            catalog_asins: reads.len(),
            most_reads_of_one_asin: reads.values().copied().max().unwrap_or(0),
            import_calls: sum(&|s| s.import.calls),
            empty_calls: sum(&|s| s.import.empty_calls),
            errors: sum(&|s| s.import.errors),
            crashes: sum(&|s| s.import.crashes),
            faults: self.amazon.inner().injected().len(),
            network_faults: 0,
            throttled: calls.values().map(|c| c.throttled).sum(),
            calls,
            backlog_seconds,
            virtual_seconds: seconds(latest(&|s| s.import.caught_up_at)),
            import_lag_p50_seconds: crate::seller::report::percentile(&mut lags, 0.5),
            import_lag_p99_seconds: crate::seller::report::percentile(&mut lags, 0.99),
            waited_seconds: waited.num_milliseconds() as f64 / 1000.0,
            floor_seconds: floor,
            floor_ratio: (floor > 0.0).then(|| backlog_seconds / floor),
            min_search_calls: self.backlog.div_ceil(100),
            backlog_search_calls: sum(&|s| s.import.backlog_search_calls),
            settled: self.settled,
            redaction,
            failed_writes: sum(&|s| s.storage().failed_writes()),
            secrets_in_outputs,
            pii_in_storage,
            notifications,
            order_events,
            orders: options.amazon_orders.is_some().then(|| {
                sellers
                    .iter()
                    .flat_map(|s| s.database.orders.values())
                    .filter_map(|held| held.full.as_ref())
                    .map(wit_json::order)
                    .collect()
            }),
            started_at: start.to_rfc3339_opts(SecondsFormat::Secs, true),
            finished_at: self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }
}
