//! The simulated host platform: a [`Seller`] with one connected store, its own
//! database, and three desks that call the component as a real host would (import,
//! shipping, redaction), against the simulated Amazon. The host jumps its virtual
//! clock to each `next-call-after`, so hours of Amazon's pacing run in seconds; a
//! host crash ([`Seller::crash`]) restarts the component on the storage it left.

pub mod database;
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

/// A simulated seller's platform with one connected store.
pub struct Seller {
    instance: ComponentInstance,
    amazon: Arc<Mutex<SimulatedAmazon>>,
    clock: VirtualClock,
    settings: wit::StoreSettings,
    start: DateTime<Utc>,
    /// The orders and checkpoint.
    pub database: HostDatabase,
    /// `import-orders` and its figures.
    pub import: ImportDesk,
    /// Labels and their updates, when the seller ships.
    pub shipping: Option<ShippingDesk>,
    /// Virtual time spent waiting for `next-call-after`.
    waited: Duration,
    /// Side output of `connect` that held a buyer value or a secret.
    connect_leaked: usize,
}

/// How the seller runs: its store, and the faults its own side injects.
pub struct SellerPlan {
    /// The store's settings.
    pub settings: wit::StoreSettings,
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
        let mut instance =
            ComponentInstance::new(amazon.clone(), SqliteStorage::in_memory()?, clock.clone())?;
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
        if let Some((rate, seed)) = plan.write_faults {
            // Connecting is spared: the disk fills from here on.
            instance.storage().fail_writes(rate, seed);
            instance.restart()?;
        }
        let connected_at = clock.now();
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
            import: ImportDesk::new(start, connected_at, last_change, plan.import_faults),
            shipping,
            waited: Duration::zero(),
            connect_leaked,
        })
    }

    /// The host crashes: whatever the last call returned is lost, and the component
    /// restarts on the storage it left.
    pub fn crash(&mut self) -> Result<()> {
        self.instance.restart()
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
        let mut bar = Progress::new(progress, backlog);
        loop {
            if self.clock.now() - self.start > max_run {
                return Ok(false);
            }
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
                Did::Something => continue,
                Did::Crashed => {
                    self.crash()?;
                    if let Some(desk) = self.shipping.as_mut() {
                        desk.after_crash();
                    }
                    continue;
                }
            }
            if self.import.next_call_at > self.clock.now() {
                self.wait_for_next_desk();
                continue;
            }
            let imported = self.import.step(
                &mut self.instance,
                &self.amazon,
                &self.settings,
                &mut self.database,
                self.waited,
            )?;
            match imported {
                Imported::Crashed => {
                    self.crash()?;
                    continue;
                }
                Imported::Stored if self.import.settled(&self.database, self.shipping.as_ref()) => {
                    bar.finish();
                    return Ok(true);
                }
                Imported::Stored | Imported::Failed => {}
            }
            bar.show(self.database.orders.len(), self.clock.now() - self.start);
        }
    }

    /// Jumps the clock to the next call any desk has due.
    fn wait_for_next_desk(&mut self) {
        let now = self.clock.now();
        let next = self
            .shipping
            .as_ref()
            .and_then(|desk| desk.due_at(now))
            .map_or(self.import.next_call_at, |at| {
                at.min(self.import.next_call_at)
            });
        if next > now {
            self.waited += next - now;
            self.clock.set(next);
        }
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
