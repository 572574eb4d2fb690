//! `test-host faults`: a seeded campaign of simulated weeks (import, labels,
//! redaction) with faults at random points: 429 storms, 500s and 503s, timeouts,
//! lost answers, truncated bodies, revoked tokens, storage writes that fail,
//! host crashes between calls, and, in a fifth of the runs, a real network
//! (HTTPS on loopback) that cuts answers mid-body and stalls one. Each run is checked against the simulator's truth;
//! a failing run prints its seed, and `--runs 1 --seed <that seed>` replays it.

use std::collections::BTreeSet;

use anyhow::Result;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::amazon::sim::marketplaces::{MARKETPLACES, Region};
use crate::drive::simulate::{self, Options};

/// Days each run goes on for, redaction included.
const DAYS: u32 = 20;

/// A run that did not end with Amazon's truth.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailedRun {
    /// Replays it: `test-host faults --runs 1 --seed <seed>`.
    pub seed: u64,
    /// What went wrong.
    pub problems: Vec<String>,
}

/// The campaign's totals.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CampaignReport {
    /// Runs made.
    pub runs: usize,
    /// The campaign's seed (each run's seed derives from it).
    pub seed: u64,
    /// Runs that ended with Amazon's truth.
    pub passed: usize,
    /// Orders of the store the host never received.
    pub orders_lost: usize,
    /// Order versions the host received twice.
    pub orders_duplicated: usize,
    /// Orders whose stored version is not Amazon's latest.
    pub orders_stale: usize,
    /// Shipment updates Amazon never got.
    pub notifications_lost: usize,
    /// Shipment updates that reached Amazon twice.
    pub notifications_sent_twice: usize,
    /// Redaction directives never returned, or never applied.
    pub directives_lost: usize,
    /// Directives returned after or before their due time.
    pub directives_off_time: usize,
    /// Buyer values or credentials left in the component's storage, or in its
    /// logs, stderr and errors.
    pub secrets_in_storage: usize,
    /// Calls that trapped the component.
    pub traps: usize,
    /// Calls stopped by the per-call deadline.
    pub hangs: usize,
    /// Runs that could not be carried out for another reason.
    pub errors: usize,
    /// Runs whose connection had several order sources (2 to 8 marketplaces).
    pub several_marketplace_runs: usize,
    /// Runs whose component reached the simulator over HTTPS on loopback, and
    /// the network faults placed in them.
    pub network_runs: usize,
    /// See `network-runs`.
    pub network_faults: usize,
    /// Runs that took ORDER_CHANGE notifications, and the messages they took
    /// (every outcome), garbled ones among them.
    pub order_event_runs: usize,
    /// See `order-event-runs`.
    pub notification_messages: usize,
    /// See `order-event-runs`.
    pub malformed_messages: usize,
    /// Orders, labels and directives the runs handled.
    pub orders: usize,
    /// See `orders`.
    pub labels: usize,
    /// See `orders`.
    pub directives: usize,
    /// Faults injected into requests.
    pub faults_injected: usize,
    /// Storage writes made to fail.
    pub failed_writes: usize,
    /// Host crashes.
    pub crashes: usize,
    /// The failing runs, with their seeds.
    pub failed_runs: Vec<FailedRun>,
}

impl CampaignReport {
    /// True when every run ended with Amazon's truth.
    pub fn clean(&self) -> bool {
        self.passed == self.runs
    }
}

/// Random points out of `1..=calls`, each with probability `share`.
fn points(rng: &mut Xoshiro256PlusPlus, calls: usize, share: f64) -> BTreeSet<usize> {
    (1..=calls).filter(|_| rng.random_bool(share)).collect()
}

/// The order sources of a run's connection: 1 to 8 marketplaces. One is the
/// default store; several are a Pan-European seller's, drawn from Europe's.
fn marketplaces(rng: &mut Xoshiro256PlusPlus) -> Option<Vec<String>> {
    let count = rng.random_range(1..=8);
    let mut europe: Vec<&str> = MARKETPLACES
        .iter()
        .filter(|m| m.region == Region::Europe)
        .map(|m| m.id)
        .collect();
    (count > 1).then(|| {
        (0..count)
            .map(|_| europe.remove(rng.random_range(0..europe.len())).to_owned())
            .collect()
    })
}

