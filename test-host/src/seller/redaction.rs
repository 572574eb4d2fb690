//! The rest of a simulated month: after the import and the labels, the host calls
//! `redact` every hour, applies and acknowledges what it gets, and reports the
//! carrier's deliveries with `on-delivered`. Every directive is checked against
//! the schedule computed here from the host's own facts (when it first received
//! each order, each label's dates, each delivery), to the second.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::shipper::LabelFacts;
use super::{Upstream, time};
use crate::runtime::bindings as wit;
use crate::runtime::{Plugin, VirtualClock};
use crate::scenario::datetime;

/// The host calls `redact` this often.
pub const REDACT_EVERY: Duration = Duration::hours(1);
const UNSHIPPED: Duration = Duration::days(14);
const AFTER_SHIP_DATE: Duration = Duration::days(30);
const AFTER_DELIVERY: Duration = Duration::days(30);
const AFTER_LABEL: Duration = Duration::days(44);
const UNTRACKED: Duration = Duration::days(30);

/// What the redaction part of a run found.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RedactionReport {
    /// Days simulated.
    pub days: u32,
    /// `redact` calls.
    pub redact_calls: usize,
    /// Host crashes after a `redact` call, before it applied the directives.
    pub crashes: usize,
    /// Deliveries reported with `on-delivered`.
    pub deliveries: usize,
    /// Directives the seed's schedule calls for (orders and labels).
    pub expected: usize,
    /// First returned by the first `redact` call at or after their due time.
    pub on_time: usize,
    /// Returned later than that.
    pub late: usize,
    /// Returned before they were due.
    pub early: usize,
    /// Never returned.
    pub missed: usize,
    /// Whose `due-at` is not the schedule's.
    pub wrong_due: usize,
    /// Returned but never applied and acknowledged by the end.
    pub unapplied: usize,
    /// Side output of its calls that held a buyer value or a secret.
    pub secrets_in_outputs: usize,
    /// Buyer values the simulator generated that the component's storage holds at
    /// the end, and secrets (must both be 0).
    pub pii_in_storage: usize,
    /// The first few differences, ids and dates only.
    pub problems: Vec<String>,
}

/// When an order's 14 days can have started: from the first moment the component
/// could read it (Amazon had it and the import had begun) to the end of the call
/// that first handed it to the host.
pub type FirstSeen = BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)>;

