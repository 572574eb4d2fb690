//! Runs a recorded session: the HAR's exchanges answer the component's requests,
//! and its `_scenario` block (a HAR custom field) says which exports to call, with
//! which settings, at what time, and what each should return.
//!
//! ```json
//! "_scenario": {
//!   "description": "connect a US store",
//!   "settings": { "marketplaceId": "ATVPDKIKX0DER" },
//!   "steps": [ { "call": "connect", "expect": "ok" },
//!              { "call": "redact", "at": "2026-12-05T00:00:00Z", "expect": "ok" } ]
//! }
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::amazon::{har::Har, replay::Replay};
use crate::embed::export_log::ExportLog;
use crate::embed::kv::SqliteStorage;
mod print;
pub mod record;

use crate::drive::wit_json;
use crate::embed::datetime;
use crate::embed::runtime::bindings as wit;
use crate::embed::runtime::{CallRecord, ComponentInstance, VirtualClock};

/// Placeholder credentials: replay ignores credential values, so none are real.
pub const PLACEHOLDER_CLIENT_ID: &str = "amzn1.application-oa2-client.placeholder";
/// See [`PLACEHOLDER_CLIENT_ID`].
pub const PLACEHOLDER_CLIENT_SECRET: &str = "placeholder-client-secret";
/// See [`PLACEHOLDER_CLIENT_ID`].
pub const PLACEHOLDER_REFRESH_TOKEN: &str = "Atzr|placeholder";
/// The seller id used when a scenario names none.
pub const PLACEHOLDER_SELLER_ID: &str = "A3PLACEHOLDER";

/// The `_scenario` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// What the recording shows.
    #[serde(default)]
    pub description: String,
    /// The store settings, minus credentials.
    pub settings: Settings,
    /// The clock's start for a recording with no exchanges (otherwise the first
    /// exchange's time).
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
    /// The exchanges carry the times they were made at (a recorded session):
    /// the replay keeps the clock in step with them.
    #[serde(default)]
    pub recorded_time: bool,
    /// The export calls, in order.
    pub steps: Vec<Step>,
}

/// Store settings as a scenario gives them (camelCase, defaults for the rest).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// The order source.
    pub marketplace_id: String,
    /// Seller id; a placeholder by default.
    #[serde(default = "placeholder_seller")]
    pub seller_id: String,
    /// Explicit region.
    #[serde(default)]
    pub region: Option<Region>,
    /// Sandbox hosts.
    #[serde(default)]
    pub sandbox: bool,
    /// `sku` (default) or `asin`.
    #[serde(default)]
    pub product_identifier: ProductIdentifier,
    /// Import FBA orders.
    #[serde(default)]
    pub import_fba_orders: bool,
    /// Kanji addresses for Japan.
    #[serde(default)]
    pub japan_kanji_addresses: bool,
    /// The marketplace's carrier codes in Seller Central (empty: Amazon's list).
    #[serde(default)]
    pub carrier_codes: Vec<String>,
}

fn placeholder_seller() -> String {
    PLACEHOLDER_SELLER_ID.to_owned()
}

/// WIT `region`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    NorthAmerica,
    Europe,
    FarEast,
}

/// WIT `product-identifier`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProductIdentifier {
    #[default]
    Sku,
    Asin,
}

impl Settings {
    /// A store in `marketplace_id` with the placeholder seller and every option at
    /// its default: what simulated runs and benchmarks start from.
    pub fn simulated(marketplace_id: &str) -> Self {
        Self {
            marketplace_id: marketplace_id.to_owned(),
            seller_id: PLACEHOLDER_SELLER_ID.into(),
            region: None,
            sandbox: false,
            product_identifier: ProductIdentifier::Sku,
            import_fba_orders: false,
            japan_kanji_addresses: false,
            carrier_codes: Vec::new(),
        }
    }

