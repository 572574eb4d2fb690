//! `test-host`: run the Amazon Marketplace component against recorded Amazon sessions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;

use test_host::drive::scenario::Session;
use test_host::drive::{bench, campaign, simulate};
use test_host::embed::SqliteStorage;

/// `print!` that ends the program quietly when whoever reads stdout has gone (the
/// output piped into `head`), instead of panicking on the broken pipe.
macro_rules! show {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = write!(std::io::stdout(), $($arg)*) {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// `live --help`'s examples.
const LIVE_EXAMPLES: &str = "\
Examples:
  # Your own seller, on Amazon's production endpoints (credentials in a file
  # you keep out of the repository and your shell history):
  test-host live --settings ~/.config/amazon/settings.json connect import --record session.har

  # Ship labels your platform created (the fixtures' label format), by
  # confirmShipment or a feed, whichever reaches Amazon sooner:
  test-host live --settings settings.json --labels labels.json ship

  # Amazon's sandbox: static answers to TEST_CASE values (see the README):
  test-host live --settings settings.json --sandbox connect

  # The simulator on loopback, over real HTTPS:
  test-host serve --port 8443 --cert-out /tmp/amazon &
  test-host live --settings /tmp/amazon/settings.json --amazon https://127.0.0.1:8443 \\
      --ca-cert /tmp/amazon/ca.pem connect import

settings.json holds the contract's connection-settings in the WIT's names:
  {\"credentials\": {\"lwa-client-id\": \"...\", \"lwa-client-secret\": \"...\",
                   \"refresh-token\": \"...\", \"seller-id\": \"...\"},
   \"sources\": [{\"marketplace-id\": \"ATVPDKIKX0DER\"}]}";

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
        /// Replay across the network: the recording served strictly at this base
        /// URL (`test-host serve --har FILE`).
        #[arg(long, value_name = "URL")]
        amazon: Option<String>,
        /// Trust the authority in this PEM file (the server's `--cert-out`).
        #[arg(long, value_name = "FILE", requires = "amazon")]
        ca_cert: Option<PathBuf>,
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
    /// Run the component against a real Amazon over the network: Amazon's own
    /// endpoints (or sandbox), or every Amazon host at one base URL such as
    /// `test-host serve`. Credentials come from --settings or the environment
    /// (AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET, AMAZON_REFRESH_TOKEN,
    /// AMAZON_SELLER_ID, AMAZON_MARKETPLACE_IDS), never the command line, and are
    /// never printed.
    #[command(after_long_help = LIVE_EXAMPLES)]
    Live(LiveArgs),
    /// Serve an Amazon on loopback over HTTPS until stopped: the simulator (a
    /// world as `simulate` makes it, starting now, on the wall clock) or a
    /// recording answered strictly (--har). Prints its base URL first.
    Serve(ServeArgs),
    /// The component against Amazon's floor, in one run: pace and calls on the
    /// simulator's virtual clock, size and instantiation on this machine. Each line
    /// prints our figure, the reference, their ratio and the goal. Exits 1 when a
    /// goal is missed.
    Bench {
        /// Smaller worlds: seconds instead of minutes.
        #[arg(long)]
        quick: bool,
        /// Only these groups of lines (backlog, labels, busy-day, cpu, component,
        /// tenants), comma-separated.
        #[arg(long, value_delimiter = ',', value_name = "GROUPS")]
        only: Vec<String>,
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
        /// The seller's orders at the start (updated in the last 14 days), spread
        /// over --marketplaces.
        #[arg(long, default_value_t = 2000, conflicts_with = "amazon_orders")]
        orders: usize,
        /// A searchOrders response body (`{"orders":[...]}`) whose orders become the world.
        #[arg(long, value_name = "FILE")]
        amazon_orders: Option<PathBuf>,
        /// Import FBA orders; a fifth of the generated orders are Amazon-fulfilled.
        #[arg(long)]
        fba: bool,
        /// The seller's marketplaces to import from, comma-separated, all of one
        /// region (`--marketplace` for one).
        #[arg(
            long,
            alias = "marketplace",
            default_value = "ATVPDKIKX0DER",
            value_name = "ID,...",
            value_delimiter = ','
        )]
        marketplaces: Vec<String>,
        /// Run each marketplace as its own connection and component instance, all
        /// with the seller's one authorisation (contract 0.2's shape): they share
        /// Amazon's buckets, each pacing alone.
        #[arg(long)]
        per_marketplace_instances: bool,
        /// The connection reads its marketplaces one at a time, in turn, instead of
        /// all in one searchOrders window.
        #[arg(long)]
        read_sources_separately: bool,
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
        /// Amazon stores each feed's processing report gzip-compressed
        /// (getFeedDocument answers compressionAlgorithm GZIP).
        #[arg(long, requires = "ship")]
        compressed_reports: bool,
        /// Go on until N days after the start: the host calls redact every hour,
        /// reports deliveries, and every directive is checked against the seed's
        /// schedule.
        #[arg(long, value_name = "N")]
        days: Option<u32>,
        /// The host subscribes the seller to ORDER_CHANGE (subscribe): Amazon then
        /// publishes every change to the app's SQS queue (delayed, 2 % twice, 1 %
        /// lost) and the host takes them with take-notifications while it polls.
        #[arg(long)]
        order_events: bool,
        /// Amazon delivers no notification for two hours from MINUTES after the start.
        #[arg(long, value_name = "MINUTES", requires = "order_events")]
        event_outage: Option<u32>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Record every exchange to FILE as HAR 1.2, credentials and buyer values
        /// replaced by placeholders, with the `_scenario` that replays it (one
        /// connection, no crash or lost answer, no order events).
        #[arg(long, value_name = "FILE", alias = "har-out")]
        record: Option<PathBuf>,
    },
}

