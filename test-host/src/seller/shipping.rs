//! The simulated host's shipping desk: it creates labels for the unshipped orders it
//! imported, hands them to `on-label-created`, calls `send-queued-notifications` when
//! told to, and keeps each label's outcome in its own database. After a crash it
//! asks the component again about every label without a final outcome (the same
//! labels to `on-label-created`, which sends nothing new).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::database::{Held, HostDatabase};
use super::report::{NotificationReport, percentile};
use super::{Did, SimulatedAmazon, datetime, leaks, lock, time};
use crate::amazon::sim::Shipping;
use crate::embed::runtime::bindings as wit;
use crate::embed::{ComponentInstance, VirtualClock};

/// What the redaction schedule of a label depends on, as the host knows it.
#[derive(Debug, Clone)]
pub struct LabelFacts {
    /// Host label id.
    pub label_id: String,
    /// Its order.
    pub order_id: String,
    /// When the label was created.
    pub created_at: DateTime<Utc>,
    /// Its ship date.
    pub ship_date: DateTime<Utc>,
    /// The service reports delivery.
    pub tracked: bool,
    /// When the carrier delivers it (tracked and accepted by Amazon only).
    pub delivered_at: Option<DateTime<Utc>>,
    /// When Amazon accepted its tracking.
    pub sent_at: Option<DateTime<Utc>>,
}

/// One label as the host keeps it.
struct HostLabel {
    event: wit::LabelEvent,
    order_id: String,
    created_at: DateTime<Utc>,
    ship_date: DateTime<Utc>,
    /// A package handed to the carrier before its planned ship date: delivered
    /// before it, so the delivery clock is the first to run out.
    early: bool,
    /// Sent, sent in a feed, or not sent: nothing more will happen to it.
    outcome: Option<wit::NotificationResult>,
}

/// The host's labels and its timers.
pub struct ShippingDesk {
    interval: Duration,
    batch: usize,
    next_batch_at: Option<DateTime<Utc>>,
    labels: BTreeMap<String, HostLabel>,
    labelled: BTreeSet<String>,
    /// Labels to hand (again) to `on-label-created`: created, or unknown after a
    /// crash.
    unsent: Vec<String>,
    /// Not before (the last attempt to hand them over failed).
    resend_at: Option<DateTime<Utc>>,
    next_delivery: Option<DateTime<Utc>>,
    crash_after: BTreeSet<usize>,
    calls: usize,
    label_calls: usize,
    delivery_calls: usize,
    crashes: usize,
    batches: usize,
    /// When a notification call last changed anything.
    pub last_activity: Option<DateTime<Utc>>,
    /// Side output of its calls that held a buyer value or a secret.
    pub leaked: usize,
}

impl ShippingDesk {
    /// True when the host created a label for the order.
    pub fn labelled(&self, order_id: &str) -> bool {
        self.labelled.contains(order_id)
    }

    /// `per_hour` labels an hour, `batch` per call, from `start`.
    pub fn new(
        per_hour: f64,
        batch: usize,
        start: DateTime<Utc>,
        crash_after: BTreeSet<usize>,
    ) -> Self {
        let batch = batch.max(1);
        let interval =
            Duration::milliseconds((batch as f64 / per_hour.max(1e-3) * 3_600_000.0) as i64);
        Self {
            interval,
            batch,
            next_batch_at: Some(start + interval),
            labels: BTreeMap::new(),
            labelled: BTreeSet::new(),
            unsent: Vec::new(),
            resend_at: None,
            next_delivery: None,
            crash_after,
            calls: 0,
            label_calls: 0,
            delivery_calls: 0,
            crashes: 0,
            batches: 0,
            last_activity: None,
            leaked: 0,
        }
    }