    /// The WIT record: a connection with this one order source, and placeholder
    /// credentials.
    pub fn to_wit(&self) -> wit::ConnectionSettings {
        wit::ConnectionSettings {
            credentials: wit::Credentials {
                lwa_client_id: PLACEHOLDER_CLIENT_ID.into(),
                lwa_client_secret: PLACEHOLDER_CLIENT_SECRET.into(),
                refresh_token: PLACEHOLDER_REFRESH_TOKEN.into(),
                seller_id: self.seller_id.clone(),
            },
            region: self.region.map(|r| match r {
                Region::NorthAmerica => wit::Region::NorthAmerica,
                Region::Europe => wit::Region::Europe,
                Region::FarEast => wit::Region::FarEast,
            }),
            sandbox: self.sandbox,
            sources: vec![wit::SourceSettings {
                marketplace_id: self.marketplace_id.clone(),
                product_identifier: match self.product_identifier {
                    ProductIdentifier::Sku => wit::ProductIdentifier::Sku,
                    ProductIdentifier::Asin => wit::ProductIdentifier::Asin,
                },
                import_fba_orders: self.import_fba_orders,
                japan_kanji_addresses: self.japan_kanji_addresses,
                carrier_codes: self.carrier_codes.clone(),
            }],
            read_sources_separately: false,
        }
    }
}

/// One export call.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// `connect`, `import-orders`, `on-label-created` or `redact`.
    pub call: Call,
    /// Move the clock here first.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Labels for `on-label-created`.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Deliveries for `on-delivered`.
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    /// The order for `redaction-audit`.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The queue for `subscribe`.
    #[serde(default)]
    pub queue_arn: Option<String>,
    /// The message bodies for `take-notifications`.
    #[serde(default)]
    pub messages: Vec<String>,
    /// `ok`, or the kebab-case name of the expected error case.
    #[serde(default)]
    pub expect: Option<String>,
    /// For `redact`: acknowledge every directive returned, as a host that applied
    /// them does (the default), or not, to see them come again.
    #[serde(default = "acknowledge_by_default")]
    pub acknowledge: bool,
}

fn acknowledge_by_default() -> bool {
    true
}

/// The exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    Connect,
    ImportOrders,
    OnLabelCreated,
    SendQueuedNotifications,
    Redact,
    OnDelivered,
    RedactionAudit,
    Subscribe,
    TakeNotifications,
}

impl Call {
    /// The export's name in the WIT.
    pub fn export_name(self) -> &'static str {
        match self {
            Call::Connect => "connect",
            Call::ImportOrders => "import-orders",
            Call::OnLabelCreated => "on-label-created",
            Call::SendQueuedNotifications => "send-queued-notifications",
            Call::Redact => "redact",
            Call::OnDelivered => "on-delivered",
            Call::RedactionAudit => "redaction-audit",
            Call::Subscribe => "subscribe",
            Call::TakeNotifications => "take-notifications",
        }
    }
}

/// WIT `label-event` with readable dates.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Label {
    pub label_id: String,
    pub orders: Vec<LabelOrder>,
    pub carrier_code: String,
    #[serde(default)]
    pub carrier_name: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    pub tracking_number: String,
    pub ship_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub automatic_tracking: bool,
    #[serde(default)]
    pub batch_id: Option<String>,
}

/// WIT `delivery-event`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delivery {
    pub label_id: String,
    pub order_id: String,
    pub delivered_at: DateTime<Utc>,
}

/// WIT `label-order`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelOrder {
    pub order_id: String,
    #[serde(default)]
    pub marketplace_id: Option<String>,
    pub items: Vec<LabelItem>,
}

/// WIT `label-item`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelItem {
    pub order_item_id: String,
    pub quantity: u32,
}

impl Delivery {
    /// The WIT record.
    pub fn to_wit(&self) -> wit::DeliveryEvent {
        wit::DeliveryEvent {
            label_id: self.label_id.clone(),
            order_id: self.order_id.clone(),
            delivered_at: datetime(self.delivered_at),
        }
    }
}

impl Label {
    /// The WIT record.
    pub fn to_wit(&self) -> wit::LabelEvent {
        wit::LabelEvent {
            label_id: self.label_id.clone(),
            orders: self
                .orders
                .iter()
                .map(|o| wit::LabelOrder {
                    order_id: o.order_id.clone(),
                    marketplace_id: o.marketplace_id.clone(),
                    items: o
                        .items
                        .iter()
                        .map(|i| wit::LabelItem {
                            order_item_id: i.order_item_id.clone(),
                            quantity: i.quantity,
                        })
                        .collect(),
                })
                .collect(),
            carrier_code: self.carrier_code.clone(),
            carrier_name: self.carrier_name.clone(),
            service: self.service.clone(),
            tracking_number: self.tracking_number.clone(),
            ship_date: datetime(self.ship_date),
            created_at: datetime(self.created_at),
            carrier_fee: None,
            automatic_tracking: self.automatic_tracking,
            batch_id: self.batch_id.clone(),
        }
    }
}