/// `live`'s arguments.
#[derive(clap::Args)]
struct LiveArgs {
    /// The steps, in order.
    #[arg(required = true, value_enum)]
    steps: Vec<test_host::drive::live::LiveStep>,
    /// The connection settings: the contract's connection-settings as JSON in
    /// the WIT's names (`credentials.refresh-token`, `sources[].marketplace-id`).
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Use Amazon's sandbox hosts (static answers; see the README).
    #[arg(long)]
    sandbox: bool,
    /// Send every Amazon host (LWA, SP-API, documents) to this base URL instead:
    /// https, or http on loopback only.
    #[arg(long, value_name = "URL")]
    amazon: Option<String>,
    /// Trust the authority in this PEM file instead of the system's roots.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Labels for `ship`: a JSON list in the fixtures' `labels` format.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Deliveries for `deliver`: a JSON list in the fixtures' `deliveries` format.
    #[arg(long, value_name = "FILE")]
    deliveries: Option<PathBuf>,
    /// The SQS queue (its ARN) `subscribe` points ORDER_CHANGE at.
    #[arg(long, value_name = "ARN")]
    queue_arn: Option<String>,
    /// Messages for `notifications`: a JSON list of the bodies the queue delivered.
    #[arg(long, value_name = "FILE")]
    messages: Option<PathBuf>,
    /// Keep the component's storage in this SQLite file (default: in memory).
    #[arg(long, value_name = "FILE")]
    storage: Option<PathBuf>,
    /// Record the session as a fixture: HAR 1.2, secrets and buyer values
    /// replaced, with its _scenario.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Seconds to wait for a connection and TLS.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    connect_timeout: u64,
    /// Seconds to wait for an answer's first byte.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    first_byte_timeout: u64,
    /// Seconds an answer may stall between bytes.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    between_bytes_timeout: u64,
    /// The longest a step waits for Amazon in all (its buckets, a feed).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    max_wait: u64,
    /// Print each call's outcome as one JSON line (the WIT's names).
    #[arg(long)]
    json: bool,
}

