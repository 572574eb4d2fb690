//! `test-host bench`: the component against Amazon's floor, measured in one run.
//! Pace and calls come from the simulator's virtual clock (stable on a busy
//! machine); the component's size and instantiation time from this machine.
//!
//! Each line has our figure, the reference it is measured against, their ratio,
//! and the goal the ratio must meet.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::kv::SqliteStore;
use crate::runtime::{COMPONENT, Plugin, VirtualClock};
use crate::simulate::{self, Options, Report};

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Line {
    /// What is measured.
    pub name: String,
    /// Our figure.
    pub ours: f64,
    /// What it is compared with.
    pub reference: f64,
    /// `ours / reference`.
    pub ratio: f64,
    /// The ratio the goal allows, and which way.
    pub goal: String,
    /// Whether the goal is met.
    pub met: bool,
    /// The unit of `ours` and `reference`.
    pub unit: String,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BenchReport {
    /// Smaller worlds, for a quick check.
    pub quick: bool,
    /// Every line.
    pub lines: Vec<Line>,
}

impl BenchReport {
    /// True when every goal is met.
    pub fn all_met(&self) -> bool {
        self.lines.iter().all(|l| l.met)
    }
}

fn at_most(name: &str, unit: &str, ours: f64, reference: f64, goal: f64) -> Line {
    let ratio = if reference > 0.0 {
        ours / reference
    } else {
        0.0
    };
    Line {
        name: name.into(),
        ours,
        reference,
        ratio,
        goal: format!("<= {goal}"),
        met: ratio <= goal,
        unit: unit.into(),
    }
}

fn calls(report: &Report, operations: &[&str]) -> f64 {
    operations
        .iter()
        .map(|op| report.calls.get(*op).map_or(0, |c| c.calls))
        .sum::<u64>() as f64
}

fn run(options: Options) -> Result<Report> {
    let report = simulate::run(&options)?.report;
    let problems = report.problems();
    anyhow::ensure!(
        problems.is_empty(),
        "a bench run failed its checks: {problems:?}"
    );
    Ok(report)
}

fn backlog(lines: &mut Vec<Line>, orders: usize) -> Result<()> {
    let report = run(Options {
        orders,
        distinct_asins: 20,
        ..Options::default()
    })?;
    let pages = orders.div_ceil(100) as f64;
    lines.push(at_most(
        &format!("import {orders}: virtual time vs T(N)"),
        "s",
        report.backlog_seconds,
        report.floor_seconds,
        1.02,
    ));
    lines.push(at_most(
        &format!("import {orders}: searchOrders calls vs pages"),
        "calls",
        report.backlog_search_calls as f64,
        pages,
        1.01,
    ));
    lines.push(at_most(
        &format!("import {orders}: 429s"),
        "429s",
        report.throttled as f64,
        1.0,
        0.0,
    ));
    Ok(())
}

fn labels(lines: &mut Vec<Line>, count: usize) -> Result<()> {
    // One batch of `count` labels, once the store is imported.
    let batch = run(Options {
        orders: count * 12 / 10,
        distinct_asins: 20,
        ship: Some(count as f64),
        batch: count,
        ..Options::default()
    })?;
    let shipped = batch.notifications.clone().unwrap_or_default();
    let feed_calls = calls(
        &batch,
        &[
            "createFeedDocument",
            "feed-document",
            "createFeed",
            "getFeed",
            "getFeeds",
            "getFeedDocument",
        ],
    );
    lines.push(at_most(
        &format!("{count} labels in one batch: calls vs 10"),
        "calls",
        feed_calls,
        10.0,
        1.0,
    ));
    // The same labels one at a time, ten a second: the confirmShipment bucket
    // (2 a second after a burst of 10) is the floor for sending them one by one.
    let single = run(Options {
        orders: count * 12 / 10,
        distinct_asins: 20,
        ship: Some(36_000.0),
        batch: 1,
        ..Options::default()
    })?;
    let single_shipped = single.notifications.clone().unwrap_or_default();
    let bucket_floor = (single_shipped.labels as f64 - 10.0).max(0.0) / 2.0;
    lines.push(at_most(
        &format!(
            "{} single labels: worst lag vs the bucket's drain time",
            single_shipped.labels
        ),
        "s",
        single_shipped.lag_max_seconds,
        bucket_floor,
        1.0,
    ));
    lines.push(at_most(
        &format!("{} single labels: 429s", single_shipped.labels),
        "429s",
        single.throttled as f64,
        1.0,
        0.0,
    ));
    lines.push(at_most(
        &format!("{count} labels in one batch: lost or sent twice"),
        "labels",
        (shipped.lost + shipped.sent_twice + single_shipped.lost + single_shipped.sent_twice)
            as f64,
        1.0,
        0.0,
    ));
    Ok(())
}

fn busy_day(lines: &mut Vec<Line>, orders: usize) -> Result<()> {
    let report = run(Options {
        orders,
        changes: 0.05,
        distinct_asins: 50,
        ship: Some(orders as f64 / 4.0),
        batch: 50,
        ..Options::default()
    })?;
    let shipped = report.notifications.clone().unwrap_or_default();
    // Amazon asks `lastUpdatedBefore` two minutes back and refills searchOrders
    // every ~179 s: a change can reach the host no sooner than that, at worst.
    let read_floor =
        120.0 + amazon_marketplace::spapi::UsagePlan::SEARCH_ORDERS.seconds_per_token();
    lines.push(at_most(
        &format!("busy day of {orders}: import lag p99 vs 2 min + one restore period"),
        "s",
        report.import_lag_p99_seconds,
        read_floor,
        1.5,
    ));
    lines.push(at_most(
        &format!("busy day of {orders}: label-to-Amazon lag p99 vs 60 s"),
        "s",
        shipped.lag_p99_seconds,
        60.0,
        1.0,
    ));
    lines.push(at_most(
        &format!("busy day of {orders}: orders missed, updates lost"),
        "orders",
        (report.missed + shipped.lost) as f64,
        1.0,
        0.0,
    ));
    Ok(())
}

fn component(lines: &mut Vec<Line>, instances: usize) -> Result<()> {
    lines.push(at_most(
        "component size vs 600 KB",
        "bytes",
        COMPONENT.len() as f64,
        600.0 * 1024.0,
        1.0,
    ));
    // The first instance pays for compiling the component; the rest are what a
    // host pays per store.
    let clock = VirtualClock::new(simulate::START.parse()?);
    let upstream = std::sync::Arc::new(std::sync::Mutex::new(Nowhere));
    drop(Plugin::new(
        upstream.clone(),
        SqliteStore::in_memory()?,
        clock.clone(),
    )?);
    let started = Instant::now();
    for _ in 0..instances {
        drop(Plugin::new(
            upstream.clone(),
            SqliteStore::in_memory()?,
            clock.clone(),
        )?);
    }
    let each = started.elapsed().as_secs_f64() * 1000.0 / instances as f64;
    lines.push(at_most(
        "instantiation (pre-instantiated component) vs 1 ms",
        "ms",
        each,
        1.0,
        1.0,
    ));
    Ok(())
}

/// An upstream for instances that make no call.
struct Nowhere;

impl crate::upstream::Upstream for Nowhere {
    fn respond(
        &mut self,
        _: &crate::upstream::Request,
    ) -> std::result::Result<crate::upstream::Response, String> {
        Err("no network in the benchmark".into())
    }
}

/// Runs the benchmark; `quick` uses smaller worlds (for a test of its form).
pub fn run_all(quick: bool) -> Result<BenchReport> {
    let mut lines = Vec::new();
    if quick {
        backlog(&mut lines, 3_000)?;
        labels(&mut lines, 300)?;
        busy_day(&mut lines, 1_000)?;
        component(&mut lines, 20)?;
    } else {
        backlog(&mut lines, 10_000)?;
        backlog(&mut lines, 50_000)?;
        labels(&mut lines, 500)?;
        busy_day(&mut lines, 20_000)?;
        component(&mut lines, 200)?;
    }
    Ok(BenchReport { quick, lines })
}
