//! The real component in wasmtime, against every recorded session in fixtures/.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};
use test_host::drive::scenario::{Outcome, RunReport, Session};
use test_host::embed::kv::SqliteStorage;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// A fixture's replay, which must pass. Each fixture is replayed once per test
/// process and its report shared by the tests that read it.
fn run(name: &str) -> &'static RunReport {
    static REPLAYED: OnceLock<Mutex<BTreeMap<String, &'static RunReport>>> = OnceLock::new();
    let replayed = REPLAYED.get_or_init(Default::default);
    if let Some(report) = replayed.lock().unwrap().get(name) {
        return report;
    }
    let report = Session::from_file(&fixtures().join(name))
        .unwrap()
        .run()
        .unwrap();
    assert!(report.passed(), "{name}: {:#?}", report.problems);
    let report: &'static RunReport = Box::leak(Box::new(report));
    replayed
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_insert(report)
}

fn ok(report: &RunReport, step: usize) -> &Value {
    match &report.steps[step].outcome {
        Outcome::Ok(value) => value,
        other => panic!("step {step}: {other:?}"),
    }
}

fn error(report: &RunReport, step: usize) -> (&str, &Value) {
    match &report.steps[step].outcome {
        Outcome::Err { case, error } => (case.as_str(), error),
        other => panic!("step {step}: {other:?}"),
    }
}

/// Every fixture has a test below; a new recording without one fails here.
const FIXTURES: &[&str] = &[
    "connect-forbidden.har",
    "connect-individual-plan.har",
    "connect-invalid-grant.har",
    "connect-japan-without-kanji.har",
    "connect-not-participating.har",
    "connect-success.har",
    "demo.har",
    "faults/connect-truncated-response.har",
    "faults/import-unknown-status.har",
    "import-brazil.har",
    "import-japan-kanji.har",
    "import-japan-without-kanji.har",
    "import-order-content.har",
    "import-two-pages.har",
    "label-batch-compressed-report.har",
    "label-confirmed.har",
    "label-many-lines.har",
    "label-already-at-amazon.har",
    "label-rejected.har",
    "label-second-labels.har",
    "label-split-and-combined.har",
    "label-store-carrier-list.har",
    "label-throttled-then-delivered.har",
    "redaction-after-delivery.har",
    "redaction-until-acknowledged.har",
];

