//! The simulated host platform: a [`Seller`] with one connected store, its own
//! database, and three desks that call the component as a real host would (import,
//! shipping, redaction), against the simulated Amazon. The host jumps its virtual
//! clock to each `next-call-after`, so hours of Amazon's pacing run in seconds; a
//! host crash ([`Seller::crash`]) restarts the component on the storage it left.

pub mod database;
pub mod events;
pub mod import;
pub mod redaction;
pub mod report;
pub mod shipping;
pub mod truth;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Result, bail};
use chrono::{DateTime, Duration, Utc};

pub use report::{Mismatch, NotificationReport, RedactionReport, Report};
pub use truth::leaks;

use crate::amazon::faults::Faults;
use crate::amazon::recorder::Recorder;
use crate::amazon::sim::Simulator;
use crate::embed::runtime::bindings as wit;
use crate::embed::{ComponentInstance, SqliteStorage, VirtualClock, datetime, time};
use database::HostDatabase;
use events::EventDesk;
use import::{ImportDesk, ImportFaults, Imported};
use redaction::{REDACT_EVERY, RedactionDesk};
use shipping::ShippingDesk;

/// The Amazon a seller talks to: the simulator, behind fault injection and a
/// recorder.
pub type SimulatedAmazon = Recorder<Faults<Simulator>>;

impl SimulatedAmazon {
    /// The simulator itself.
    pub fn simulator(&self) -> &Simulator {
        self.inner().inner()
    }

    /// The simulator itself, to change its world.
    pub fn simulator_mut(&mut self) -> &mut Simulator {
        self.inner_mut().inner_mut()
    }
}

/// A host retries a failed call after this long.
pub const HOST_RETRY: Duration = Duration::seconds(60);
/// Connecting is tried this many times, a minute apart.
const CONNECT_ATTEMPTS: usize = 10;

/// What a desk's step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Did {
    /// Nothing was due.
    Nothing,
    /// A call, or labels created.
    Something,
    /// The host crashed after a call: restart the component.
    Crashed,
}

/// What a seller's step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It made a call (or created labels): step again.
    Busy,
    /// Nothing is due before this time.
    IdleUntil(DateTime<Utc>),
    /// The run settled for this store: every change read, nothing pending.
    Settled,
}

/// Several stores on one host, each with its own component instance, against one
/// Amazon and one clock (the shape where every marketplace of a seller is its own
/// store): each steps while it has something due, then the clock jumps to the
/// earliest call any of them has due. True when all settled within `max_run`.
pub fn run_together(
    sellers: &mut [Seller],
    max_run: Duration,
    progress: bool,
    backlog: usize,
) -> Result<bool> {
    let Some(first) = sellers.first() else {
        return Ok(true);
    };
    let (clock, start) = (first.clock.clone(), first.start);
    let mut bar = Progress::new(progress, backlog);
    let mut settled = vec![false; sellers.len()];
    loop {
        if clock.now() - start > max_run {
            return Ok(false);
        }
        let mut next: Option<DateTime<Utc>> = None;
        let mut busy = false;
        for (seller, done) in sellers.iter_mut().zip(settled.iter_mut()) {
            if *done {
                continue;
            }
            match seller.step()? {
                Step::Busy => busy = true,
                Step::Settled => *done = true,
                Step::IdleUntil(at) => next = Some(next.map_or(at, |n| n.min(at))),
            }
        }
        if settled.iter().all(|done| *done) {
            bar.finish();
            return Ok(true);
        }
        if busy {
            let imported = sellers.iter().map(|s| s.database.orders.len()).sum();
            bar.show(imported, clock.now() - start);
        } else if let Some(next) = next {
            let now = clock.now();
            if next > now {
                for (seller, _) in sellers.iter_mut().zip(&settled).filter(|(_, done)| !**done) {
                    seller.waited += next - now;
                }
                clock.set(next);
            }
        }
    }
}

/// A simulated seller's platform with one connected store.
pub struct Seller {
    instance: ComponentInstance,
    amazon: Arc<Mutex<SimulatedAmazon>>,
    clock: VirtualClock,
    settings: wit::ConnectionSettings,
    start: DateTime<Utc>,
    /// The orders and checkpoint.
    pub database: HostDatabase,
    /// `import-orders` and its figures.
    pub import: ImportDesk,
    /// Labels and their updates, when the seller ships.
    pub shipping: Option<ShippingDesk>,
    /// ORDER_CHANGE messages from the app's queue, when the seller subscribed.
    pub events: Option<EventDesk>,
    /// Virtual time spent waiting for `next-call-after`.
    waited: Duration,
    /// Side output of `connect` that held a buyer value or a secret.
    connect_leaked: usize,
}