/// The run `seed` stands for.
pub fn options_for(seed: u64) -> Options {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let options = Options {
        orders: rng.random_range(40..=400),
        changes: rng.random_range(0.0..0.5),
        seed,
        distinct_asins: 4,
        ship: Some(rng.random_range(60.0..600.0)),
        batch: [1, 10, 50, 400][rng.random_range(0..4)],
        days: Some(DAYS),
        random_faults: Some((rng.random_range(0.0..0.08), seed)),
        write_faults: rng
            .random_bool(0.5)
            .then(|| (rng.random_range(0.0..0.02), seed ^ 0x5eed)),
        crash_after_calls: points(&mut rng, 300, 0.03),
        crash_after_notification_calls: points(&mut rng, 300, 0.03),
        crash_after_redact_calls: points(&mut rng, 24 * DAYS as usize, 0.02),
        revoke_tokens_before_calls: points(&mut rng, 300, 0.01),
        ..Options::default()
    };
    // Drawn last, so a run of one marketplace is the run its seed always was.
    let options = match marketplaces(&mut rng) {
        Some(marketplaces) => Options {
            marketplaces,
            ..options
        },
        None => options,
    };
    // Half the runs take ORDER_CHANGE notifications (late, doubled, lost, some
    // garbled, in some runs an outage), with host crashes after taking them.
    let options = if rng.random_bool(0.5) {
        Options {
            order_events: true,
            event_outage: rng
                .random_bool(0.3)
                .then(|| chrono::Duration::minutes(rng.random_range(0..120))),
            crash_after_event_calls: points(&mut rng, 300, 0.03),
            garbled_messages: 0.01,
            ..options
        }
    } else {
        options
    };
    // A fifth of the runs cross a real network (HTTPS on loopback): answers cut
    // mid-body, and one that stalls past the host's timeout.
    if rng.random_bool(0.2) {
        Options {
            over_network: Some(simulate::NetworkSpec {
                cut_share: rng.random_range(0.0..0.03),
                stall_at: Some(rng.random_range(1..200)),
                seed: seed ^ 0x0e7,
            }),
            ..options
        }
    } else {
        options
    }
}

/// The seed of run `index` of a campaign seeded `seed`.
fn run_seed(seed: u64, index: usize) -> u64 {
    if index == 0 {
        // The first run of a campaign is the campaign's seed itself, so a failing
        // run's seed replays as `--runs 1 --seed <seed>`.
        return seed;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(index as u64));
    rng.random()
}

