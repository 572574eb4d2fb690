//! The `_scenario` block of a session the host ran against any Amazon (the
//! simulator, a live one): its export calls, from the instance's [`ExportLog`],
//! in the format [`super::Scenario`] reads. With the scrubbed exchanges beside
//! it, the file is a fixture that replays strictly.
//!
//! Only what the format can say is written: one order source, settings that do
//! not change, each import continuing from the last batch's checkpoint, every
//! directive of a `redact` acknowledged at once or none. A session that did
//! something else (a crash) gets the reason instead.

use serde_json::{Value, json};

use super::error_case;
use crate::embed::export_log::{ExportCall, ExportLog};
use crate::embed::runtime::bindings as wit;

/// Why a session cannot be a scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session cannot be replayed as a scenario: {0}")]
pub struct Unreplayable(pub String);

fn unreplayable(reason: impl Into<String>) -> Unreplayable {
    Unreplayable(reason.into())
}

/// The `_scenario` JSON of `log`, described as `description`.
pub fn scenario(log: &ExportLog, description: &str) -> Result<Value, Unreplayable> {
    let settings = settings(&log.calls)?;
    let mut steps = Vec::new();
    let mut last_checkpoint: Option<String> = None;
    let mut calls = log.calls.iter().peekable();
    while let Some(call) = calls.next() {
        let mut step = json!({
            "call": call.export,
            "at": call.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "expect": expected_case(call)?,
        });
        match call.export {
            "connect" | "send-queued-notifications" => {}
            "import-orders" => {
                let passed: Option<String> = argument(call, 1)?;
                if passed != last_checkpoint {
                    return Err(unreplayable(
                        "an import did not continue from the last batch's checkpoint (a host crash)",
                    ));
                }
                if let Some(batch) = call.result.get("Ok") {
                    last_checkpoint = batch["checkpoint"].as_str().map(str::to_owned);
                }
            }
            "on-label-created" => {
                let labels: Vec<wit::LabelEvent> = argument(call, 1)?;
                step["labels"] = labels.iter().map(label).collect::<Result<_, _>>()?;
            }
            "on-delivered" => {
                let deliveries: Vec<wit::DeliveryEvent> = argument(call, 0)?;
                step["deliveries"] = deliveries
                    .iter()
                    .map(|d| {
                        json!({"labelId": d.label_id, "orderId": d.order_id,
                               "deliveredAt": rfc3339(&d.delivered_at)})
                    })
                    .collect();
            }
            "redaction-audit" => step["orderId"] = json!(argument::<String>(call, 0)?),
            "subscribe" => step["queueArn"] = json!(argument::<String>(call, 1)?),
            "take-notifications" => step["messages"] = json!(argument::<Vec<String>>(call, 1)?),
            "redact" => {
                let directives: Vec<String> = call.result["Ok"]
                    .as_array()
                    .map(|all| {
                        all.iter()
                            .filter_map(|d| d["id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let acknowledged = match calls.peek() {
                    Some(next) if next.export == "acknowledge-redactions" => {
                        let ids: Vec<String> = argument(next, 0)?;
                        if ids != directives {
                            return Err(unreplayable(
                                "an acknowledgement of some directives of a redact, not all",
                            ));
                        }
                        calls.next();
                        true
                    }
                    _ => directives.is_empty(),
                };
                step["acknowledge"] = json!(acknowledged);
            }
            other => {
                return Err(unreplayable(format!(
                    "`{other}` is not a step the scenario format has"
                )));
            }
        }
        steps.push(step);
    }
    let start = log
        .calls
        .first()
        .map(|c| c.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    Ok(json!({
        "description": description,
        "settings": settings,
        "startTime": start,
        "recordedTime": true,
        "steps": steps,
    }))
}

/// The one source's settings, the same in every call.
fn settings(calls: &[ExportCall]) -> Result<Value, Unreplayable> {
    let mut with_settings = calls.iter().filter(|c| {
        !matches!(
            c.export,
            "redact" | "on-delivered" | "redaction-audit" | "acknowledge-redactions" | "restart"
        )
    });
    let Some(first) = with_settings.next() else {
        return Err(unreplayable("no call took the connection's settings"));
    };
    if with_settings.any(|c| c.arguments.first() != first.arguments.first()) {
        return Err(unreplayable("the settings changed between calls"));
    }
    let settings: wit::ConnectionSettings = argument(first, 0)?;
    let [source] = settings.sources.as_slice() else {
        return Err(unreplayable(format!(
            "a scenario has one order source; the session had {}",
            settings.sources.len()
        )));
    };
    let region = settings.region.map(|region| match region {
        wit::Region::NorthAmerica => "north-america",
        wit::Region::Europe => "europe",
        wit::Region::FarEast => "far-east",
    });
    Ok(json!({
        "marketplaceId": source.marketplace_id,
        "sellerId": settings.credentials.seller_id,
        "region": region,
        "sandbox": settings.sandbox,
        "productIdentifier": match source.product_identifier {
            wit::ProductIdentifier::Sku => "sku",
            wit::ProductIdentifier::Asin => "asin",
        },
        "importFbaOrders": source.import_fba_orders,
        "japanKanjiAddresses": source.japan_kanji_addresses,
        "carrierCodes": source.carrier_codes,
    }))
}

/// `ok`, or the case of the error the call returned.
fn expected_case(call: &ExportCall) -> Result<String, Unreplayable> {
    if call.result.get("Ok").is_some() {
        return Ok("ok".into());
    }
    let error: wit::Error = serde_json::from_value(call.result["Err"].clone())
        .map_err(|e| unreplayable(format!("{}'s error does not read back: {e}", call.export)))?;
    Ok(error_case(&error).to_owned())
}

fn argument<T: serde::de::DeserializeOwned>(
    call: &ExportCall,
    index: usize,
) -> Result<T, Unreplayable> {
    let value = call.arguments.get(index).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| {
        unreplayable(format!(
            "argument {index} of {} does not read back: {e}",
            call.export
        ))
    })
}

fn rfc3339(at: &wit::Datetime) -> String {
    crate::embed::time(at).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A label as the scenario's `labels` spell it.
fn label(label: &wit::LabelEvent) -> Result<Value, Unreplayable> {
    if label.carrier_fee.is_some() {
        return Err(unreplayable("a label with a carrier fee"));
    }
    Ok(json!({
        "labelId": label.label_id,
        "orders": label.orders.iter().map(|o| json!({
            "orderId": o.order_id,
            "marketplaceId": o.marketplace_id,
            "items": o.items.iter().map(|i| json!({"orderItemId": i.order_item_id, "quantity": i.quantity})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "carrierCode": label.carrier_code,
        "carrierName": label.carrier_name,
        "service": label.service,
        "trackingNumber": label.tracking_number,
        "shipDate": rfc3339(&label.ship_date),
        "createdAt": rfc3339(&label.created_at),
        "automaticTracking": label.automatic_tracking,
        "batchId": label.batch_id,
    }))
}