/// What an export returned: the WIT value or error, as JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// `ok(value)`.
    Ok(serde_json::Value),
    /// `err(error)`; `case` is the WIT case name.
    Err {
        /// Kebab-case error case.
        case: String,
        /// The error value.
        error: serde_json::Value,
    },
}

impl Outcome {
    /// The result of the export `call`, in the WIT's own names.
    pub fn from_result<T: Serialize>(call: Call, result: Result<T, wit::Error>) -> Self {
        let (ok, err) = wit_json::result_types(call.export_name());
        match result {
            Ok(value) => Outcome::Ok(wit_json::render(&value, ok.as_ref())),
            Err(error) => Outcome::Err {
                case: error_case(&error).to_owned(),
                error: wit_json::render(&error, err.as_ref()),
            },
        }
    }

    /// `ok` or the error case, as `expect` names it.
    pub fn case(&self) -> &str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Err { case, .. } => case,
        }
    }
}

/// The WIT case name of an error.
pub fn error_case(error: &wit::Error) -> &'static str {
    match error {
        wit::Error::ReauthorizationRequired(_) => "reauthorization-required",
        wit::Error::AccessDenied(_) => "access-denied",
        wit::Error::NotProfessionalSeller => "not-professional-seller",
        wit::Error::MarketplaceNotParticipating(_) => "marketplace-not-participating",
        wit::Error::KanjiAddressesRequired => "kanji-addresses-required",
        wit::Error::Throttled(_) => "throttled",
        wit::Error::InvalidInput(_) => "invalid-input",
        wit::Error::Amazon(_) => "amazon",
        wit::Error::MalformedResponse(_) => "malformed-response",
        wit::Error::Transport(_) => "transport",
        wit::Error::Storage(_) => "storage",
    }
}

/// One step's report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The export.
    pub call: Call,
    /// The virtual time of the call.
    pub at: DateTime<Utc>,
    /// What it returned.
    pub outcome: Outcome,
    /// What the scenario expected, if it said.
    pub expected: Option<String>,
    /// HTTP, logs, stderr.
    #[serde(flatten)]
    pub record: CallRecord,
}

/// A whole run's report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// The scenario's description.
    pub description: String,
    /// Each step.
    pub steps: Vec<StepReport>,
    /// Recorded exchanges used.
    pub exchanges_used: usize,
    /// Recorded exchanges in the file.
    pub exchanges_recorded: usize,
    /// Every reason the run failed; empty when it passed.
    pub problems: Vec<String>,
    /// Every export call of the replay, as the instance logged it.
    #[serde(skip)]
    pub exports: ExportLog,
}

impl RunReport {
    /// True when every step met its expectation and the replay was exact.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A recording with its scenario.
pub struct Session {
    /// The scenario.
    pub scenario: Scenario,
    har: Har,
}

impl Session {
    /// Reads a HAR file that carries a `_scenario` block.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses HAR JSON that carries a `_scenario` block.
    pub fn from_json(text: &str) -> Result<Self> {
        let raw: serde_json::Value =
            serde_json::from_str(text).context("the recording is not JSON")?;
        let Some(block) = raw.get("log").and_then(|log| log.get("_scenario")) else {
            bail!(
                "the recording has no log._scenario block saying which exports to call (see fixtures/README.md)"
            );
        };
        let scenario: Scenario =
            serde_json::from_value(block.clone()).context("log._scenario is invalid")?;
        let har: Har = serde_json::from_value(raw).context("the recording is not HAR 1.2")?;
        Ok(Self { scenario, har })
    }

    /// Runs every step against a fresh instance with in-memory storage.
    pub fn run(&self) -> Result<RunReport> {
        self.run_with_storage(SqliteStorage::in_memory()?)
    }

    /// Runs every step with the given storage.
    pub fn run_with_storage(&self, storage: SqliteStorage) -> Result<RunReport> {
        let mut replay = Replay::from_har(self.har.clone())?;
        let start = replay
            .start_time()
            .or(self.scenario.start_time)
            .context("the recording has no exchanges and its _scenario no startTime")?;
        let clock = VirtualClock::new(start);
        if self.scenario.recorded_time {
            replay.follow(clock.clone());
        }
        self.run_against(storage, Arc::new(Mutex::new(replay)), clock)
    }

