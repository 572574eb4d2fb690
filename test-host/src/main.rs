//! `test-host`: run the Amazon Marketplace component against recorded Amazon sessions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde_json::Value;

use test_host::kv::SqliteStore;
use test_host::scenario::{Call, Outcome, RunReport, Session, StepReport};
use test_host::simulate;

/// `println!` that ends the program quietly when whoever reads stdout has gone (the
/// output piped into `head`), instead of panicking on the broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout(), $($arg)*) {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// The demo's recording, embedded so `test-host demo` needs no files.
const DEMO: &str = include_str!("../../fixtures/demo.har");

#[derive(Parser)]
#[command(
    version,
    about = "Run the Amazon Marketplace component against recorded Amazon sessions."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect a store, import orders, confirm a shipment and redact buyer data, on a
    /// bundled recording (no credentials, no network).
    Demo {
        /// Keep the component's storage in this SQLite file (default: in memory).
        #[arg(long, value_name = "FILE")]
        storage: Option<PathBuf>,
    },
    /// Run a HAR 1.2 recording that carries a `_scenario` block; fails when a request
    /// has no recording, a recording goes unused, or a step's result differs from its
    /// `expect`.
    Replay {
        /// The recording.
        session: PathBuf,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
        /// Keep the component's storage in this SQLite file (default: in memory).
        #[arg(long, value_name = "FILE")]
        storage: Option<PathBuf>,
    },
    /// Print the size in bytes of the component this binary embeds (what ships to
    /// every host).
    ComponentSize,
    /// The component against Amazon's floor, in one run: pace and calls on the
    /// simulator's virtual clock, size and instantiation on this machine. Each line
    /// prints our figure, the reference, their ratio and the goal. Exits 1 when a
    /// goal is missed.
    Bench {
        /// Smaller worlds: seconds instead of minutes.
        #[arg(long)]
        quick: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A seeded fault campaign: RUNS simulated weeks of a store (import, labels,
    /// redaction) with faults at random points (429 storms, 5xx, timeouts, lost
    /// answers, truncated bodies, revoked tokens, failing storage writes, host
    /// crashes). Exits 1 when any run loses or repeats anything; a failing run's
    /// seed replays it with `--runs 1 --seed SEED`.
    Faults {
        /// How many runs.
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// The campaign's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import from the built-in SP-API simulator (Amazon's rate limits, a virtual
    /// clock, a world of orders that changes while it is read) and check that the
    /// host ends with Amazon's truth. Exits 1 when an order is missed, duplicated or
    /// stale, or another store's order is imported.
    Simulate {
        /// Orders in the store's marketplace at the start (updated in the last 14 days).
        #[arg(long, default_value_t = 2000, conflicts_with = "amazon_orders")]
        orders: usize,
        /// A searchOrders response body (`{"orders":[...]}`) whose orders become the world.
        #[arg(long, value_name = "FILE")]
        amazon_orders: Option<PathBuf>,
        /// Import FBA orders; a fifth of the generated orders are Amazon-fulfilled.
        #[arg(long)]
        fba: bool,
        /// The store's marketplace.
        #[arg(long, default_value = "ATVPDKIKX0DER", value_name = "ID")]
        marketplace: String,
        /// Another marketplace of the seller: its orders (a quarter as many) and
        /// other shops' Multi-Channel orders are mixed into the world.
        #[arg(long, value_name = "ID")]
        other_marketplace: Option<String>,
        /// Seed of the world and its changes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Changes during the run (new orders, shipments, cancellations), as a share of --orders.
        #[arg(long, default_value_t = 0.0)]
        changes: f64,
        /// Create labels for the imported unshipped orders, RATE per hour, and send
        /// their tracking through the component while it imports.
        #[arg(long, value_name = "RATE")]
        ship: Option<f64>,
        /// Labels per on-label-created call (one batch id).
        #[arg(long, value_name = "K", default_value_t = 1, requires = "ship")]
        batch: usize,
        /// Go on until N days after the start: the host calls redact every hour,
        /// reports deliveries, and every directive is checked against the seed's
        /// schedule.
        #[arg(long, value_name = "N")]
        days: Option<u32>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Write every exchange to FILE as HAR 1.2 (credentials redacted).
        #[arg(long, value_name = "FILE")]
        har_out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Demo { storage } => {
            let session = Session::from_json(DEMO)?;
            say!("Amazon Marketplace component demo");
            say!("{}", session.scenario.description);
            say!(
                "Recorded session: fixtures/demo.har. Credentials are placeholders; nothing leaves this machine.\n"
            );
            let report = session.run_with_storage(open_storage(storage.as_deref())?)?;
            print_report(&report);
            Ok(report.passed())
        }
        Command::Replay {
            session,
            json,
            storage,
        } => {
            let report = Session::from_file(&session)?
                .run_with_storage(open_storage(storage.as_deref())?)?;
            if json {
                say!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                say!("{}\n", report.description);
                print_report(&report);
            }
            Ok(report.passed())
        }
        Command::Faults { runs, seed, json } => {
            let bar = (!json && runs > 1).then(|| {
                let bar = indicatif::ProgressBar::new(runs as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} runs, {elapsed}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            });
            let report = test_host::campaign::run(runs, seed, |done| {
                if let Some(bar) = &bar {
                    bar.set_position(done as u64);
                }
            })?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if json {
                say!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_campaign(&report);
            }
            Ok(report.clean())
        }
        Command::Bench { quick, json } => {
            let report = test_host::bench::run_all(quick)?;
            if json {
                say!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let width = report.lines.iter().map(|l| l.name.len()).max().unwrap_or(4);
                say!(
                    "{:<width$} {:>12} {:>12} {:>8}  goal",
                    "line",
                    "ours",
                    "reference",
                    "ratio"
                );
                let figure = |v: f64| match v.abs() {
                    a if a >= 1000.0 => format!("{v:.0}"),
                    a if a >= 10.0 => format!("{v:.1}"),
                    _ => format!("{v:.3}"),
                };
                for line in &report.lines {
                    say!(
                        "{:<width$} {:>12} {:>12} {:>8.3}  {} {}",
                        line.name,
                        figure(line.ours),
                        figure(line.reference),
                        line.ratio,
                        line.goal,
                        if line.met { "met" } else { "MISSED" }
                    );
                }
            }
            Ok(report.all_met())
        }
        Command::ComponentSize => {
            say!("{}", test_host::runtime::COMPONENT.len());
            Ok(true)
        }
        Command::Simulate {
            orders,
            amazon_orders,
            fba,
            marketplace,
            other_marketplace,
            seed,
            changes,
            ship,
            batch,
            days,
            json,
            har_out,
        } => {
            let amazon_orders = match amazon_orders {
                Some(path) => Some(
                    serde_json::from_str(
                        &std::fs::read_to_string(&path)
                            .with_context(|| format!("reading {}", path.display()))?,
                    )
                    .with_context(|| format!("{} is not JSON", path.display()))?,
                ),
                None => None,
            };
            if !(0.0..=100.0).contains(&changes) {
                anyhow::bail!("--changes must be between 0 and 100");
            }
            if ship.is_some_and(|rate| !(rate > 0.0 && rate <= 1e6)) || batch == 0 {
                anyhow::bail!("--ship must be a positive rate per hour and --batch at least 1");
            }
            let options = simulate::Options {
                orders,
                amazon_orders,
                fba,
                marketplace,
                other_marketplace,
                seed,
                changes,
                ship,
                batch,
                days,
                record: har_out.is_some(),
                progress: !json,
                ..simulate::Options::default()
            };
            let run = simulate::run(&options)?;
            if let (Some(path), Some(har)) = (&har_out, &run.har) {
                std::fs::write(path, serde_json::to_vec_pretty(har)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let report = &run.report;
            if json {
                say!("{}", serde_json::to_string_pretty(report)?);
            } else {
                print_simulation(report);
            }
            Ok(report.problems().is_empty())
        }
    }
}

fn print_campaign(report: &test_host::campaign::CampaignReport) {
    say!(
        "Fault campaign, seed {}: {} runs, {} ended with Amazon's truth",
        report.seed,
        report.runs,
        report.passed
    );
    say!(
        "  handled       {} orders, {} labels, {} redaction directives",
        report.orders,
        report.labels,
        report.directives
    );
    say!(
        "  injected      {} request faults, {} failed storage writes, {} host crashes",
        report.faults_injected,
        report.failed_writes,
        report.crashes
    );
    say!(
        "  orders        lost {}, duplicated {}, stale {}",
        report.orders_lost,
        report.orders_duplicated,
        report.orders_stale
    );
    say!(
        "  updates       lost {}, sent twice {}",
        report.notifications_lost,
        report.notifications_sent_twice
    );
    say!(
        "  directives    lost {}, off time {}",
        report.directives_lost,
        report.directives_off_time
    );
    say!(
        "  component     traps {}, hangs {}, secrets in storage {}; other errors {}",
        report.traps,
        report.hangs,
        report.secrets_in_storage,
        report.errors
    );
    for failed in &report.failed_runs {
        say!(
            "FAILED run, replay with --runs 1 --seed {}: {}",
            failed.seed,
            failed.problems.join("; ")
        );
    }
}

fn print_simulation(report: &simulate::Report) {
    say!(
        "Simulated Amazon, seed {}: {} orders of this store, {} changes during the run",
        report.seed,
        report.amazon_orders,
        report.changes
    );
    say!(
        "  imported      {} (missed {}, duplicated {}, stale {})",
        report.imported,
        report.missed,
        report.duplicated,
        report.final_state_mismatches
    );
    say!(
        "  other stores' {} in the world, {} imported",
        report.foreign_orders,
        report.foreign_imported
    );
    for (reason, count) in &report.skipped {
        say!("  skipped       {count} × {reason}");
    }
    say!(
        "  import calls  {} ({} with nothing new, {} errors)",
        report.import_calls,
        report.empty_calls,
        report.errors
    );
    for (operation, count) in &report.calls {
        say!(
            "  {operation:<28} {} calls, {} × 429",
            count.calls,
            count.throttled
        );
    }
    let ratio = report
        .floor_ratio
        .map_or("-".to_owned(), |r| format!("{r:.4}"));
    say!(
        "  virtual time  {:.0} s to read the backlog of {} orders; floor {:.0} s; ratio {ratio}",
        report.backlog_seconds,
        report.backlog,
        report.floor_seconds
    );
    say!(
        "                {:.0} s until the last change arrived (waited {:.0} s for next-call-after)",
        report.virtual_seconds,
        report.waited_seconds
    );
    if let Some(n) = &report.notifications {
        say!(
            "  labels        {} in {} on-label-created and {} deliver-notifications calls",
            n.labels,
            n.label_calls,
            n.delivery_calls
        );
        say!(
            "                {} confirmed once ({} by feed), {} rejected, lost {}, sent twice {}",
            n.confirmed_once,
            n.via_feed,
            n.rejected,
            n.lost,
            n.sent_twice
        );
        say!(
            "                label to Amazon: median {:.1} s, p99 {:.1} s, worst {:.1} s",
            n.lag_p50_seconds,
            n.lag_p99_seconds,
            n.lag_max_seconds
        );
    }
    if let Some(r) = &report.redaction {
        say!(
            "  redaction     {} days, {} redact calls, {} deliveries reported: {} directives due, {} on time",
            r.days,
            r.redact_calls,
            r.deliveries,
            r.expected,
            r.on_time
        );
        say!(
            "                missed {}, late {}, early {}, wrong due time {}, never applied {}",
            r.missed,
            r.late,
            r.early,
            r.wrong_due,
            r.unapplied
        );
    }
    say!(
        "  storage       {} buyer values or secrets in it",
        report.pii_in_storage
    );
    let problems = report.problems();
    if problems.is_empty() {
        say!("The host ends with Amazon's truth.");
    } else {
        say!("FAILED:");
        for problem in problems {
            say!("  - {problem}");
        }
    }
}

fn open_storage(path: Option<&std::path::Path>) -> Result<SqliteStore> {
    Ok(match path {
        Some(path) => SqliteStore::open(path)?,
        None => SqliteStore::in_memory()?,
    })
}

fn print_report(report: &RunReport) {
    for (index, step) in report.steps.iter().enumerate() {
        print_step(index + 1, step);
    }
    say!(
        "Replay: {} of {} recorded exchanges used.",
        report.exchanges_used,
        report.exchanges_recorded
    );
    if report.passed() {
        say!("Every step returned what the scenario expects.");
    } else {
        say!("FAILED:");
        for problem in &report.problems {
            say!("  - {problem}");
        }
    }
}

fn print_step(number: usize, step: &StepReport) {
    let call = serde_json::to_value(step.call).ok();
    let name = call.as_ref().and_then(Value::as_str).unwrap_or("?");
    say!(
        "{number}. {name}  (clock {})",
        step.at.format("%Y-%m-%d %H:%M UTC")
    );
    for exchange in &step.record.exchanges {
        let status = exchange
            .status
            .map_or("no recording".to_owned(), |s| s.to_string());
        say!("   {:<4} {} -> {status}", exchange.method, exchange.url);
    }
    for line in &step.record.logs {
        say!("   log {}: {}", line.level, line.message);
    }
    match &step.outcome {
        Outcome::Err { case, error } => say!("   => error {case}: {}", compact(error)),
        Outcome::Ok(value) => match step.call {
            Call::Connect => describe_connection(value),
            Call::ImportOrders => describe_import(value),
            Call::OnLabelCreated => describe_outcomes(value),
            Call::DeliverNotifications => {
                describe_outcomes(&value["outcomes"]);
                say!(
                    "   => {} still queued, next delivery after {}",
                    value["pending"],
                    text(value, &["next-call-after"])
                );
            }
            Call::Redact => describe_directives(value),
            Call::OnDelivered => say!("   => recorded"),
            Call::RedactionAudit => {
                for entry in value.as_array().into_iter().flatten() {
                    say!(
                        "   => {} due {}{}",
                        text(entry, &["directive", "id"]),
                        text(entry, &["directive", "due-at"]),
                        if entry["acknowledged"] == true {
                            ", acknowledged"
                        } else {
                            ""
                        }
                    );
                }
            }
        },
    }
    say!();
}

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or("-")
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A WIT value for people: a case with its payload as `case(payload)`, a list as
/// `a, b`, text as it is.
fn wit_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(wit_text).collect::<Vec<_>>().join(", "),
        Value::Object(map) if map.len() == 1 => {
            let (case, payload) = map.iter().next().expect("one entry");
            format!("{case}({})", wit_text(payload))
        }
        other => compact(other),
    }
}

fn describe_connection(value: &Value) {
    say!(
        "   => store \"{}\" on {} ({}, {}, {}), selling plan {}",
        text(value, &["store", "store-name"]),
        text(value, &["store", "marketplace", "name"]),
        text(value, &["store", "marketplace", "country-code"]),
        text(value, &["store", "marketplace", "currency-code"]),
        text(value, &["store", "marketplace", "domain"]),
        wit_text(&value["selling-plan"]),
    );
    let others: Vec<String> = value["marketplaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| format!("{} ({})", text(m, &["name"]), text(m, &["id"])))
        .collect();
    say!("      the seller participates in: {}", others.join(", "));
    say!("      capabilities: {}", compact(&value["capabilities"]));
}

fn describe_import(value: &Value) {
    let orders = value["orders"].as_array().cloned().unwrap_or_default();
    say!(
        "   => {} order(s), {} skipped, more pages: {}, next call after {}",
        orders.len(),
        value["skipped"].as_array().map_or(0, Vec::len),
        value["more"],
        text(value, &["next-call-after"]),
    );
    // Counts and ids only: the demo never prints buyer data.
    for order in &orders {
        say!(
            "      {} {} ({}), ship by {}, total {} {}, buyer data: {}",
            text(order, &["order-id"]),
            wit_text(&order["status"]),
            text(order, &["marketplace-status"]),
            text(order, &["ship-by"]),
            text(order, &["order-total", "amount"]),
            text(order, &["order-total", "currency-code"]),
            if order["ship-to"].is_null() {
                "withheld by Amazon"
            } else {
                "present"
            },
        );
        for item in order["items"].as_array().into_iter().flatten() {
            say!(
                "         {} x{} @ {} {}",
                text(item, &["product-id"]),
                item["quantity"],
                text(item, &["unit-price", "amount"]),
                text(item, &["unit-price", "currency-code"]),
            );
        }
    }
}

fn describe_outcomes(value: &Value) {
    for outcome in value.as_array().into_iter().flatten() {
        say!(
            "   => label {} / order {}: {}",
            text(outcome, &["label-id"]),
            text(outcome, &["order-id"]),
            wit_text(&outcome["outcome"]),
        );
    }
}

fn describe_directives(value: &Value) {
    let directives = value.as_array().cloned().unwrap_or_default();
    if directives.is_empty() {
        say!("   => nothing due yet");
    }
    for directive in &directives {
        say!(
            "   => redact {} with \"{}\" ({}): {}",
            wit_text(&directive["target"]),
            text(directive, &["replacement"]),
            wit_text(&directive["rule"]),
            wit_text(&directive["fields"]),
        );
    }
}
