//! The simulated host's order-events desk: it drains the application's SQS queue
//! as a real host's worker would (long polling, up to ten messages a receive),
//! hands the bodies to `take-notifications`, deletes every message that got an
//! outcome, and calls `import-orders` as soon as what was taken can be fetched.
//! A failed call leaves the messages in the queue: visible again 30 s later.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::import::ImportDesk;
use super::{Did, SimulatedAmazon, leaks, lock, time};
use crate::embed::ComponentInstance;
use crate::embed::runtime::bindings as wit;

/// The simulated host's queue.
pub const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:simulated-order-events";
/// Receives per `take-notifications` call at most: a hundred messages.
const RECEIVES_PER_CALL: usize = 10;

/// The desk and its figures.
#[derive(Default)]
pub struct EventDesk {
    /// `take-notifications` calls.
    pub calls: usize,
    /// Calls that returned an error (their messages stayed in the queue).
    pub errors: usize,
    /// Outcomes by the WIT's names.
    pub outcomes: BTreeMap<String, usize>,
    /// Calls (1-based) after which the host crashes before deleting the messages.
    pub crash_after_calls: BTreeSet<usize>,
    /// Side output that held a buyer value or a secret.
    pub leaked: usize,
}

impl EventDesk {
    /// Takes what the queue has visible now. `Did::Nothing` when it has nothing.
    pub fn step(
        &mut self,
        instance: &mut ComponentInstance,
        amazon: &Arc<Mutex<SimulatedAmazon>>,
        settings: &wit::ConnectionSettings,
        import: &mut ImportDesk,
        labelled: &dyn Fn(&str) -> bool,
    ) -> Result<Did> {
        let now = instance.clock().now();
        let messages = {
            let mut amazon = lock(amazon);
            let simulator = amazon.simulator_mut();
            simulator.advance();
            let Some(queue) = simulator.order_events_mut() else {
                return Ok(Did::Nothing);
            };
            let mut messages = Vec::new();
            for _ in 0..RECEIVES_PER_CALL {
                let received = queue.receive(now);
                if received.is_empty() {
                    break;
                }
                messages.extend(received);
            }
            messages
        };
        if messages.is_empty() {
            return Ok(Did::Nothing);
        }
        self.calls += 1;
        let (result, record) = instance.take_notifications(settings, &messages)?;
        self.leaked += leaks(&result, &record);
        let taken = match result {
            Ok(taken) => taken,
            Err(_) => {
                self.errors += 1;
                return_unhandled(amazon, now, messages);
                return Ok(Did::Something);
            }
        };
        if self.crash_after_calls.contains(&self.calls) {
            // The host dies before deleting: SQS hands the messages out again.
            return_unhandled(amazon, now, messages);
            return Ok(Did::Crashed);
        }
        let arrived = instance.clock().now();
        for (body, outcome) in messages.iter().zip(&taken.outcomes) {
            *self
                .outcomes
                .entry(outcome_name(outcome).into())
                .or_default() += 1;
            if matches!(outcome, wit::MessageOutcome::Taken) {
                import.note_arrival(body, arrived, labelled);
            }
        }
        if let Some(after) = &taken.import_after {
            import.next_call_at = import.next_call_at.min(time(after));
        }
        Ok(Did::Something)
    }

    /// When the queue next has a message for the desk: the next one visible, or
    /// the world's next change (whose notification may be seconds behind it).
    pub fn due_at(&self, amazon: &Arc<Mutex<SimulatedAmazon>>) -> Option<DateTime<Utc>> {
        let amazon = lock(amazon);
        let simulator = amazon.simulator();
        let queue = simulator.order_events()?;
        let change = simulator.world().next_change_at();
        match (queue.next_visible(), change) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn return_unhandled(amazon: &Arc<Mutex<SimulatedAmazon>>, now: DateTime<Utc>, bodies: Vec<String>) {
    if let Some(queue) = lock(amazon).simulator_mut().order_events_mut() {
        queue.return_unhandled(now, bodies);
    }
}

/// The WIT's name of an outcome.
pub fn outcome_name(outcome: &wit::MessageOutcome) -> &'static str {
    match outcome {
        wit::MessageOutcome::Taken => "taken",
        wit::MessageOutcome::Duplicate => "duplicate",
        wit::MessageOutcome::NotForThisConnection => "not-for-this-connection",
        wit::MessageOutcome::Malformed(_) => "malformed",
    }
}