/// Runs the campaign; `on_run` is told after each run (for a progress bar).
/// [`run`] with a progress bar on stderr when `progress` is set and there is more
/// than one run.
pub fn run_with_progress(runs: usize, seed: u64, progress: bool) -> Result<CampaignReport> {
    let bar = (progress && runs > 1).then(|| {
        let bar = indicatif::ProgressBar::new(runs as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} runs, {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let report = run(runs, seed, |done| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report
}

pub fn run(runs: usize, seed: u64, mut on_run: impl FnMut(usize)) -> Result<CampaignReport> {
    let mut report = CampaignReport {
        runs,
        seed,
        ..CampaignReport::default()
    };
    for index in 0..runs {
        let run_seed = run_seed(seed, index);
        let options = options_for(run_seed);
        if options.marketplaces.len() > 1 {
            report.several_marketplace_runs += 1;
        }
        report.order_event_runs += usize::from(options.order_events);
        report.network_runs += usize::from(options.over_network.is_some());
        let problems = match simulate::run(&options) {
            Ok(run) => {
                let r = &run.report;
                report.orders_lost += r.missed;
                report.orders_duplicated += r.duplicated;
                report.orders_stale += r.final_state_mismatches;
                report.orders += r.imported;
                report.faults_injected += r.faults;
                report.network_faults += r.network_faults;
                report.failed_writes += r.failed_writes;
                report.crashes += r.crashes;
                report.secrets_in_storage += r.pii_in_storage + r.secrets_in_outputs;
                if let Some(e) = &r.order_events {
                    report.notification_messages += e.outcomes.values().sum::<usize>();
                    report.malformed_messages += e.outcomes.get("malformed").copied().unwrap_or(0);
                }
                if let Some(n) = &r.notifications {
                    report.notifications_lost += n.lost;
                    report.notifications_sent_twice += n.sent_twice;
                    report.labels += n.labels;
                    report.crashes += n.crashes;
                }
                if let Some(d) = &r.redaction {
                    report.directives_lost += d.missed + d.unapplied;
                    report.directives_off_time += d.late + d.early + d.wrong_due;
                    report.directives += d.expected;
                    report.crashes += d.crashes;
                }
                let mut problems = r.problems();
                if !problems.is_empty()
                    && let Some(d) = &r.redaction
                {
                    problems.extend(d.problems.iter().take(3).cloned());
                }
                if !problems.is_empty()
                    && let Some(n) = &r.notifications
                {
                    problems.extend(n.problems.iter().take(3).cloned());
                }
                problems
            }
            Err(error) => {
                let text = format!("{error:#}");
                if text.contains("interrupt") || text.contains("deadline") {
                    report.hangs += 1;
                } else if text.contains("trapped") {
                    report.traps += 1;
                } else {
                    report.errors += 1;
                }
                vec![text]
            }
        };
        if problems.is_empty() {
            report.passed += 1;
        } else {
            report.failed_runs.push(FailedRun {
                seed: run_seed,
                problems,
            });
        }
        on_run(index + 1);
    }
    Ok(report)
}

impl std::fmt::Display for CampaignReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Fault campaign, seed {}: {} runs, {} ended with Amazon's truth",
            self.seed, self.runs, self.passed
        )?;
        writeln!(
            f,
            "  handled       {} orders, {} labels, {} redaction directives; {} runs of 2 to 8 marketplaces",
            self.orders, self.labels, self.directives, self.several_marketplace_runs
        )?;
        writeln!(
            f,
            "  injected      {} request faults, {} failed storage writes, {} host crashes",
            self.faults_injected, self.failed_writes, self.crashes
        )?;
        writeln!(
            f,
            "  order events  {} runs took {} messages, {} of them garbled",
            self.order_event_runs, self.notification_messages, self.malformed_messages
        )?;
        writeln!(
            f,
            "  network       {} runs over HTTPS on loopback, {} network faults (cut mid-body, stalled)",
            self.network_runs, self.network_faults
        )?;
        writeln!(
            f,
            "  orders        lost {}, duplicated {}, stale {}",
            self.orders_lost, self.orders_duplicated, self.orders_stale
        )?;
        writeln!(
            f,
            "  updates       lost {}, sent twice {}",
            self.notifications_lost, self.notifications_sent_twice
        )?;
        writeln!(
            f,
            "  directives    lost {}, off time {}",
            self.directives_lost, self.directives_off_time
        )?;
        writeln!(
            f,
            "  component     traps {}, hangs {}, secrets in storage {}; other errors {}",
            self.traps, self.hangs, self.secrets_in_storage, self.errors
        )?;
        for failed in &self.failed_runs {
            writeln!(
                f,
                "FAILED run, replay with --runs 1 --seed {}: {}",
                failed.seed,
                failed.problems.join("; ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_fully_given_by_its_seed_and_the_first_is_the_campaign_s() {
        assert_eq!(run_seed(42, 0), 42);
        assert_ne!(run_seed(42, 1), run_seed(42, 2));
        let (a, b) = (options_for(7), options_for(7));
        assert_eq!(
            (a.orders, a.batch, &a.crash_after_calls, a.random_faults),
            (b.orders, b.batch, &b.crash_after_calls, b.random_faults)
        );
        assert_ne!(
            options_for(7).crash_after_calls,
            options_for(8).crash_after_calls
        );
    }

    #[test]
    fn connections_of_one_to_eight_marketplaces_are_drawn() {
        let sizes: BTreeSet<usize> = (0..200)
            .map(|seed| options_for(seed).marketplaces.len())
            .collect();
        assert_eq!(sizes, (1..=8).collect());
        for seed in 0..200 {
            let sources = options_for(seed).marketplaces;
            let distinct: BTreeSet<&String> = sources.iter().collect();
            assert_eq!(distinct.len(), sources.len(), "each marketplace once");
        }
    }
}
