//! `test-host live`: the component against a real Amazon over the network (its
//! production endpoints or sandbox, or any Amazon at one base URL such as
//! `test-host serve`), step by step as a host runs it, on the wall clock. With
//! `--record` the session is written as a scrubbed fixture.

pub mod settings;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use crate::amazon::network::{Network, Timeouts, tls};
use crate::amazon::recorder::Recorder;
use crate::drive::scenario::{Call, Delivery, Label, Outcome, record};
use crate::embed::clock::wall_now;
use crate::embed::runtime::bindings as wit;
use crate::embed::{ComponentInstance, SqliteStorage, VirtualClock, time};

/// A step of a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LiveStep {
    /// `connect`.
    Connect,
    /// `import-orders` until Amazon has nothing more, waiting for each
    /// `next-call-after`.
    Import,
    /// `on-label-created` with the labels of `--labels`, then
    /// `send-queued-notifications` until none is pending.
    Ship,
    /// `on-delivered` with the deliveries of `--deliveries`.
    Deliver,
    /// `redact`, acknowledging every directive (as a host that applied them).
    Redact,
    /// `subscribe` to ORDER_CHANGE for the queue of `--queue-arn`.
    Subscribe,
    /// `take-notifications` with the message bodies of `--messages`.
    Notifications,
}

/// What a live session does.
pub struct LiveOptions {
    /// The connection (from `--settings` or the environment).
    pub settings: wit::ConnectionSettings,
    /// Every Amazon host to this base URL instead (`--amazon`).
    pub amazon: Option<Url>,
    /// Trust this authority instead of the system's roots (`--ca-cert`).
    pub ca_cert: Option<PathBuf>,
    /// The host's timeouts per call.
    pub timeouts: Timeouts,
    /// The longest a step waits for Amazon in all (its buckets, a feed).
    pub max_wait: Duration,
    /// Labels for `ship` (the scenario format's `labels`).
    pub labels: Vec<Label>,
    /// Deliveries for `deliver`.
    pub deliveries: Vec<Delivery>,
    /// The SQS queue for `subscribe`.
    pub queue_arn: Option<String>,
    /// Message bodies (as the queue delivered them) for `notifications`.
    pub messages: Vec<String>,
    /// The component's storage file (in memory without one).
    pub storage: Option<PathBuf>,
    /// Write the session here, scrubbed, with its `_scenario`.
    pub record: Option<PathBuf>,
    /// The steps, in order.
    pub steps: Vec<LiveStep>,
}

/// A `--amazon` URL the host may send to: https, or http on loopback only.
pub fn checked_base(url: &str) -> Result<Url> {
    let parsed = Url::parse(url).context("--amazon is not a URL")?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => bail!("--amazon must be an https URL (http only on loopback)"),
    }
}

/// One export call as the session prints it.
#[derive(Debug, Serialize)]
struct Printed<'a> {
    call: &'static str,
    at: DateTime<Utc>,
    outcome: &'a Outcome,
}