/// `serve`'s arguments.
#[derive(clap::Args)]
struct ServeArgs {
    /// The loopback port (0: any free one).
    #[arg(long, default_value_t = 8443)]
    port: u16,
    /// Write the fresh certificate authority (ca.pem) and the simulated
    /// seller's placeholder settings (settings.json) to this directory.
    #[arg(long, value_name = "DIR")]
    cert_out: Option<PathBuf>,
    /// Answer strictly from this recording instead of the simulator.
    #[arg(long, value_name = "FILE")]
    har: Option<PathBuf>,
    /// The seller's orders at the start.
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// Changes while served, as a share of --orders.
    #[arg(long, default_value_t = 0.0)]
    changes: f64,
    /// Seed of the world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The seller's marketplaces, comma-separated.
    #[arg(long, default_value = "ATVPDKIKX0DER", value_delimiter = ',')]
    marketplaces: Vec<String>,
    /// Processing reports are stored gzip-compressed.
    #[arg(long)]
    compressed_reports: bool,
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
            show!(
                "Amazon Marketplace component demo\n{}\n",
                session.scenario.description
            );
            show!(
                "Recorded session: fixtures/demo.har. Credentials are placeholders; nothing leaves this machine.\n\n"
            );
            let report = session.run_with_storage(open_storage(storage.as_deref())?)?;
            show!("{report}");
            Ok(report.passed())
        }
        Command::Replay {
            session,
            amazon,
            ca_cert,
            json,
            storage,
        } => {
            let recording = Session::from_file(&session)?;
            let storage = open_storage(storage.as_deref())?;
            let report = match amazon {
                None => recording.run_with_storage(storage)?,
                Some(base) => {
                    use test_host::amazon::network::{Network, Timeouts, tls};
                    let base = test_host::drive::live::checked_base(&base)?;
                    let tls = tls::client(ca_cert.as_deref())?;
                    let network = Network::new(tls, Some(base), Timeouts::default())?;
                    recording
                        .run_over(storage, std::sync::Arc::new(std::sync::Mutex::new(network)))?
                }
            };
            if json {
                print_json(&report)?;
            } else {
                show!("{}\n\n{report}", report.description);
            }
            Ok(report.passed())
        }
        Command::Faults { runs, seed, json } => {
            let report = campaign::run_with_progress(runs, seed, !json)?;
            print(&report, json)?;
            Ok(report.clean())
        }
        Command::Bench { quick, only, json } => {
            let report = bench::run_all(quick, &only)?;
            print(&report, json)?;
            Ok(report.all_met())
        }
        Command::Live(args) => live(args),
        Command::Serve(args) => serve(args),
        Command::ComponentSize => {
            show!("{}\n", test_host::embed::runtime::COMPONENT.len());
            Ok(true)
        }
        Command::Simulate {
            orders,
            amazon_orders,
            fba,
            marketplaces,
            per_marketplace_instances,
            read_sources_separately,
            other_marketplace,
            seed,
            changes,
            ship,
            batch,
            compressed_reports,
            days,
            order_events,
            event_outage,
            json,
            record,
        } => {
            let amazon_orders = match amazon_orders {
                Some(path) => Some(read_json(&path)?),
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
                marketplaces,
                per_marketplace_instances,
                read_sources_separately,
                other_marketplace,
                seed,
                changes,
                ship,
                batch,
                compressed_reports,
                days,
                order_events,
                event_outage: event_outage.map(|m| chrono::Duration::minutes(i64::from(m))),
                record: record.is_some(),
                progress: !json,
                ..simulate::Options::default()
            };
            let run = simulate::run(&options)?;
            if let (Some(path), Some(har)) = (&record, &run.har) {
                std::fs::write(path, serde_json::to_vec_pretty(har)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                if let Some(why) = &run.unreplayable {
                    eprintln!("{} has no _scenario: {why}", path.display());
                }
            }
            print(&run.report, json)?;
            Ok(run.report.problems().is_empty())
        }
    }
}

/// `live`: the settings read and checked, then the session.
fn live(args: LiveArgs) -> Result<bool> {
    use test_host::drive::live::{self, settings as live_settings};
    let mut settings = match &args.settings {
        Some(path) => live_settings::from_file(path)?,
        None => live_settings::from_environment(|name| std::env::var(name).ok())?,
    };
    settings.sandbox |= args.sandbox;
    let seconds = std::time::Duration::from_secs;
    let list = |path: &Option<PathBuf>, what: &str| -> Result<serde_json::Value> {
        match path {
            Some(path) => read_json(path).with_context(|| format!("the {what} file")),
            None => Ok(serde_json::Value::Array(Vec::new())),
        }
    };
    let options = live::LiveOptions {
        settings,
        amazon: args.amazon.as_deref().map(live::checked_base).transpose()?,
        ca_cert: args.ca_cert,
        timeouts: test_host::amazon::network::Timeouts {
            connect: seconds(args.connect_timeout),
            first_byte: seconds(args.first_byte_timeout),
            between_bytes: seconds(args.between_bytes_timeout),
        },
        max_wait: seconds(args.max_wait),
        labels: serde_json::from_value(list(&args.labels, "labels")?)
            .context("--labels is not a list of labels")?,
        deliveries: serde_json::from_value(list(&args.deliveries, "deliveries")?)
            .context("--deliveries is not a list of deliveries")?,
        queue_arn: args.queue_arn,
        messages: serde_json::from_value(list(&args.messages, "messages")?)
            .context("--messages is not a list of message bodies")?,
        storage: args.storage,
        record: args.record,
        steps: args.steps,
    };
    live::run(options, args.json)
}

/// `serve`: until stopped.
fn serve(args: ServeArgs) -> Result<bool> {
    test_host::drive::serve::run(test_host::drive::serve::ServeOptions {
        simulate: simulate::Options {
            orders: args.orders,
            changes: args.changes,
            seed: args.seed,
            marketplaces: args.marketplaces,
            compressed_reports: args.compressed_reports,
            ..simulate::Options::default()
        },
        recording: args.har,
        port: args.port,
        cert_out: args.cert_out,
    })?;
    Ok(true)
}

/// A report as pretty JSON (its names are the WIT's), or as it prints itself.
fn print<R: Serialize + std::fmt::Display>(report: &R, json: bool) -> Result<()> {
    if json {
        print_json(report)
    } else {
        show!("{report}");
        Ok(())
    }
}

fn print_json<R: Serialize>(report: &R) -> Result<()> {
    show!("{}\n", serde_json::to_string_pretty(report)?);
    Ok(())
}

fn read_json(path: &std::path::Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn open_storage(path: Option<&std::path::Path>) -> Result<SqliteStorage> {
    Ok(match path {
        Some(path) => SqliteStorage::open(path)?,
        None => SqliteStorage::in_memory()?,
    })
}