/// One expected directive: due in `[from, to]`.
struct Expected {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

fn tracked_due(label: &LabelFacts) -> DateTime<Utc> {
    let mut due = (label.ship_date + AFTER_SHIP_DATE).min(label.created_at + AFTER_LABEL);
    if let Some(delivered) = label.delivered_at {
        due = due.min(delivered + AFTER_DELIVERY);
    }
    due
}

fn label_due(label: &LabelFacts) -> DateTime<Utc> {
    if label.tracked {
        tracked_due(label)
    } else {
        label.created_at + UNTRACKED
    }
}

/// The seed's schedule for what the host received.
fn expected(
    first_seen: &FirstSeen,
    merchant: &BTreeSet<String>,
    labels: &[LabelFacts],
) -> BTreeMap<String, Expected> {
    let mut expected = BTreeMap::new();
    for order_id in merchant {
        let Some((start, end)) = first_seen.get(order_id) else {
            continue;
        };
        let (mut from, mut to) = (*start + UNSHIPPED, *end + UNSHIPPED);
        // Shipped (Amazon has the tracking) before the 14 days ran out: the
        // shipment's clock replaces the import's.
        if let Some(label) = labels
            .iter()
            .find(|l| &l.order_id == order_id && l.sent_at.is_some_and(|at| at < from))
        {
            let due = label_due(label);
            (from, to) = (due, due);
        }
        for kind in ["order", "customer"] {
            expected.insert(format!("{order_id}/{kind}"), Expected { from, to });
        }
    }
    for label in labels {
        let due = label_due(label);
        expected.insert(
            format!("{}/label/{}", label.order_id, label.label_id),
            Expected { from: due, to: due },
        );
    }
    expected
}

/// Runs the host from the clock's time to `end`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    plugin: Plugin,
    upstream: &Arc<Mutex<Upstream>>,
    clock: &VirtualClock,
    end: DateTime<Utc>,
    days: u32,
    first_seen: &FirstSeen,
    merchant: &BTreeSet<String>,
    labels: &[LabelFacts],
    crash_after: &BTreeSet<usize>,
) -> Result<(RedactionReport, Plugin)> {
    let mut plugin = plugin;
    let mut report = RedactionReport {
        days,
        ..RedactionReport::default()
    };
    let mut deliveries: Vec<&LabelFacts> =
        labels.iter().filter(|l| l.delivered_at.is_some()).collect();
    deliveries.sort_by_key(|l| l.delivered_at);
    let mut delivered = 0;
    // Directive id -> (first returned at, due-at it said).
    let mut returned: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    let mut applied: BTreeSet<String> = BTreeSet::new();
    let mut calls_at: Vec<DateTime<Utc>> = Vec::new();
    let mut at = clock.now();
    while at <= end {
        clock.set(at);
        // The carrier's deliveries up to now.
        let due: Vec<wit::DeliveryEvent> = deliveries[delivered..]
            .iter()
            .take_while(|l| l.delivered_at.is_some_and(|d| d <= at))
            .map(|l| wit::DeliveryEvent {
                label_id: l.label_id.clone(),
                order_id: l.order_id.clone(),
                delivered_at: datetime(l.delivered_at.unwrap_or(at)),
            })
            .collect();
        if !due.is_empty()
            && let (result, record) = plugin.on_delivered(&due)?
            && {
                report.secrets_in_outputs += super::leaks(&result, &record);
                result.is_ok()
            }
        {
            delivered += due.len();
            report.deliveries += due.len();
        }
        report.redact_calls += 1;
        calls_at.push(at);
        let (result, record) = plugin.redact()?;
        report.secrets_in_outputs += super::leaks(&result, &record);
        if let Ok(directives) = &result {
            for directive in directives {
                returned
                    .entry(directive.id.clone())
                    .or_insert((at, time(&directive.due_at)));
            }
        }
        if crash_after.contains(&report.redact_calls) {
            // The host dies before applying anything: the directives are gone
            // with it, and the component restarts on the storage it left.
            report.crashes += 1;
            let storage = plugin.into_storage();
            plugin = Plugin::new(upstream.clone(), storage, clock.clone())?;
        } else if let Ok(directives) = result {
            // Applied to the host's records, then acknowledged. An acknowledgement
            // that fails only means the directives come again, to be applied again.
            let ids: Vec<String> = directives.into_iter().map(|d| d.id).collect();
            applied.extend(ids.iter().cloned());
            if !ids.is_empty() {
                let (result, record) = plugin.acknowledge_redactions(&ids)?;
                report.secrets_in_outputs += super::leaks(&result, &record);
            }
        }
        at += REDACT_EVERY;
    }

    let expected = expected(first_seen, merchant, labels);
    report.expected = expected.len();
    let note = |report: &mut RedactionReport, text: String| {
        if report.problems.len() < 10 {
            report.problems.push(text);
        }
    };
    for (id, want) in &expected {
        if want.from > end {
            report.expected -= 1;
            continue;
        }
        let Some((first_at, due_at)) = returned.get(id) else {
            report.missed += 1;
            note(
                &mut report,
                format!("{id} due {} never returned", want.from),
            );
            continue;
        };
        if *due_at < want.from || *due_at > want.to {
            report.wrong_due += 1;
            note(
                &mut report,
                format!("{id} due {due_at}, schedule {}..{}", want.from, want.to),
            );
        }
        // The first call at or after the due time.
        let first_call = calls_at.iter().find(|c| **c >= *due_at).copied();
        match first_call {
            Some(call) if *first_at == call => report.on_time += 1,
            _ if first_at < due_at => {
                report.early += 1;
                note(
                    &mut report,
                    format!("{id} returned {first_at}, due {due_at}"),
                );
            }
            _ => {
                report.late += 1;
                note(
                    &mut report,
                    format!("{id} returned {first_at}, due {due_at}"),
                );
            }
        }
        if !applied.contains(id) {
            report.unapplied += 1;
            note(
                &mut report,
                format!("{id} returned {first_at}, never applied"),
            );
        }
    }
    Ok((report, plugin))
}