#[test]
fn every_fixture_has_a_test_and_replays_exactly() {
    let mut found = BTreeSet::new();
    for dir in [fixtures(), fixtures().join("faults")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "har") {
                found.insert(
                    path.strip_prefix(fixtures())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let known: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(found, known, "fixtures and the FIXTURES list differ");
    // A test of its own reads each fixture: its name appears in this file outside
    // the list above.
    let source = include_str!("replay.rs");
    for name in FIXTURES {
        assert!(
            source.matches(&format!("\"{name}\"")).count() >= 2,
            "{name} has no test of its own"
        );
        run(name);
    }
}

#[test]
fn connect_returns_the_order_source_every_marketplace_and_capabilities() {
    let report = run("connect-success.har");
    let connection = ok(report, 0);
    assert_eq!(connection["sources"][0]["store-name"], "BestSellerStore");
    assert_eq!(
        connection["sources"][0]["marketplace"]["currency-code"],
        "USD"
    );
    assert_eq!(
        connection["sources"][0]["marketplace"]["domain"],
        "www.amazon.com"
    );
    let ids: Vec<&str> = connection["marketplaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"]);
    assert_eq!(connection["selling-plan"], "professional");
    assert_eq!(connection["capabilities"]["marketplace-emails-buyer"], true);
    let methods: Vec<&str> = report.steps[0]
        .record
        .exchanges
        .iter()
        .map(|e| e.method.as_str())
        .collect();
    assert_eq!(methods, ["POST", "GET", "GET"]);
}

#[test]
fn connect_errors_are_typed() {
    let report = run("connect-invalid-grant.har");
    let (case, detail) = error(report, 0);
    assert_eq!(case, "reauthorization-required");
    assert_eq!(detail["reauthorization-required"]["code"], "invalid_grant");

    let report = run("connect-forbidden.har");
    let (case, detail) = error(report, 0);
    assert_eq!(case, "access-denied");
    assert_eq!(detail["access-denied"]["status"], 403);
    assert_eq!(
        detail["access-denied"]["request-id"],
        "00000000-0000-4000-8000-000000000002"
    );

    let report = run("connect-not-participating.har");
    let (case, detail) = error(report, 0);
    assert_eq!(case, "marketplace-not-participating");
    assert_eq!(
        detail["marketplace-not-participating"],
        json!({"requested": "A2EUQ1WTGCTBG2", "participating": ["ATVPDKIKX0DER"]})
    );

    let report = run("connect-individual-plan.har");
    assert_eq!(error(report, 0).0, "not-professional-seller");

    let report = run("connect-japan-without-kanji.har");
    assert_eq!(error(report, 0).0, "kanji-addresses-required");
    assert!(
        report.steps[0].record.exchanges.is_empty(),
        "refused before any Amazon call"
    );

    let report = run("faults/connect-truncated-response.har");
    let (case, detail) = error(report, 0);
    assert_eq!(case, "malformed-response");
    let detail = detail["malformed-response"]["detail"].as_str().unwrap();
    assert!(detail.starts_with("truncated JSON"), "{detail}");
}

#[test]
fn import_maps_orders_and_pages_with_the_same_filters() {
    let report = run("import-two-pages.har");
    let first = ok(report, 0);
    assert_eq!(first["more"], true);
    let order = &first["orders"][0];
    assert_eq!(order["order-id"], "113-0000001-0000001");
    assert_eq!(order["status"], "awaiting-shipment");
    assert_eq!(order["ship-by"], "2026-11-23T00:00:00Z");
    assert_eq!(order["items"][0]["product-id"], "ECHO-DOT-4-CHARCOAL");
    assert_eq!(order["items"][0]["quantity"], 2);
    assert_eq!(
        order["items"][0]["unit-price"],
        json!({"amount": "49.99", "currency-code": "USD"})
    );
    assert_eq!(order["order-total"]["amount"], "154.99");
    assert_eq!(order["is-gift"], true);
    assert_eq!(order["internal-notes"], "Amazon Prime; Amazon Business");

    let second = ok(report, 1);
    assert_eq!(second["more"], false);
    assert_eq!(second["orders"][0]["status"], "awaiting-payment");
    assert!(
        second["orders"][0]["ship-to"].is_null(),
        "Amazon withholds the address of pending orders"
    );
    assert!(
        report.steps[1].record.exchanges[0]
            .url
            .contains("paginationToken=")
    );
}

#[test]
fn a_label_is_confirmed_once_and_a_rejection_is_reported() {
    let report = run("label-confirmed.har");
    assert_eq!(ok(report, 0)[0]["outcome"], "sent");
    assert_eq!(
        ok(report, 1)[0]["outcome"],
        json!({"not-sent": "already-notified"})
    );
    assert!(report.steps[1].record.exchanges.is_empty());

    let report = run("label-already-at-amazon.har");
    assert_eq!(
        ok(report, 0)[0]["outcome"],
        "sent",
        "Amazon's PACKAGES data has this tracking"
    );
    let report = run("label-rejected.har");
    let rejected = &ok(report, 0)[0]["outcome"]["not-sent"]["rejected"];
    assert_eq!(rejected["status"], 400);
    assert_eq!(rejected["code"], "Invalid Input");
}

#[test]
fn a_store_s_own_carrier_list_names_the_carrier_as_the_list_spells_it() {
    // The replay matches each confirmShipment body exactly: "deutsche post" went as
    // the store's "Deutsche Post", and UPS, not on the store's list, as Other.
    let report = run("label-store-carrier-list.har");
    let outcomes = ok(report, 0).as_array().unwrap();
    assert_eq!(outcomes.len(), 2);
    for outcome in outcomes {
        assert_eq!(outcome["outcome"], "sent", "{outcome}");
    }
    let confirmations = report.steps[0]
        .record
        .exchanges
        .iter()
        .filter(|e| e.url.ends_with("/shipmentConfirmation"))
        .count();
    assert_eq!(confirmations, 2);
}

#[test]
fn the_demo_redacts_on_the_seeds_schedule() {
    let report = run("demo.har");
    assert!(
        ok(report, 4).as_array().unwrap().is_empty(),
        "day 13: nothing due"
    );
    let day_15 = ok(report, 5).as_array().unwrap().clone();
    assert_eq!(
        day_15.len(),
        2,
        "the unshipped order: its order and customer records"
    );
    assert!(
        day_15
            .iter()
            .all(|d| d["rule"] == "unshipped-after-import"
                && d["replacement"] == "REDACTED (Amazon)")
    );
    let day_33 = ok(report, 6).as_array().unwrap().clone();
    assert_eq!(
        day_33.len(),
        4,
        "the shipped order: order, customer and label; and the second label, never sent"
    );
    for label in ["L-1001", "L-1002"] {
        assert!(
            day_33
                .iter()
                .any(|d| d["target"] == json!({"label": label})),
            "{label}"
        );
    }
}

fn with_entries(name: &str, edit: impl FnOnce(&mut Vec<Value>)) -> Session {
    let mut har: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap();
    edit(har["log"]["entries"].as_array_mut().unwrap());
    Session::from_json(&har.to_string()).unwrap()
}

#[test]
fn a_request_with_no_recording_fails_the_run_and_is_named() {
    let session = with_entries("connect-success.har", |entries| {
        entries.pop(); // getAccount
    });
    let report = session.run().unwrap();
    assert!(!report.passed());
    let problem = report
        .problems
        .iter()
        .find(|p| p.contains("no recorded response"))
        .expect("named");
    assert!(
        problem.contains("GET https://sellingpartnerapi-na.amazon.com/sellers/v1/account"),
        "{problem}"
    );
    assert_eq!(report.steps[0].outcome.case(), "transport");
}

#[test]
fn a_recording_left_unused_fails_the_run() {
    let session = with_entries("connect-success.har", |entries| {
        let extra = entries[1].clone();
        entries.push(extra);
    });
    let report = session.run().unwrap();
    assert!(!report.passed());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("never requested") && p.contains("marketplaceParticipations")),
        "{:?}",
        report.problems
    );
}

