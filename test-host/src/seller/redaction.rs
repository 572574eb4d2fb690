//! The simulated host's redaction desk: after the import and the labels, the host
//! calls `redact` every hour, applies and acknowledges what it gets, and reports the
//! carrier's deliveries with `on-delivered`. Every directive is checked against the
//! schedule computed here from the host's own facts (when it first received each
//! order, each label's dates, each delivery), to the second.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::Did;
pub use super::report::RedactionReport;
use super::shipping::LabelFacts;
use super::{datetime, leaks, time};
use crate::embed::ComponentInstance;
use crate::embed::runtime::bindings as wit;

/// The host calls `redact` this often.
pub const REDACT_EVERY: Duration = Duration::hours(1);
const UNSHIPPED: Duration = Duration::days(14);
const AFTER_SHIP_DATE: Duration = Duration::days(30);
const AFTER_DELIVERY: Duration = Duration::days(30);
const AFTER_LABEL: Duration = Duration::days(44);
const UNTRACKED: Duration = Duration::days(30);

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

/// The redaction desk: the deliveries it will report, and what `redact` returned.
pub struct RedactionDesk {
    /// Tracked packages Amazon had, by delivery time.
    deliveries: Vec<LabelFacts>,
    /// How many of them were reported.
    delivered: usize,
    /// Directive id -> (first returned at, due-at it said).
    returned: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)>,
    /// Directives the host applied and acknowledged.
    applied: BTreeSet<String>,
    /// When each `redact` call was made.
    calls_at: Vec<DateTime<Utc>>,
    /// `redact` calls (1-based) after which the host crashes before applying.
    crash_after: BTreeSet<usize>,
    report: RedactionReport,
}

impl RedactionDesk {
    /// A desk for `days` of a run whose labels are `labels`.
    pub fn new(days: u32, labels: &[LabelFacts], crash_after: BTreeSet<usize>) -> Self {
        let mut deliveries: Vec<LabelFacts> = labels
            .iter()
            .filter(|l| l.delivered_at.is_some())
            .cloned()
            .collect();
        deliveries.sort_by_key(|l| l.delivered_at);
        Self {
            deliveries,
            delivered: 0,
            returned: BTreeMap::new(),
            applied: BTreeSet::new(),
            calls_at: Vec::new(),
            crash_after,
            report: RedactionReport {
                days,
                ..RedactionReport::default()
            },
        }
    }

    /// One visit at `at`: the carrier's deliveries up to now, then `redact`, whose
    /// directives the host applies and acknowledges, or loses in a crash.
    pub fn step(&mut self, instance: &mut ComponentInstance, at: DateTime<Utc>) -> Result<Did> {
        let due: Vec<wit::DeliveryEvent> = self.deliveries[self.delivered..]
            .iter()
            .take_while(|l| l.delivered_at.is_some_and(|d| d <= at))
            .map(|l| wit::DeliveryEvent {
                label_id: l.label_id.clone(),
                order_id: l.order_id.clone(),
                delivered_at: datetime(l.delivered_at.unwrap_or(at)),
            })
            .collect();
        if !due.is_empty()
            && let (result, record) = instance.on_delivered(&due)?
            && {
                self.report.secrets_in_outputs += leaks(&result, &record);
                result.is_ok()
            }
        {
            self.delivered += due.len();
            self.report.deliveries += due.len();
        }
        self.report.redact_calls += 1;
        self.calls_at.push(at);
        let (result, record) = instance.redact()?;
        self.report.secrets_in_outputs += leaks(&result, &record);
        if let Ok(directives) = &result {
            for directive in directives {
                self.returned
                    .entry(directive.id.clone())
                    .or_insert((at, time(&directive.due_at)));
            }
        }
        if self.crash_after.contains(&self.report.redact_calls) {
            // The host dies before applying anything: the directives are gone
            // with it.
            self.report.crashes += 1;
            return Ok(Did::Crashed);
        }
        if let Ok(directives) = result {
            // Applied to the host's records, then acknowledged. An acknowledgement
            // that fails only means the directives come again, to be applied again.
            let ids: Vec<String> = directives.into_iter().map(|d| d.id).collect();
            self.applied.extend(ids.iter().cloned());
            if !ids.is_empty() {
                let (result, record) = instance.acknowledge_redactions(&ids)?;
                self.report.secrets_in_outputs += leaks(&result, &record);
            }
        }
        Ok(Did::Something)
    }

    /// Every directive the seed's schedule calls for by `end`, checked against what
    /// `redact` returned and when.
    pub fn report(
        self,
        end: DateTime<Utc>,
        first_seen: &FirstSeen,
        merchant: &BTreeSet<String>,
        labels: &[LabelFacts],
    ) -> RedactionReport {
        let Self {
            returned,
            applied,
            calls_at,
            mut report,
            ..
        } = self;
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
        report
    }
}
