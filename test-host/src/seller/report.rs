//! What a simulated run found, as the report prints it: readable, or as JSON in
//! the WIT's names (kebab-case) with RFC 3339 dates.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::amazon::sim::OperationCount;

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
    /// Component instances the host ran against the one simulated seller: one, or
    /// one per marketplace (`--per-marketplace-instances`).
    pub instances: usize,
    /// Orders of the host's stores Amazon holds at the end (what the host should
    /// hold).
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
    /// Network faults that happened (answers cut mid-body, one stalled), when
    /// the component's requests crossed a network.
    pub network_faults: usize,
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
    /// ORDER_CHANGE notifications, when the seller took them (`--order-events`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_events: Option<OrderEventsReport>,
    /// The orders the host ends with, as the WIT names them, when the world came
    /// from `--amazon-orders` (a generated world is too large to print).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<Vec<serde_json::Value>>,
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
    /// `send-queued-notifications` calls.
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

/// What the order-events part of a run did: Amazon's side, the host's queue,
/// and the component's outcomes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OrderEventsReport {
    /// Notifications Amazon published (one per change of an order).
    pub published: usize,
    /// Of those, never delivered (lost, or published during an outage).
    pub lost_by_amazon: usize,
    /// Second copies the queue delivered.
    pub duplicated_by_queue: usize,
    /// Messages the host received from its queue (redeliveries included).
    pub received: usize,
    /// `take-notifications` calls, and those that failed.
    pub take_calls: usize,
    /// See `take-calls`.
    pub take_errors: usize,
    /// Outcomes by the WIT's names.
    pub outcomes: BTreeMap<String, usize>,
    /// getOrder calls Amazon answered (fetches and retries together).
    pub get_order_calls: u64,
    /// Seconds from a notification's arrival at the host until the batch with
    /// its version was stored: median.
    pub lag_from_arrival_p50_seconds: f64,
    /// 99th percentile.
    pub lag_from_arrival_p99_seconds: f64,
    /// Seconds from Amazon's change until the host stored it, for the changes
    /// whose notification the component took and fetched (the host's own
    /// shipments aside): median.
    pub lag_from_change_p50_seconds: f64,
    /// 99th percentile.
    pub lag_from_change_p99_seconds: f64,
}

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

/// The `share` percentile of `values` (0 when empty).
pub fn percentile(values: &mut [f64], share: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get(((values.len() as f64 * share).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stores = match self.instances {
            1 => "this store".to_owned(),
            n => format!("{n} stores, one instance each"),
        };
        writeln!(
            f,
            "Simulated Amazon, seed {}: {} orders of {stores}, {} changes during the run",
            self.seed, self.amazon_orders, self.changes
        )?;
        writeln!(
            f,
            "  imported      {} (missed {}, duplicated {}, stale {})",
            self.imported, self.missed, self.duplicated, self.final_state_mismatches
        )?;
        writeln!(
            f,
            "  other stores' {} in the world, {} imported",
            self.foreign_orders, self.foreign_imported
        )?;
        for (reason, count) in &self.skipped {
            writeln!(f, "  skipped       {count} × {reason}")?;
        }
        writeln!(
            f,
            "  import calls  {} ({} with nothing new, {} errors)",
            self.import_calls, self.empty_calls, self.errors
        )?;
        for (operation, count) in &self.calls {
            writeln!(
                f,
                "  {operation:<28} {} calls, {} × 429",
                count.calls, count.throttled
            )?;
        }
        let ratio = self
            .floor_ratio
            .map_or("-".to_owned(), |r| format!("{r:.4}"));
        writeln!(
            f,
            "  virtual time  {:.0} s to read the backlog of {} orders; floor {:.0} s; ratio {ratio}",
            self.backlog_seconds, self.backlog, self.floor_seconds
        )?;
        writeln!(
            f,
            "                {:.0} s until the last change arrived (waited {:.0} s for next-call-after)",
            self.virtual_seconds, self.waited_seconds
        )?;
        if let Some(n) = &self.notifications {
            writeln!(
                f,
                "  labels        {} in {} on-label-created and {} send-queued-notifications calls",
                n.labels, n.label_calls, n.delivery_calls
            )?;
            writeln!(
                f,
                "                {} confirmed once ({} by feed), {} rejected, lost {}, sent twice {}",
                n.confirmed_once, n.via_feed, n.rejected, n.lost, n.sent_twice
            )?;
            writeln!(
                f,
                "                label to Amazon: median {:.1} s, p99 {:.1} s, worst {:.1} s",
                n.lag_p50_seconds, n.lag_p99_seconds, n.lag_max_seconds
            )?;
        }
        if let Some(e) = &self.order_events {
            writeln!(
                f,
                "  order events  {} published, {} lost by Amazon, {} duplicated; {} received in {} calls ({} failed)",
                e.published,
                e.lost_by_amazon,
                e.duplicated_by_queue,
                e.received,
                e.take_calls,
                e.take_errors
            )?;
            let outcomes: Vec<String> =
                e.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(
                f,
                "                {}; {} getOrder calls",
                outcomes.join(", "),
                e.get_order_calls
            )?;
            writeln!(
                f,
                "                to the host: from arrival median {:.1} s, p99 {:.1} s; from Amazon's change median {:.1} s, p99 {:.1} s",
                e.lag_from_arrival_p50_seconds,
                e.lag_from_arrival_p99_seconds,
                e.lag_from_change_p50_seconds,
                e.lag_from_change_p99_seconds
            )?;
        }
        if let Some(r) = &self.redaction {
            writeln!(
                f,
                "  redaction     {} days, {} redact calls, {} deliveries reported: {} directives due, {} on time",
                r.days, r.redact_calls, r.deliveries, r.expected, r.on_time
            )?;
            writeln!(
                f,
                "                missed {}, late {}, early {}, wrong due time {}, never applied {}",
                r.missed, r.late, r.early, r.wrong_due, r.unapplied
            )?;
        }
        writeln!(
            f,
            "  storage       {} buyer values or secrets in it",
            self.pii_in_storage
        )?;
        let problems = self.problems();
        if problems.is_empty() {
            writeln!(f, "The host ends with Amazon's truth.")?;
        } else {
            writeln!(f, "FAILED:")?;
            for problem in problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        Ok(())
    }
}
