//! A replayed session for people: each step with its exchanges, log lines and a
//! summary of what it returned (counts and ids, never buyer data).

use std::fmt;

use serde_json::Value;

use super::{Call, Outcome, RunReport, StepReport};

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self;
        for (index, step) in report.steps.iter().enumerate() {
            print_step(f, index + 1, step)?;
        }
        writeln!(
            f,
            "Replay: {} of {} recorded exchanges used.",
            report.exchanges_used, report.exchanges_recorded
        )?;
        if report.passed() {
            writeln!(f, "Every step returned what the scenario expects.")?;
        } else {
            writeln!(f, "FAILED:")?;
            for problem in &report.problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        Ok(())
    }
}

fn print_step(f: &mut fmt::Formatter<'_>, number: usize, step: &StepReport) -> fmt::Result {
    let call = serde_json::to_value(step.call).ok();
    let name = call.as_ref().and_then(Value::as_str).unwrap_or("?");
    writeln!(
        f,
        "{number}. {name}  (clock {})",
        step.at.format("%Y-%m-%d %H:%M UTC")
    )?;
    for exchange in &step.record.exchanges {
        let status = exchange
            .status
            .map_or("no recording".to_owned(), |s| s.to_string());
        writeln!(f, "   {:<4} {} -> {status}", exchange.method, exchange.url)?;
    }
    for line in &step.record.logs {
        writeln!(f, "   log {}: {}", line.level, line.message)?;
    }
    match &step.outcome {
        Outcome::Err { case, error } => writeln!(f, "   => error {case}: {}", compact(error)),
        Outcome::Ok(value) => match step.call {
            Call::Connect => describe_connection(f, value),
            Call::ImportOrders => describe_import(f, value),
            Call::OnLabelCreated => describe_outcomes(f, value),
            Call::SendQueuedNotifications => {
                describe_outcomes(f, &value["outcomes"])?;
                writeln!(
                    f,
                    "   => {} still queued, next delivery after {}",
                    value["pending"],
                    text(value, &["next-call-after"])
                )
            }
            Call::Redact => describe_directives(f, value),
            Call::OnDelivered => writeln!(f, "   => recorded"),
            Call::Subscribe => writeln!(
                f,
                "   => subscription {} to destination {}",
                text(value, &["subscription-id"]),
                text(value, &["destination-id"])
            ),
            Call::TakeNotifications => {
                let outcomes = value["outcomes"].as_array().map_or(0, Vec::len);
                writeln!(
                    f,
                    "   => {outcomes} messages, import after {}",
                    text(value, &["import-after"])
                )
            }
            Call::RedactionAudit => {
                for entry in value.as_array().into_iter().flatten() {
                    writeln!(
                        f,
                        "   => {} due {}{}",
                        text(entry, &["directive", "id"]),
                        text(entry, &["directive", "due-at"]),
                        if entry["acknowledged"] == true {
                            ", acknowledged"
                        } else {
                            ""
                        }
                    )?;
                }
                Ok(())
            }
        },
    }?;
    writeln!(f)
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

fn describe_connection(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    writeln!(
        f,
        "   => seller {}, selling plan {}",
        text(value, &["seller-id"]),
        wit_text(&value["selling-plan"]),
    )?;
    for source in value["sources"].as_array().into_iter().flatten() {
        writeln!(
            f,
            "      order source: store \"{}\" on {} ({}, {}, {})",
            text(source, &["store-name"]),
            text(source, &["marketplace", "name"]),
            text(source, &["marketplace", "country-code"]),
            text(source, &["marketplace", "currency-code"]),
            text(source, &["marketplace", "domain"]),
        )?;
    }
    let others: Vec<String> = value["marketplaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| format!("{} ({})", text(m, &["name"]), text(m, &["id"])))
        .collect();
    writeln!(f, "      the seller participates in: {}", others.join(", "))?;
    writeln!(f, "      capabilities: {}", compact(&value["capabilities"]))?;
    Ok(())
}

fn describe_import(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    let orders = value["orders"].as_array().cloned().unwrap_or_default();
    writeln!(
        f,
        "   => {} order(s), {} skipped, more pages: {}, next call after {}",
        orders.len(),
        value["skipped"].as_array().map_or(0, Vec::len),
        value["more"],
        text(value, &["next-call-after"]),
    )?;
    // Counts and ids only: the demo never prints buyer data.
    for order in &orders {
        writeln!(
            f,
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
        )?;
        for item in order["items"].as_array().into_iter().flatten() {
            writeln!(
                f,
                "         {} x{} @ {} {}",
                text(item, &["product-id"]),
                item["quantity"],
                text(item, &["unit-price", "amount"]),
                text(item, &["unit-price", "currency-code"]),
            )?;
        }
    }
    Ok(())
}

fn describe_outcomes(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    for outcome in value.as_array().into_iter().flatten() {
        writeln!(
            f,
            "   => label {} / order {}: {}",
            text(outcome, &["label-id"]),
            text(outcome, &["order-id"]),
            wit_text(&outcome["outcome"]),
        )?;
    }
    Ok(())
}

fn describe_directives(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    let directives = value.as_array().cloned().unwrap_or_default();
    if directives.is_empty() {
        writeln!(f, "   => nothing due yet")?;
    }
    for directive in &directives {
        writeln!(
            f,
            "   => redact {} with \"{}\" ({}): {}",
            wit_text(&directive["target"]),
            text(directive, &["replacement"]),
            wit_text(&directive["rule"]),
            wit_text(&directive["fields"]),
        )?;
    }
    Ok(())
}