    /// When the desk has something to do next.
    pub fn due_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.unsent.is_empty() {
            return Some(self.resend_at.map_or(now, |at| at.max(now)));
        }
        [self.next_batch_at, self.next_delivery]
            .into_iter()
            .flatten()
            .min()
    }

    /// Every label has its final outcome and no more will be created.
    pub fn done(&self) -> bool {
        self.next_batch_at.is_none()
            && self.unsent.is_empty()
            && self.labels.values().all(|l| l.outcome.is_some())
    }

    fn crash(&mut self) -> bool {
        self.calls += 1;
        if self.crash_after.contains(&self.calls) {
            self.crashes += 1;
            return true;
        }
        false
    }

    fn record(&mut self, outcomes: &[wit::NotificationOutcome]) {
        for outcome in outcomes {
            let Some(label) = self.labels.get_mut(&outcome.label_id) else {
                continue;
            };
            match &outcome.outcome {
                wit::NotificationResult::Queued(at) => {
                    self.next_delivery =
                        Some(self.next_delivery.map_or(time(at), |n| n.min(time(at))));
                }
                wit::NotificationResult::InFeed(feed) => {
                    let at = time(&feed.check_after);
                    self.next_delivery = Some(self.next_delivery.map_or(at, |n| n.min(at)));
                }
                final_outcome => label.outcome = Some(final_outcome.clone()),
            }
        }
    }

    /// Does what is due at the clock's time: hands over labels, delivers queued
    /// updates, or creates the next batch of labels.
    pub fn step(
        &mut self,
        instance: &mut ComponentInstance,
        amazon: &Arc<Mutex<SimulatedAmazon>>,
        clock: &VirtualClock,
        settings: &wit::ConnectionSettings,
        db: &HostDatabase,
        backlog_read: bool,
    ) -> Result<Did> {
        let now = clock.now();
        if !self.unsent.is_empty() && self.resend_at.is_none_or(|at| at <= now) {
            return self.hand_over(instance, settings, now);
        }
        if self.next_delivery.is_some_and(|at| at <= now) {
            return self.deliver(instance, settings, now);
        }
        if self.next_batch_at.is_some_and(|at| at <= now) {
            return Ok(self.create_batch(amazon, db, backlog_read, now));
        }
        Ok(Did::Nothing)
    }

    /// Hands the labels without an outcome to `on-label-created`.
    fn hand_over(
        &mut self,
        instance: &mut ComponentInstance,
        settings: &wit::ConnectionSettings,
        now: DateTime<Utc>,
    ) -> Result<Did> {
        let labels: Vec<wit::LabelEvent> = self
            .unsent
            .iter()
            .filter_map(|id| self.labels.get(id))
            .map(|l| l.event.clone())
            .collect();
        self.label_calls += 1;
        let (result, record) = instance.on_label_created(settings, &labels)?;
        self.leaked += leaks(&result, &record);
        if self.crash() {
            return Ok(Did::Crashed);
        }
        match result {
            Ok(outcomes) => {
                self.unsent.clear();
                self.resend_at = None;
                self.record(&outcomes);
                self.last_activity = Some(now);
                // Not kept by the component's storage: the label goes again.
                for outcome in &outcomes {
                    if let wit::NotificationResult::NotSent(wit::NotSentReason::StorageFailed(_)) =
                        &outcome.outcome
                    {
                        if let Some(label) = self.labels.get_mut(&outcome.label_id) {
                            label.outcome = None;
                        }
                        self.unsent.push(outcome.label_id.clone());
                        self.resend_at = Some(now + Duration::seconds(60));
                    }
                }
            }
            // The host tries again a minute later; the labels stay unsent.
            Err(_) => self.resend_at = Some(now + Duration::seconds(60)),
        }
        Ok(Did::Something)
    }

    /// Calls `send-queued-notifications` for the queued updates now due.
    fn deliver(
        &mut self,
        instance: &mut ComponentInstance,
        settings: &wit::ConnectionSettings,
        now: DateTime<Utc>,
    ) -> Result<Did> {
        self.delivery_calls += 1;
        let (result, record) = instance.send_queued_notifications(settings)?;
        self.leaked += leaks(&result, &record);
        if self.crash() {
            return Ok(Did::Crashed);
        }
        match result {
            Ok(report) => {
                self.next_delivery = None;
                if !report.outcomes.is_empty() {
                    self.last_activity = Some(now);
                }
                self.record(&report.outcomes);
                self.next_delivery = report.next_call_after.as_ref().map(time);
                // Nothing left in the outbox: a label still waiting lost its
                // outcome with a report; the host asks about it.
                if self.next_delivery.is_none() {
                    self.after_crash();
                }
            }
            Err(_) => self.next_delivery = Some(now + Duration::seconds(60)),
        }
        Ok(Did::Something)
    }

    /// Creates labels for up to a batch of unshipped orders the host holds.
    fn create_batch(
        &mut self,
        amazon: &Arc<Mutex<SimulatedAmazon>>,
        db: &HostDatabase,
        backlog_read: bool,
        now: DateTime<Utc>,
    ) -> Did {
        let candidates: Vec<(&String, &Held)> = db
            .orders
            .iter()
            .filter(|(id, held)| {
                held.status == "UNSHIPPED" && !held.amazon_fulfilled && !self.labelled.contains(*id)
            })
            .take(self.batch)
            .collect();
        if candidates.is_empty() {
            // No order will need a label any more: the backlog is in and
            // Amazon's changes are over.
            let quiet = backlog_read && lock(amazon).simulator().world().pending_changes() == 0;
            self.next_batch_at = if quiet {
                None
            } else {
                Some(now + self.interval)
            };
            return Did::Something;
        }
        self.batches += 1;
        let batch_id = format!("B{}", self.batches);
        for (order_id, held) in candidates {
            let serial = self.labels.len() + 1;
            let label_id = format!("L{serial}");
            // A mix of the seed's cases: a quarter without automatic tracking,
            // and a third of the tracked ones planned to ship in five days but
            // picked up and delivered before that.
            let tracked = !serial.is_multiple_of(4);
            let early = tracked && serial.is_multiple_of(3);
            let ship_date = if early {
                now + Duration::days(5)
            } else {
                now + Duration::hours(1)
            };
            let event = wit::LabelEvent {
                label_id: label_id.clone(),
                orders: vec![wit::LabelOrder {
                    order_id: order_id.clone(),
                    // The component ships each order to the marketplace it was
                    // imported from.
                    marketplace_id: None,
                    items: held
                        .lines
                        .iter()
                        .filter(|(_, quantity)| *quantity > 0)
                        .map(|(id, quantity)| wit::LabelItem {
                            order_item_id: id.clone(),
                            quantity: *quantity,
                        })
                        .collect(),
                }],
                // As hosts type them: Amazon's list has the first two (spelled
                // otherwise), not the third.
                carrier_code: ["ups", "United States Postal Service", "Acme Couriers"][serial % 3]
                    .into(),
                carrier_name: None,
                service: Some("Ground".into()),
                tracking_number: format!("1ZSIM{serial:010}"),
                ship_date: datetime(ship_date),
                created_at: datetime(now),
                carrier_fee: None,
                automatic_tracking: tracked,
                batch_id: Some(batch_id.clone()),
            };
            self.labelled.insert(order_id.clone());
            self.unsent.push(label_id.clone());
            self.labels.insert(
                label_id,
                HostLabel {
                    event,
                    order_id: order_id.clone(),
                    created_at: now,
                    ship_date,
                    early,
                    outcome: None,
                },
            );
        }
        self.next_batch_at = Some(now + self.interval);
        Did::Something
    }

    /// The host died before storing the outcomes (and the component was restarted
    /// on the storage it left): every label without a final outcome is asked about
    /// again.
    pub fn after_crash(&mut self) {
        self.unsent = self
            .labels
            .iter()
            .filter(|(_, l)| l.outcome.is_none())
            .map(|(id, _)| id.clone())
            .collect();
    }

    /// Each label's dates, with Amazon's acceptance from its record.
    pub fn facts(&self, shipping: &Shipping) -> Vec<LabelFacts> {
        self.labels
            .iter()
            .map(|(label_id, label)| {
                let tracking = &label.event.tracking_number;
                let sent_at = shipping
                    .attempts
                    .get(&label.order_id)
                    .into_iter()
                    .flatten()
                    .find(|a| a.accepted && &a.tracking_number == tracking)
                    .map(|a| a.at);
                let tracked = label.event.automatic_tracking;
                let delivered_at = (tracked && sent_at.is_some()).then(|| {
                    if label.early {
                        label.created_at + Duration::days(2)
                    } else {
                        label.ship_date + Duration::days(2)
                    }
                });
                LabelFacts {
                    label_id: label_id.clone(),
                    order_id: label.order_id.clone(),
                    created_at: label.created_at,
                    ship_date: label.ship_date,
                    tracked,
                    delivered_at,
                    sent_at,
                }
            })
            .collect()
    }

    /// The figures of every desk (one per store), from the host's outcomes and
    /// Amazon's record.
    pub fn report(
        desks: &[&ShippingDesk],
        shipping: &Shipping,
        cancelled: impl Fn(&str) -> bool,
    ) -> NotificationReport {
        let mut report = NotificationReport {
            labels: desks.iter().map(|d| d.labels.len()).sum(),
            label_calls: desks.iter().map(|d| d.label_calls).sum(),
            delivery_calls: desks.iter().map(|d| d.delivery_calls).sum(),
            crashes: desks.iter().map(|d| d.crashes).sum(),
            ..NotificationReport::default()
        };
        let mut lags = Vec::new();
        for label in desks.iter().flat_map(|desk| desk.labels.values()) {
            let tracking = &label.event.tracking_number;
            let attempts: Vec<_> = shipping
                .attempts
                .get(&label.order_id)
                .into_iter()
                .flatten()
                .filter(|a| &a.tracking_number == tracking)
                .collect();
            let accepted = attempts.iter().find(|a| a.accepted);
            // Sent again after Amazon had it: a duplicate. (A retry of an update
            // Amazon refused is not one.)
            let twice = attempts.iter().skip_while(|a| !a.accepted).skip(1).count() > 0;
            let wrong = twice
                || (accepted.is_none() && !cancelled(&label.order_id))
                || label.outcome.is_none();
            if wrong && report.problems.len() < 5 {
                report.problems.push(format!(
                    "{} ({}): host has {:?}; Amazon got {:?}",
                    label.event.label_id,
                    label.order_id,
                    label.outcome,
                    attempts
                        .iter()
                        .map(|a| (
                            a.via.as_str(),
                            a.refused_because.as_deref().unwrap_or("accepted"),
                            a.at.to_rfc3339()
                        ))
                        .collect::<Vec<_>>()
                ));
            }
            if twice {
                report.sent_twice += 1;
            }
            match accepted {
                Some(attempt) => {
                    if !twice {
                        report.confirmed_once += 1;
                    }
                    if attempt.via != "confirmShipment" {
                        report.via_feed += 1;
                    }
                    lags.push((attempt.at - label.created_at).num_milliseconds() as f64 / 1000.0);
                }
                None if !cancelled(&label.order_id) => report.lost += 1,
                None => {}
            }
            match &label.outcome {
                None => report.unresolved += 1,
                Some(wit::NotificationResult::NotSent(_)) => {
                    report.rejected += 1;
                    report.host_mismatches += usize::from(accepted.is_some());
                }
                Some(_) => report.host_mismatches += usize::from(accepted.is_none()),
            }
        }
        report.lag_p50_seconds = percentile(&mut lags, 0.5);
        report.lag_p99_seconds = percentile(&mut lags, 0.99);
        report.lag_max_seconds = lags.last().copied().unwrap_or(0.0);
        report
    }
}