/// How the seller runs: its store, and the faults its own side injects.
pub struct SellerPlan {
    /// The store's settings.
    pub settings: wit::ConnectionSettings,
    /// Keep every order whole, for a report of a small world.
    pub keep_full_orders: bool,
    /// Faults around the import calls.
    pub import_faults: ImportFaults,
    /// `(labels per hour, per call, calls after which the host crashes)` when the
    /// seller ships.
    pub shipping: Option<(f64, usize, BTreeSet<usize>)>,
    /// Writes to the component's storage fail with this probability, from this
    /// seed, once connected.
    pub write_faults: Option<(f64, u64)>,
    /// `take-notifications` calls after which the host crashes, when the seller
    /// takes ORDER_CHANGE notifications (the simulator publishes them).
    pub order_events: Option<BTreeSet<usize>>,
    /// Keep every export call, for a recording's `_scenario`.
    pub log_exports: bool,
    /// The component's requests go this way to Amazon (a network) instead of
    /// straight to it.
    pub wire: Option<Arc<Mutex<dyn crate::amazon::Amazon>>>,
}

impl Seller {
    /// Connects the store (a host tries again a minute later, up to ten times),
    /// with the component's storage in memory.
    pub fn connect(
        amazon: Arc<Mutex<SimulatedAmazon>>,
        clock: VirtualClock,
        plan: SellerPlan,
    ) -> Result<Self> {
        let start = clock.now();
        let last_change = lock(&amazon).simulator().world().last_change_at();
        let wire: Arc<Mutex<dyn crate::amazon::Amazon>> = match &plan.wire {
            Some(wire) => wire.clone(),
            None => amazon.clone(),
        };
        let mut instance =
            ComponentInstance::new(wire, SqliteStorage::in_memory()?, clock.clone())?;
        if plan.log_exports {
            instance.log_exports();
        }
        let mut connect_leaked = 0;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (result, record) = instance.connect(&plan.settings)?;
            connect_leaked += leaks(&result, &record);
            match result {
                Ok(_) => break,
                Err(error) if attempts >= CONNECT_ATTEMPTS => {
                    bail!("connect failed on the simulator: {error:?}")
                }
                Err(_) => clock.set(clock.now() + HOST_RETRY),
            }
        }
        if plan.order_events.is_some() {
            // Tried like connecting; a host that cannot subscribe imports by
            // polling alone, as the WIT promises.
            for _ in 0..CONNECT_ATTEMPTS {
                let (result, record) = instance.subscribe(&plan.settings, events::QUEUE_ARN)?;
                connect_leaked += leaks(&result, &record);
                if result.is_ok() {
                    break;
                }
                clock.set(clock.now() + HOST_RETRY);
            }
        }
        if let Some((rate, seed)) = plan.write_faults {
            // Connecting is spared: the disk fills from here on.
            instance.storage().fail_writes(rate, seed);
            instance.restart()?;
        }
        let connected_at = clock.now();
        let sources = plan
            .settings
            .sources
            .iter()
            .map(|s| s.marketplace_id.clone())
            .collect();
        let shipping = plan.shipping.map(|(per_hour, batch, crash_after)| {
            ShippingDesk::new(per_hour, batch, start, crash_after)
        });
        Ok(Self {
            instance,
            amazon,
            clock,
            settings: plan.settings,
            start,
            database: HostDatabase::new(plan.keep_full_orders),
            import: ImportDesk::new(
                start,
                connected_at,
                last_change,
                plan.import_faults,
                sources,
            ),
            shipping,
            events: plan.order_events.map(|crash_after_calls| EventDesk {
                crash_after_calls,
                ..EventDesk::default()
            }),
            waited: Duration::zero(),
            connect_leaked,
        })
    }

    /// Every export call the host made, when the plan asked to keep them.
    pub fn export_log(&self) -> Option<&crate::embed::export_log::ExportLog> {
        self.instance.export_log()
    }

    /// The host crashes: whatever the last call returned is lost, and the component
    /// restarts on the storage it left.
    pub fn crash(&mut self) -> Result<()> {
        self.instance.restart()
    }

    /// Does what one of its desks has due now: a shipping step first, then an
    /// import call when one is due.
    pub fn step(&mut self) -> Result<Step> {
        let did = match self.shipping.as_mut() {
            Some(desk) => desk.step(
                &mut self.instance,
                &self.amazon,
                &self.clock,
                &self.settings,
                &self.database,
                self.import.backlog_read(),
            )?,
            None => Did::Nothing,
        };
        match did {
            Did::Nothing => {}
            Did::Something => return Ok(Step::Busy),
            Did::Crashed => {
                self.crash()?;
                if let Some(desk) = self.shipping.as_mut() {
                    desk.after_crash();
                }
                return Ok(Step::Busy);
            }
        }
        if let Some(desk) = self.events.as_mut() {
            let shipping = self.shipping.as_ref();
            let labelled = |id: &str| shipping.is_some_and(|desk| desk.labelled(id));
            match desk.step(
                &mut self.instance,
                &self.amazon,
                &self.settings,
                &mut self.import,
                &labelled,
            )? {
                Did::Nothing => {}
                Did::Something => return Ok(Step::Busy),
                Did::Crashed => {
                    self.crash()?;
                    return Ok(Step::Busy);
                }
            }
        }
        let now = self.clock.now();
        if self.import.next_call_at > now {
            return Ok(Step::IdleUntil(self.next_due(now)));
        }
        let imported = self.import.step(
            &mut self.instance,
            &self.amazon,
            &self.settings,
            &mut self.database,
            self.waited,
        )?;
        match imported {
            Imported::Crashed => self.crash()?,
            Imported::Stored if self.import.settled(&self.database, self.shipping.as_ref()) => {
                return Ok(Step::Settled);
            }
            Imported::Stored | Imported::Failed => {}
        }
        Ok(Step::Busy)
    }

    /// The next call any desk has due after `now`.
    fn next_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let shipping = self.shipping.as_ref().and_then(|desk| desk.due_at(now));
        // Never before now: what was due by now was received by this step.
        let events = self
            .events
            .as_ref()
            .and_then(|desk| desk.due_at(&self.amazon))
            .map(|at| at.max(now + Duration::milliseconds(1)));
        [shipping, events]
            .into_iter()
            .flatten()
            .fold(self.import.next_call_at, DateTime::min)
    }

    /// Imports and ships until the run settles (true), or until `max_run` of
    /// virtual time has passed (false). `progress` shows a bar on stderr once the
    /// run takes longer than a second, counting towards `backlog` orders.
    pub fn run_until_settled(
        &mut self,
        max_run: Duration,
        progress: bool,
        backlog: usize,
    ) -> Result<bool> {
        run_together(std::slice::from_mut(self), max_run, progress, backlog)
    }

    /// Calls `redact` every hour until `end`, reporting deliveries, and checks every
    /// directive against the seed's schedule.
    pub fn redact_until(
        &mut self,
        end: DateTime<Utc>,
        days: u32,
        crash_after: BTreeSet<usize>,
    ) -> Result<RedactionReport> {
        let labels = match &self.shipping {
            Some(desk) => desk.facts(lock(&self.amazon).simulator().shipping()),
            None => Vec::new(),
        };
        let merchant: BTreeSet<String> = self
            .database
            .orders
            .iter()
            .filter(|(_, held)| !held.amazon_fulfilled)
            .map(|(id, _)| id.clone())
            .collect();
        let mut desk = RedactionDesk::new(days, &labels, crash_after);
        let mut at = self.clock.now();
        while at <= end {
            self.clock.set(at);
            if desk.step(&mut self.instance, at)? == Did::Crashed {
                self.crash()?;
            }
            at += REDACT_EVERY;
        }
        Ok(desk.report(end, &self.import.first_seen, &merchant, &labels))
    }

    /// Side output of every call so far that held a buyer value or a secret
    /// (redaction's is in its report).
    pub fn leaked(&self) -> usize {
        self.connect_leaked
            + self.import.leaked
            + self.shipping.as_ref().map_or(0, |desk| desk.leaked)
            + self.events.as_ref().map_or(0, |desk| desk.leaked)
    }

    /// The Amazon the seller talks to.
    pub fn amazon(&self) -> &Arc<Mutex<SimulatedAmazon>> {
        &self.amazon
    }

    /// The component's storage, as it is now.
    pub fn storage(&self) -> &SqliteStorage {
        self.instance.storage()
    }
}

/// A progress bar on stderr for runs longer than a second.
struct Progress {
    enabled: bool,
    backlog: usize,
    wall: Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(enabled: bool, backlog: usize) -> Self {
        Self {
            enabled,
            backlog,
            wall: Instant::now(),
            bar: None,
        }
    }

    fn show(&mut self, imported: usize, elapsed: Duration) {
        if self.enabled && self.bar.is_none() && self.wall.elapsed().as_secs_f64() > 1.0 {
            let bar = indicatif::ProgressBar::new(self.backlog as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos}/{len} orders imported, virtual time {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(imported as u64);
            bar.set_message(format!("{} s", elapsed.num_seconds()));
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The simulated Amazon, locked (a panicked holder does not poison it for the
/// report).
pub fn lock(amazon: &Arc<Mutex<SimulatedAmazon>>) -> std::sync::MutexGuard<'_, SimulatedAmazon> {
    amazon.lock().unwrap_or_else(|p| p.into_inner())
}
