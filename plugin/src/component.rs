//! The wasm adapter: `Host` over WASI, and WIT types to and from domain types.
//! No Amazon logic lives here.

use chrono::{DateTime, TimeZone, Utc};

use crate::host::{Host, HttpRequest, HttpResponse};
use crate::model;

mod convert;
mod http;

use convert::wit_datetime;

#[allow(clippy::too_many_arguments)] // generated code
mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "order-source",
        generate_all,
    });
}

/// The WIT's records and variants in one namespace, whichever interface declares
/// them. Each interface re-declares the shared types it uses, so those are named
/// explicitly (an explicit name outranks the globs).
mod wit {
    pub use super::bindings::exports::marketplace::amazon::types::{
        AmazonError, ConnectionSettings, Error, InvalidInput, Money,
    };
    pub use super::bindings::exports::marketplace::amazon::{
        connection::*, order_events::*, orders::*, redaction::*, shipping::*, types::*,
    };
}

use bindings::exports::marketplace::amazon as exports;
use bindings::wasi::clocks::wall_clock;
use bindings::wasi::keyvalue::store as kv;
use bindings::wasi::logging::logging;

/// The guest's allocator: talc, in place of the standard library's dlmalloc. Import
/// allocates a little for every field of every order, and talc is both faster and
/// smaller (the component has no threads, so no lock is needed).
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

struct Component;
bindings::export!(Component with_types_in bindings);

impl exports::connection::Guest for Component {
    fn connect(settings: wit::ConnectionSettings) -> Result<wit::ConnectionInfo, wit::Error> {
        let host = WasiHost::open()?;
        crate::connect(&host, &convert::connection_settings(settings))
            .map(Into::into)
            .map_err(Into::into)
    }
}

impl exports::orders::Guest for Component {
    fn import_orders(
        settings: wit::ConnectionSettings,
        checkpoint: Option<String>,
    ) -> Result<wit::ImportBatch, wit::Error> {
        let host = WasiHost::open()?;
        let settings = convert::connection_settings(settings);
        crate::import_orders(&host, &settings, checkpoint.as_deref())
            .map(Into::into)
            .map_err(Into::into)
    }
}

impl exports::order_events::Guest for Component {
    fn take_notifications(
        settings: wit::ConnectionSettings,
        messages: Vec<String>,
    ) -> Result<wit::TakenNotifications, wit::Error> {
        let host = WasiHost::open()?;
        let settings = convert::connection_settings(settings);
        crate::events::take_notifications(&host, &settings, &messages)
            .map(|taken| wit::TakenNotifications {
                outcomes: taken.outcomes.into_iter().map(Into::into).collect(),
                import_after: taken.import_after.map(wit_datetime),
            })
            .map_err(Into::into)
    }

    fn subscribe(
        settings: wit::ConnectionSettings,
        queue_arn: String,
    ) -> Result<wit::Subscription, wit::Error> {
        let host = WasiHost::open()?;
        let settings = convert::connection_settings(settings);
        crate::events::subscribe::subscribe(&host, &settings, &queue_arn)
            .map(|s| wit::Subscription {
                subscription_id: s.subscription_id,
                destination_id: s.destination_id,
                created: s.created,
            })
            .map_err(Into::into)
    }
}

impl exports::shipping::Guest for Component {
    fn on_label_created(
        settings: wit::ConnectionSettings,
        labels: Vec<wit::LabelEvent>,
    ) -> Result<Vec<wit::NotificationOutcome>, wit::Error> {
        let host = WasiHost::open()?;
        let settings = convert::connection_settings(settings);
        let labels: Vec<model::LabelEvent> = labels.into_iter().map(Into::into).collect();
        crate::on_label_created(&host, &settings, &labels)
            .map(|outcomes| outcomes.into_iter().map(Into::into).collect())
            .map_err(Into::into)
    }