    /// Runs every step against `amazon`: the recording served strictly elsewhere
    /// (`test-host serve --har`, across the network), which accounts for its
    /// recordings at the end.
    pub fn run_over(
        &self,
        storage: SqliteStorage,
        amazon: Arc<Mutex<dyn crate::amazon::Amazon>>,
    ) -> Result<RunReport> {
        anyhow::ensure!(
            !self.scenario.recorded_time,
            "a session recorded with its times replays in-process only (the clock follows the recording)"
        );
        let start = Replay::from_har(self.har.clone())?
            .start_time()
            .or(self.scenario.start_time)
            .context("the recording has no exchanges and its _scenario no startTime")?;
        self.run_against(storage, amazon, VirtualClock::new(start))
    }

    fn run_against(
        &self,
        storage: SqliteStorage,
        replay: Arc<Mutex<dyn crate::amazon::Amazon>>,
        clock: VirtualClock,
    ) -> Result<RunReport> {
        let mut instance = ComponentInstance::new(replay.clone(), storage, clock.clone())?;
        instance.log_exports();
        let settings = self.scenario.settings.to_wit();

        let mut steps = Vec::new();
        let mut problems = Vec::new();
        // The host's side of the import: the checkpoint stored with the last batch.
        let mut checkpoint: Option<String> = None;
        for (index, step) in self.scenario.steps.iter().enumerate() {
            if let Some(at) = step.at {
                clock.set(at);
            }
            let at = clock.now();
            let (outcome, record) = match step.call {
                Call::Connect => {
                    let (result, record) = instance.connect(&settings)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::ImportOrders => {
                    let (result, record) =
                        instance.import_orders(&settings, checkpoint.as_deref())?;
                    if let Ok(batch) = &result {
                        checkpoint = Some(batch.checkpoint.clone());
                    }
                    (Outcome::from_result(step.call, result), record)
                }
                Call::OnLabelCreated => {
                    let labels: Vec<_> = step.labels.iter().map(Label::to_wit).collect();
                    let (result, record) = instance.on_label_created(&settings, &labels)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::Subscribe => {
                    let queue = step.queue_arn.clone().unwrap_or_default();
                    let (result, record) = instance.subscribe(&settings, &queue)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::TakeNotifications => {
                    let (result, record) =
                        instance.take_notifications(&settings, &step.messages)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::RedactionAudit => {
                    let order_id = step.order_id.clone().unwrap_or_default();
                    let (result, record) = instance.redaction_audit(&order_id)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::OnDelivered => {
                    let events: Vec<_> = step.deliveries.iter().map(Delivery::to_wit).collect();
                    let (result, record) = instance.on_delivered(&events)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::SendQueuedNotifications => {
                    let (result, record) = instance.send_queued_notifications(&settings)?;
                    (Outcome::from_result(step.call, result), record)
                }
                Call::Redact => {
                    let (result, record) = instance.redact()?;
                    if step.acknowledge
                        && let Ok(directives) = &result
                        && !directives.is_empty()
                    {
                        let ids: Vec<String> = directives.iter().map(|d| d.id.clone()).collect();
                        if let (Err(error), _) = instance.acknowledge_redactions(&ids)? {
                            problems.push(format!(
                                "step {}: acknowledging the directives failed: {error:?}",
                                index + 1
                            ));
                        }
                    }
                    (Outcome::from_result(step.call, result), record)
                }
            };
            let label = format!(
                "step {} ({})",
                index + 1,
                serde_json::to_string(&step.call)?.trim_matches('"')
            );
            problems.extend(record.failures.iter().map(|f| format!("{label}: {f}")));
            if let Some(expected) = &step.expect
                && expected != outcome.case()
            {
                problems.push(format!(
                    "{label}: expected {expected}, got {}",
                    outcome.case()
                ));
            }
            steps.push(StepReport {
                call: step.call,
                at,
                outcome,
                expected: step.expect.clone(),
                record,
            });
        }
        let finished = replay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish()
            .context("the Amazon kept no account of its recordings")?;
        problems.extend(finished.unused);
        Ok(RunReport {
            description: self.scenario.description.clone(),
            steps,
            exchanges_used: finished.used,
            exchanges_recorded: finished.recorded,
            problems,
            exports: instance.export_log().cloned().unwrap_or_default(),
        })
    }
}