#[test]
fn imports_are_wasi_only_and_exports_are_the_contract_s_interfaces() {
    let (engine, component) = test_host::embed::runtime::component_type().unwrap();
    let imports: Vec<String> = component
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(!imports.is_empty());
    for name in &imports {
        assert!(name.starts_with("wasi:"), "non-WASI import {name}");
    }
    for required in [
        "wasi:http/outgoing-handler",
        "wasi:keyvalue/store",
        "wasi:logging/logging",
    ] {
        assert!(
            imports.iter().any(|i| i.starts_with(required)),
            "{required} missing from {imports:?}"
        );
    }
    // Exactly the contract's interfaces and in each exactly its functions.
    use wasmtime::component::types::ComponentItem;
    let mut exports: Vec<(String, Vec<String>)> = Vec::new();
    for (name, item) in component.exports(&engine) {
        let ComponentItem::ComponentInstance(interface) = item.ty else {
            panic!("{name} is exported outside an interface");
        };
        let funcs = interface
            .exports(&engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
            .map(|(func, _)| func.to_owned())
            .collect();
        exports.push((name.to_owned(), funcs));
    }
    let interface = |name: &str, funcs: &[&str]| {
        (
            format!("marketplace:amazon/{name}@0.3.0"),
            funcs.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        exports,
        [
            interface("types", &[]),
            interface("connection", &["connect"]),
            interface("orders", &["import-orders"]),
            interface("order-events", &["subscribe", "take-notifications"]),
            interface(
                "shipping",
                &["on-label-created", "send-queued-notifications"]
            ),
            interface(
                "redaction",
                &[
                    "redact",
                    "on-delivered",
                    "redaction-audit",
                    "acknowledge-redactions"
                ]
            ),
        ]
    );
}

#[test]
fn storage_keeps_no_secret_and_no_buyer_data() {
    let path = std::env::temp_dir().join(format!("amazon-storage-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let session = Session::from_file(&fixtures().join("demo.har")).unwrap();
    let report = session
        .run_with_storage(SqliteStorage::open(&path).unwrap())
        .unwrap();
    assert!(report.passed());
    let entries = SqliteStorage::open(&path).unwrap().entries("").unwrap();
    assert!(
        entries.iter().any(|(key, _)| key == "pacing/searchOrders"),
        "state persisted: {entries:?}"
    );
    // The checkpoints the host stores are held to the same rule.
    let checkpoints = report.steps.iter().filter_map(|step| match &step.outcome {
        test_host::drive::scenario::Outcome::Ok(value) => value.get("checkpoint").cloned(),
        _ => None,
    });
    let checkpoints: Vec<(String, Vec<u8>)> = checkpoints
        .map(|c| ("checkpoint".to_owned(), c.to_string().into_bytes()))
        .collect();
    assert!(!checkpoints.is_empty());
    for (key, value) in entries.iter().chain(&checkpoints) {
        let value = String::from_utf8_lossy(value);
        for forbidden in [
            "Sample Buyer",
            "Example Way",
            "555-0100",
            "sample-buyer@",
            "placeholder-client-secret",
            "Atzr|",
        ] {
            assert!(!value.contains(forbidden), "{key} holds {forbidden:?}");
        }
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn logs_carry_no_buyer_data() {
    let report = run("demo.har");
    for step in &report.steps {
        for line in &step.record.logs {
            assert!(
                !line.message.contains("Sample Buyer") && !line.message.contains("Example Way"),
                "{line:?}"
            );
        }
    }
}

fn orders(report: &RunReport, step: usize) -> Vec<Value> {
    ok(report, step)["orders"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn order<'a>(orders: &'a [Value], id: &str) -> &'a Value {
    orders
        .iter()
        .find(|o| o["order-id"] == id)
        .unwrap_or_else(|| panic!("{id} not imported"))
}

#[test]
fn every_field_comes_from_amazon_s_data_exactly_as_written() {
    let report = run("import-order-content.har");
    let orders = orders(report, 0);
    assert_eq!(orders.len(), 4);
    assert!(ok(report, 0)["skipped"].as_array().unwrap().is_empty());

    let full = order(&orders, "113-0000010-0000010");
    assert_eq!(full["status"], "awaiting-shipment");
    assert_eq!(full["marketplace-status"], "UNSHIPPED");
    assert_eq!(
        full["customer"]["email"],
        "sample-buyer@marketplace.amazon.com"
    );
    assert_eq!(full["customer"]["company"], "Synthetic Company");
    assert_eq!(full["customer"]["purchase-order-number"], "PO-SYNTHETIC-1");
    assert_eq!(full["ship-to"]["phone"], "+1-206-555-0100");
    assert_eq!(full["ship-to"]["pickup-point"], true);
    assert_eq!(full["ship-to"]["residential"], false);
    assert_eq!(full["ship-to"]["latin-script"], true);
    assert_eq!(full["requested-service"], "STANDARD");
    assert_eq!(full["payment-method"], "GC, CreditCard");
    // Amounts exactly as Amazon wrote them.
    assert_eq!(
        full["order-total"],
        json!({"amount": "0.30", "currency-code": "USD"})
    );
    assert_eq!(full["item-subtotal"]["amount"], "0.40");
    assert_eq!(full["shipping-paid"]["amount"], "0.10");
    assert_eq!(full["tax-paid"]["amount"], "0.00");
    assert_eq!(
        full["discounts"],
        json!([{"promotion-id": null, "amount": {"amount": "-0.20", "currency-code": "USD"}}])
    );
    assert_eq!(full["is-gift"], true);
    assert_eq!(full["gift-message"], "Synthetic gift message");
    assert_eq!(full["gift-wrap"], "PREMIUM");
    assert_eq!(full["notes-from-buyer"], "Leave at the side door");
    let flags = &full["flags"];
    assert_eq!(
        (&flags["prime"], &flags["business"], &flags["easy-ship"]),
        (&json!(true), &json!(true), &json!(true))
    );
    assert_eq!(flags["replacement-for"], "113-0000009-0000009");
    assert_eq!(
        full["programs"][3], "A_PROGRAM_FROM_THE_FUTURE",
        "unknown programs are kept"
    );
    assert!(
        full["internal-notes"]
            .as_str()
            .unwrap()
            .contains("Amazon Easy Ship")
    );
    assert_eq!(
        full["ship-by"], "2026-11-23T00:00:00Z",
        "Amazon's latest ship date"
    );
    assert_eq!(full["deliver-by"], "2026-11-26T15:00:00Z");

    let first = &full["items"][0];
    assert_eq!(first["unit-price"]["amount"], "0.10");
    assert_eq!(
        first["discounts"],
        json!([{"promotion-id": "PROMO-SYNTHETIC-1", "amount": {"amount": "-0.10", "currency-code": "USD"}}])
    );
    let options: Vec<(String, String)> = first["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_owned(),
                o["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        options.contains(&("Condition".into(), "New".into())),
        "{options:?}"
    );
    assert!(options.contains(&(
        "Customization".into(),
        "https://www.amazon.com/custom/view/synthetic-1".into()
    )));
    assert!(options.contains(&("Gift wrap".into(), "Premium".into())));
    assert_eq!(first["transparency-required"], true);
    assert_eq!(first["serial-numbers-required"], true);
    assert_eq!(first["ioss-number"], "IM0000000001");
    assert_eq!(
        first["shipping-constraints"],
        json!([
            "pallet-delivery",
            "cash-on-delivery",
            "signature-confirmation",
            "identity-verification",
            "age-verification"
        ])
    );
    assert_eq!(
        first["warehouse-location"],
        Value::Null,
        "Amazon has no such field"
    );
    // Product info from Amazon's catalog example: the package, as the catalog wrote it.
    assert_eq!(
        first["weight"],
        json!({"value": "62.142", "unit": "kilograms"})
    );
    assert_eq!(first["dimensions"]["length"], "79.9999999184");
    assert_eq!(first["dimensions"]["unit"], "inches");
    assert_eq!(
        first["image-url"],
        "https://m.media-amazon.com/images/I/91uohwV+k3L.jpg"
    );
    let second = &full["items"][1];
    assert_eq!(second["asin"], Value::Null);
    assert_eq!(
        second["product-id"], second["sku"],
        "no ASIN: the SKU identifies it"
    );

    let held = order(&orders, "113-0000011-0000011");
    assert_eq!(
        held["status"], "on-hold",
        "the buyer asked to cancel: nobody ships it"
    );
    assert_eq!(
        held["cancellation-request"],
        json!({"requested-by": "BUYER", "reason": "Ordered by mistake"})
    );

    let elsewhere = order(&orders, "113-0000012-0000012");
    assert_eq!(elsewhere["status"], "shipped");
    assert_eq!(
        elsewhere["shipments"][0]["tracking-number"],
        "1Z999AA1234567890"
    );
    assert_eq!(elsewhere["shipments"][0]["status"], "DELIVERED");

    let sparse = order(&orders, "113-0000013-0000013");
    assert_eq!(sparse["items"].as_array().unwrap().len(), 12);
    assert_eq!(sparse["customer"], Value::Null);
    assert_eq!(sparse["order-total"], Value::Null);
    assert_eq!(sparse["requested-service"], "A_LEVEL_FROM_THE_FUTURE");
}

#[test]
fn an_unknown_status_is_held_for_a_person() {
    let report = run("faults/import-unknown-status.har");
    let orders = orders(report, 0);
    assert_eq!(orders[0]["status"], "on-hold");
    assert_eq!(orders[0]["marketplace-status"], "A_STATUS_FROM_THE_FUTURE");
}

#[test]
fn kanji_addresses_arrive_as_written_and_only_with_the_setting() {
    let report = run("import-japan-kanji.har");
    let orders = orders(report, 0);
    let address = &orders[0]["ship-to"];
    assert_eq!(address["city"], "東京都");
    assert_eq!(address["street1"], "港区六本木1-2-3");
    assert_eq!(address["latin-script"], false);
    assert_eq!(orders[0]["order-total"]["amount"], "5980");

    let refused = run("import-japan-without-kanji.har");
    assert_eq!(error(refused, 0).0, "kanji-addresses-required");
    assert!(
        refused.steps[0].record.exchanges.is_empty(),
        "nothing is read"
    );
}

#[test]
fn a_brazilian_business_order_keeps_amazon_s_amounts_and_programs() {
    let report = run("import-brazil.har");
    let orders = orders(report, 0);
    let order = &orders[0];
    assert_eq!(
        order["order-total"],
        json!({"amount": "1599.90", "currency-code": "BRL"})
    );
    assert_eq!(order["items"][0]["unit-price"]["amount"], "1599.90");
    assert_eq!(order["flags"]["business"], true);
    assert!(
        order["programs"]
            .as_array()
            .unwrap()
            .contains(&json!("DELIVERY_BY_AMAZON")),
        "kept as sent"
    );
    assert_eq!(order["ship-to"]["city"], "São Paulo");
    assert_eq!(
        order["ship-to"]["latin-script"], true,
        "accents are Latin script"
    );
    assert_eq!(order["ship-to"]["residential"], false, "COMMERCIAL");
    // One item, one product: its weight is the order's.
    assert_eq!(order["weight"], order["items"][0]["weight"]);
}

#[test]
fn a_request_body_over_4_kib_reaches_amazon() {
    // The replay runs on a thread so that a regression (the body never drains) fails
    // this test instead of hanging the suite.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(run("label-many-lines.har"));
    });
    let report = finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the 7.7 KB confirmation never completed");
    let outcome = &ok(report, 0)[0];
    assert_eq!(outcome["outcome"], "sent");
}

#[test]
fn directives_repeat_until_acknowledged_and_redacted_stays_redacted() {
    let report = run("redaction-until-acknowledged.har");
    let unacknowledged = ok(report, 1).as_array().unwrap().clone();
    assert_eq!(unacknowledged.len(), 2, "order and customer");
    // Not acknowledged: the same directives, with the same ids, an hour later.
    assert_eq!(ok(report, 2).as_array().unwrap(), &unacknowledged);
    assert!(unacknowledged.iter().all(|d| {
        d["id"]
            .as_str()
            .unwrap()
            .starts_with("113-0000030-0000030/")
    }));
    // Acknowledged after that call: never again.
    assert!(ok(report, 3).as_array().unwrap().is_empty());
    // Amazon sends the order again: its PII arrives already redacted.
    let order = &ok(report, 4)["orders"][0];
    assert_eq!(order["customer"]["name"], "REDACTED (Amazon)");
    assert_eq!(order["customer"]["email"], "REDACTED (Amazon)");
    assert_eq!(order["ship-to"]["street1"], "REDACTED (Amazon)");
    assert_eq!(order["ship-to"]["phone"], "REDACTED (Amazon)");
    assert_eq!(order["gift-message"], "REDACTED (Amazon)");
    assert_eq!(
        order["ship-to"]["city"], "Seattle",
        "the order keeps its city"
    );
    assert_eq!(order["ship-to"]["postal-code"], "98101");
}

/// Each outcome of a step, by label id.
fn outcomes_by_label(report: &RunReport, step: usize) -> Vec<(String, Value)> {
    ok(report, step)
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["label-id"].as_str().unwrap().to_owned(),
                o["outcome"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_second_label_s_reason_follows_what_became_of_the_first() {
    let report = run("label-second-labels.har");
    let already = json!({"not-sent": "already-notified"});
    let queued_behind = |label: &str| json!({"not-sent": {"earlier-update-queued": label}});
    let first = outcomes_by_label(report, 0);
    let outcome = |label: &str| &first.iter().find(|(l, _)| l == label).unwrap().1;
    // In the same call: sent first makes the second already notified, not queued.
    assert_eq!(outcome("L-SENT-1"), "sent");
    assert_eq!(outcome("L-SENT-2"), &already);
    // Refused first: the second goes, and is sent.
    assert!(outcome("L-REFUSED-1")["not-sent"]["rejected"].is_object());
    assert_eq!(outcome("L-REFUSED-2"), "sent");
    // An invalid label holds nothing back.
    assert!(outcome("L-INVALID-1")["not-sent"]["invalid-label"].is_object());
    assert_eq!(outcome("L-INVALID-2"), "sent");
    // Throttled first: the second waits behind a queued update, which it is.
    let second = outcomes_by_label(report, 1);
    assert!(second[0].1["queued"].is_string(), "{second:?}");
    assert_eq!(second[1].1, queued_behind("L-THROTTLED-1"));
    // In a later call, against the earlier calls' outcomes.
    let third: Vec<Value> = outcomes_by_label(report, 2)
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert_eq!(
        third,
        [
            already.clone(),
            already,
            queued_behind("L-THROTTLED-1"),
            json!("sent")
        ]
    );
}

#[test]
fn a_throttled_update_is_delivered_once_amazon_allows() {
    let report = run("label-throttled-then-delivered.har");
    assert_eq!(
        ok(report, 0)[0]["outcome"],
        json!({"queued": "2026-11-20T15:00:00.500Z"})
    );
    assert_eq!(
        ok(report, 1)[0]["outcome"],
        json!({"not-sent": {"earlier-update-queued": "L-1"}}),
        "one update per order: the second label waits for nothing and is not sent"
    );
    let early = ok(report, 2);
    assert_eq!(early["outcomes"], json!([]));
    assert_eq!(early["next-call-after"], "2026-11-20T15:00:00.500Z");
    assert!(
        report.steps[2].record.exchanges.is_empty(),
        "early: nothing is sent"
    );
    let delivered = ok(report, 3);
    assert_eq!(delivered["outcomes"][0]["label-id"], "L-1");
    assert_eq!(delivered["outcomes"][0]["outcome"], "sent");
    assert_eq!(delivered["pending"], 0);
}

#[test]
fn a_compressed_processing_report_gives_every_order_s_outcome() {
    let report = run("label-batch-compressed-report.har");
    let submitted = ok(report, 0).as_array().unwrap();
    assert_eq!(submitted.len(), 260);
    assert!(
        submitted
            .iter()
            .all(|o| o["outcome"]["in-feed"]["feed-id"] == "3485934"),
        "{:?}",
        submitted[0]
    );
    // The report is gzip at Amazon: read, it settles all 260, and no order's
    // PACKAGES data is asked (the replay would refuse a request it has not got).
    let settled = ok(report, 1);
    let outcomes = settled["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 260);
    assert!(
        outcomes
            .iter()
            .all(|o| o["outcome"] == json!({"sent-in-feed": "3485934"}))
    );
    assert_eq!(settled["pending"], 0);
    assert_eq!(report.steps[1].record.exchanges.len(), 3);
}

#[test]
fn a_split_order_is_confirmed_once_in_full_and_a_combined_package_for_each_order() {
    // The replay matches each confirmation's body exactly: the split order's first
    // label carries both of its lines, the combined package confirms two orders
    // with one tracking number.
    let report = run("label-split-and-combined.har");
    assert_eq!(ok(report, 1)[0]["outcome"], "sent");
    assert_eq!(
        ok(report, 2)[0]["outcome"],
        json!({"not-sent": "already-notified"})
    );
    let combined: Vec<&Value> = ok(report, 3)
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["outcome"])
        .collect();
    assert_eq!(combined, [&json!("sent"), &json!("sent")]);
    assert_eq!(
        report.steps[2].record.exchanges.len(),
        0,
        "the second label calls nobody"
    );
}

#[test]
fn a_delivery_makes_the_pii_due_30_days_later_to_the_second() {
    let report = run("redaction-after-delivery.har");
    assert!(
        ok(report, 2).as_array().unwrap().is_empty(),
        "one second before"
    );
    let due = ok(report, 3).as_array().unwrap();
    assert_eq!(due.len(), 3, "order, customer and label");
    // Delivered 11-22 15:00; ship date + 30 days would be 12-30, label + 44 days 01-03.
    assert!(
        due.iter()
            .all(|d| d["rule"] == "tracked-shipment" && d["due-at"] == "2026-12-22T15:00:00Z")
    );
}

#[test]
fn the_audit_lists_each_directive_with_its_due_time_and_acknowledgement() {
    let report = run("redaction-until-acknowledged.har");
    let audit = ok(report, 5).as_array().unwrap();
    let ids: Vec<&str> = audit
        .iter()
        .map(|e| e["directive"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["113-0000030-0000030/order", "113-0000030-0000030/customer"]
    );
    assert!(
        audit.iter().all(
            |e| e["acknowledged"] == true && e["directive"]["due-at"] == "2026-12-04T15:00:00Z"
        )
    );
}

/// Every buyer value in the recording's answers: names, emails, street lines,
/// phones, gift messages, purchase order numbers.
fn buyer_values(har: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, parent: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let pii = matches!(
                        key.as_str(),
                        "buyerName"
                            | "buyerEmail"
                            | "buyerCompanyName"
                            | "addressLine1"
                            | "addressLine2"
                            | "addressLine3"
                            | "phone"
                            | "giftMessage"
                            | "buyerPurchaseOrderNumber"
                    ) || (key == "name" && parent == "deliveryAddress");
                    match value {
                        Value::String(text) if pii && text.len() > 3 => {
                            out.insert(text.clone());
                        }
                        _ => walk(value, key, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, parent, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for entry in har["log"]["entries"].as_array().into_iter().flatten() {
        if let Some(text) = entry["response"]["content"]["text"].as_str()
            && let Ok(body) = serde_json::from_str::<Value>(text)
        {
            walk(&body, "", &mut out);
        }
    }
    out
}

#[test]
fn no_output_of_any_fixture_holds_a_secret_and_only_orders_hold_buyer_data() {
    let credentials = [
        test_host::drive::scenario::PLACEHOLDER_CLIENT_SECRET,
        test_host::drive::scenario::PLACEHOLDER_REFRESH_TOKEN,
    ];
    let mut checked_values = 0;
    for name in FIXTURES {
        let path = fixtures().join(name);
        let har: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let buyer = buyer_values(&har);
        checked_values += buyer.len();
        let storage_path = std::env::temp_dir().join(format!(
            "amazon-outputs-{}-{}.sqlite",
            std::process::id(),
            name.replace('/', "-")
        ));
        let _ = std::fs::remove_file(&storage_path);
        let report = Session::from_file(&path)
            .unwrap()
            .run_with_storage(SqliteStorage::open(&storage_path).unwrap())
            .unwrap();
        let storage = SqliteStorage::open(&storage_path)
            .unwrap()
            .entries("")
            .unwrap();
        let _ = std::fs::remove_file(&storage_path);
        // What is not the host's order data: logs, stderr, failures, errors,
        // checkpoints, storage. None of it may hold a buyer value or a secret.
        let mut side_channels: Vec<String> = storage
            .iter()
            .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
            .collect();
        for step in &report.steps {
            side_channels.extend(step.record.logs.iter().map(|l| l.message.clone()));
            side_channels.push(step.record.stderr.clone());
            side_channels.extend(step.record.failures.iter().cloned());
            match &step.outcome {
                Outcome::Err { error, .. } => side_channels.push(error.to_string()),
                Outcome::Ok(value) => {
                    side_channels.extend(value.get("checkpoint").map(Value::to_string))
                }
            }
        }
        for text in &side_channels {
            for value in buyer.iter().map(String::as_str).chain(credentials) {
                assert!(!text.contains(value), "{name}: {value:?} in {text:.200}");
            }
        }
        // The whole report, orders included, holds no secret.
        let whole = serde_json::to_string(&report).unwrap();
        for secret in credentials {
            assert!(!whole.contains(secret), "{name}: {secret:?} in the report");
        }
    }
    assert!(
        checked_values >= 10,
        "the fixtures' buyer values were found: {checked_values}"
    );
}