    fn send_queued_notifications(
        settings: wit::ConnectionSettings,
    ) -> Result<wit::NotificationReport, wit::Error> {
        let host = WasiHost::open()?;
        let settings = convert::connection_settings(settings);
        crate::notify::send_queued_notifications(&host, &settings)
            .map(|report| wit::NotificationReport {
                outcomes: report.outcomes.into_iter().map(Into::into).collect(),
                pending: report.pending,
                next_call_after: report.next_call_after.map(wit_datetime),
            })
            .map_err(Into::into)
    }
}

impl exports::redaction::Guest for Component {
    fn on_delivered(events: Vec<wit::DeliveryEvent>) -> Result<(), wit::Error> {
        let host = WasiHost::open()?;
        let events: Vec<model::DeliveryEvent> = events.into_iter().map(Into::into).collect();
        crate::redact::on_delivered(&host, &events).map_err(Into::into)
    }

    fn redaction_audit(order_id: String) -> Result<Vec<wit::RedactionAuditEntry>, wit::Error> {
        let host = WasiHost::open()?;
        crate::redact::audit(&host, &order_id)
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| wit::RedactionAuditEntry {
                        directive: e.directive.into(),
                        acknowledged: e.acknowledged,
                    })
                    .collect()
            })
            .map_err(Into::into)
    }

    fn acknowledge_redactions(ids: Vec<String>) -> Result<(), wit::Error> {
        let host = WasiHost::open()?;
        crate::redact::acknowledge(&host, &ids).map_err(Into::into)
    }

    fn redact() -> Result<Vec<wit::RedactionDirective>, wit::Error> {
        let host = WasiHost::open()?;
        crate::redact(&host)
            .map(|directives| directives.into_iter().map(Into::into).collect())
            .map_err(Into::into)
    }
}

// ------------------------------------------------------------------------ host

/// WASI capabilities for one export call.
struct WasiHost {
    bucket: kv::Bucket,
}

/// The years the host's clock may read. Every schedule adds weeks to "now": a clock
/// at the end of chrono's range would overflow, one at 1970 means the host has no
/// clock, and either would misplace every date the component keeps.
const SANE_YEARS: std::ops::RangeInclusive<i32> = 2000..=9999;

impl WasiHost {
    fn open() -> Result<Self, wit::Error> {
        install_logger();
        let now = wall_clock::now();
        let year = Utc
            .timestamp_opt(now.seconds as i64, 0)
            .single()
            .map(|t| chrono::Datelike::year(&t));
        if !year.is_some_and(|y| SANE_YEARS.contains(&y)) {
            return Err(wit::Error::InvalidInput(wit::InvalidInput {
                field: "wasi:clocks/wall-clock".into(),
                reason: format!(
                    "the host's clock reads {} seconds after 1970, outside the years 2000 to 9999",
                    now.seconds
                ),
            }));
        }
        let bucket = kv::open("").map_err(|e| wit::Error::Storage(kv_error(e)))?;
        Ok(Self { bucket })
    }
}

fn kv_error(error: kv::Error) -> String {
    match error {
        kv::Error::NoSuchStore => "the host has no default key-value bucket".into(),
        kv::Error::AccessDenied => "the host denied access to the key-value bucket".into(),
        kv::Error::Other(message) => message,
    }
}

impl Host for WasiHost {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        http::send(request)
    }

    fn now(&self) -> DateTime<Utc> {
        let now = wall_clock::now();
        Utc.timestamp_opt(now.seconds as i64, now.nanoseconds)
            .single()
            .unwrap_or_default()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.bucket.get(key).map_err(kv_error)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.bucket.set(key, value).map_err(kv_error)
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        self.bucket.delete(key).map_err(kv_error)
    }
}

// --------------------------------------------------------------------- logging

struct WasiLogger;

impl log::Log for WasiLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = match record.level() {
            log::Level::Error => logging::Level::Error,
            log::Level::Warn => logging::Level::Warn,
            log::Level::Info => logging::Level::Info,
            log::Level::Debug => logging::Level::Debug,
            log::Level::Trace => logging::Level::Trace,
        };
        logging::log(level, "amazon-marketplace", &record.args().to_string());
    }

    fn flush(&self) {}
}

fn install_logger() {
    static LOGGER: WasiLogger = WasiLogger;
    // Already installed on the second call of an instance: that is fine.
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}
