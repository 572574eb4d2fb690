//! A recorded session is a fixture: what `simulate --record` writes holds no
//! secret and no buyer value, conforms, and replays strictly to the same results.

use std::collections::HashMap;

use serde_json::Value;

use test_host::drive::scenario::Session;
use test_host::drive::simulate::{self, Options};

/// Text that marks a simulated buyer value or a placeholder credential.
const MARKERS: [&str; 6] = [
    "Simulated Buyer",
    "Simulated Way",
    "@marketplace.amazon.com",
    "placeholder-client-secret",
    "Atzr|placeholder",
    "X-Amz-Signature=sim",
];

fn recorded(options: Options) -> (simulate::Run, String) {
    let run = simulate::run(&Options {
        record: true,
        ..options
    })
    .unwrap();
    let text = serde_json::to_string_pretty(run.har.as_ref().unwrap()).unwrap();
    (run, text)
}

#[test]
fn a_simulated_session_replays_strictly_to_the_same_results() {
    // Import while the world changes, and ship in batches (by feed).
    let (run, text) = recorded(Options {
        orders: 400,
        changes: 0.2,
        ship: Some(600.0),
        batch: 300,
        seed: 3,
        ..Options::default()
    });
    assert_eq!(run.unreplayable, None);
    let session = Session::from_json(&text).unwrap();
    let replayed = session.run().unwrap();
    assert!(replayed.passed(), "{:#?}", replayed.problems);
    assert_eq!(replayed.exchanges_used, replayed.exchanges_recorded);
    // Every call returned what it returned against the simulator.
    let simulated = &run.exports.as_ref().unwrap().calls;
    assert!(simulated.len() > 10, "{} calls", simulated.len());
    assert_same_results(simulated, &replayed.exports.calls, &run.placeholders);
}

/// Each call returned the same, but for the buyer values the recording replaced.
fn assert_same_results(
    simulated: &[test_host::embed::export_log::ExportCall],
    again: &[test_host::embed::export_log::ExportCall],
    placeholders: &HashMap<String, String>,
) {
    assert_eq!(simulated.len(), again.len());
    for (call, (first, second)) in simulated.iter().zip(again).enumerate() {
        assert_eq!(first.export, second.export, "call {call}");
        let expected = placeholders_for(first.result.clone(), placeholders);
        assert!(
            expected == second.result,
            "call {call} ({}) differs",
            first.export
        );
    }
}

#[test]
fn a_session_taking_order_events_replays_strictly_to_the_same_results() {
    let (run, text) = recorded(Options {
        orders: 300,
        changes: 0.5,
        order_events: true,
        seed: 1,
        ..Options::default()
    });
    assert_eq!(run.unreplayable, None);
    let replayed = Session::from_json(&text).unwrap().run().unwrap();
    assert!(replayed.passed(), "{:#?}", replayed.problems);
    let simulated = &run.exports.as_ref().unwrap().calls;
    assert!(
        simulated.iter().any(|c| c.export == "take-notifications"),
        "the seller took notifications"
    );
    assert_same_results(simulated, &replayed.exports.calls, &run.placeholders);
}

#[test]
fn a_recording_holds_no_secret_and_no_buyer_value() {
    let (_, text) = recorded(Options {
        orders: 300,
        ship: Some(600.0),
        batch: 200,
        seed: 5,
        ..Options::default()
    });
    for marker in MARKERS {
        assert!(!text.contains(marker), "{marker} is in the recording");
    }
    assert!(
        text.contains("redacted-name-"),
        "buyer names became placeholders"
    );
}

/// `value` with every string the recording replaced as its placeholder.
fn placeholders_for(value: Value, placeholders: &HashMap<String, String>) -> Value {
    match value {
        Value::String(text) => Value::String(placeholders.get(&text).cloned().unwrap_or(text)),
        Value::Array(items) => items
            .into_iter()
            .map(|v| placeholders_for(v, placeholders))
            .collect(),
        Value::Object(members) => members
            .into_iter()
            .map(|(k, v)| (k, placeholders_for(v, placeholders)))
            .collect(),
        other => other,
    }
}