/// Runs the session; `Ok(false)` when a step ended in an error the component
/// returned.
pub fn run(options: LiveOptions, json: bool) -> Result<bool> {
    let clock = VirtualClock::new(wall_now());
    let tls = tls::client(options.ca_cert.as_deref())?;
    let network =
        Network::new(tls, options.amazon.clone(), options.timeouts)?.keep_clock(clock.clone());
    let recorder = if options.record.is_some() {
        Recorder::new(network, clock.clone())
    } else {
        Recorder::off(network, clock.clone())
    };
    let amazon = Arc::new(Mutex::new(recorder));
    let storage = match &options.storage {
        Some(path) => SqliteStorage::open(path)?,
        None => SqliteStorage::in_memory()?,
    };
    let mut session = Session {
        instance: ComponentInstance::new(amazon.clone(), storage, clock.clone())?,
        clock,
        options: &options,
        json,
        checkpoint: None,
    };
    session.instance.log_exports();
    let mut passed = true;
    for step in &options.steps {
        if !session.step(*step)? {
            passed = false;
            break;
        }
    }
    if let Some(path) = &options.record {
        let recorder = amazon.lock().unwrap_or_else(|p| p.into_inner());
        let mut har = recorder.har();
        let log = session.instance.export_log().cloned().unwrap_or_default();
        match record::scenario(&log, "A live session, recorded by test-host live.") {
            Ok(scenario) => har.log.scenario = Some(scenario),
            Err(why) => eprintln!("{} has no _scenario: {why}", path.display()),
        }
        std::fs::write(path, serde_json::to_vec_pretty(&har)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(passed)
}

struct Session<'o> {
    instance: ComponentInstance,
    clock: VirtualClock,
    options: &'o LiveOptions,
    json: bool,
    /// The last batch's checkpoint, as a host stores it with the batch.
    checkpoint: Option<String>,
}

impl Session<'_> {
    fn step(&mut self, step: LiveStep) -> Result<bool> {
        let settings = self.options.settings.clone();
        match step {
            LiveStep::Connect => {
                self.now();
                let (result, _) = self.instance.connect(&settings)?;
                Ok(self.show(Call::Connect, result))
            }
            LiveStep::Import => self.import(&settings),
            LiveStep::Subscribe => {
                self.now();
                let Some(queue) = &self.options.queue_arn else {
                    bail!("subscribe needs --queue-arn");
                };
                let (result, _) = self.instance.subscribe(&settings, queue)?;
                Ok(self.show(Call::Subscribe, result))
            }
            LiveStep::Notifications => {
                self.now();
                let (result, _) = self
                    .instance
                    .take_notifications(&settings, &self.options.messages)?;
                Ok(self.show(Call::TakeNotifications, result))
            }
            LiveStep::Ship => self.ship(&settings),
            LiveStep::Deliver => {
                self.now();
                let events: Vec<_> = self
                    .options
                    .deliveries
                    .iter()
                    .map(Delivery::to_wit)
                    .collect();
                let (result, _) = self.instance.on_delivered(&events)?;
                Ok(self.show(Call::OnDelivered, result))
            }
            LiveStep::Redact => {
                self.now();
                let (result, _) = self.instance.redact()?;
                let ids: Vec<String> = match &result {
                    Ok(directives) => directives.iter().map(|d| d.id.clone()).collect(),
                    Err(_) => Vec::new(),
                };
                let passed = self.show(Call::Redact, result);
                if passed && !ids.is_empty() {
                    let (acknowledged, _) = self.instance.acknowledge_redactions(&ids)?;
                    if let Err(error) = acknowledged {
                        bail!("acknowledging the directives failed: {error:?}");
                    }
                }
                Ok(passed)
            }
        }
    }

    fn import(&mut self, settings: &wit::ConnectionSettings) -> Result<bool> {
        let deadline = std::time::Instant::now() + self.options.max_wait;
        loop {
            self.now();
            let (result, _) = self
                .instance
                .import_orders(settings, self.checkpoint.as_deref())?;
            let next = match &result {
                Ok(batch) => {
                    self.checkpoint = Some(batch.checkpoint.clone());
                    batch.more.then(|| time(&batch.next_call_after))
                }
                Err(wit::Error::Throttled(at)) => Some(time(at)),
                Err(_) => None,
            };
            let failed = result.is_err() && !matches!(result, Err(wit::Error::Throttled(_)));
            self.show(Call::ImportOrders, result);
            match next {
                _ if failed => return Ok(false),
                None => return Ok(true),
                Some(at) => {
                    if !self.wait_until(at, deadline) {
                        eprintln!("import: Amazon has more, past --max-wait");
                        return Ok(true);
                    }
                }
            }
        }
    }

    fn ship(&mut self, settings: &wit::ConnectionSettings) -> Result<bool> {
        let deadline = std::time::Instant::now() + self.options.max_wait;
        self.now();
        let labels: Vec<wit::LabelEvent> = self.options.labels.iter().map(Label::to_wit).collect();
        let (result, _) = self.instance.on_label_created(settings, &labels)?;
        if !self.show(Call::OnLabelCreated, result) {
            return Ok(false);
        }
        loop {
            self.now();
            let (result, _) = self.instance.send_queued_notifications(settings)?;
            let next = match &result {
                Ok(report) if report.pending > 0 => report.next_call_after.as_ref().map(time),
                _ => None,
            };
            if !self.show(Call::SendQueuedNotifications, result) {
                return Ok(false);
            }
            match next {
                None => return Ok(true),
                Some(at) if !self.wait_until(at, deadline) => {
                    bail!("ship: updates still pending past --max-wait");
                }
                Some(_) => {}
            }
        }
    }

    /// Moves the host's clock to the wall clock's time.
    fn now(&self) {
        self.clock.set(self.clock.now().max(wall_now()));
    }

    /// Sleeps until `at` (wall time); false when that is past `deadline`.
    fn wait_until(&self, at: DateTime<Utc>, deadline: std::time::Instant) -> bool {
        let pause = (at - wall_now()).to_std().unwrap_or_default();
        if std::time::Instant::now() + pause > deadline {
            return false;
        }
        std::thread::sleep(pause);
        true
    }

    /// Prints a call's outcome; true when it was `ok`.
    fn show<T: Serialize>(&self, call: Call, result: Result<T, wit::Error>) -> bool {
        let outcome = Outcome::from_result(call, result);
        let printed = Printed {
            call: call.export_name(),
            at: self.clock.now(),
            outcome: &outcome,
        };
        let line = if self.json {
            serde_json::to_string(&printed).unwrap_or_default()
        } else {
            let at = printed
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            format!("{at} {}: {}", printed.call, summary(&outcome))
        };
        print_line(&line);
        outcome.case() == "ok"
    }
}

/// One line on stdout; a reader that has gone (piped into `head`) ends the
/// session quietly instead of with a panic.
fn print_line(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush())
        && error.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// One line for a person: counts and states, no buyer data.
fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Err { case, .. } => format!("error {case}"),
        Outcome::Ok(value) => {
            if let Some(orders) = value.get("orders").and_then(|o| o.as_array()) {
                format!(
                    "{} orders, {} skipped{}",
                    orders.len(),
                    value["skipped"].as_array().map_or(0, Vec::len),
                    if value["more"] == true { ", more" } else { "" }
                )
            } else if let Some(outcomes) = value.get("outcomes").and_then(|o| o.as_array()) {
                format!("{} outcomes, {} pending", outcomes.len(), value["pending"])
            } else if let Some(list) = value.as_array() {
                format!("{} entries", list.len())
            } else {
                "ok".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_must_be_https_unless_it_is_loopback() {
        for allowed in [
            "https://127.0.0.1:8443",
            "https://amazon.example.test",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(checked_base(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://10.0.0.5:8080",
            "http://amazon.example.test",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(checked_base(refused).is_err(), "{refused}");
        }
    }
}
