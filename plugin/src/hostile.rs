//! Property tests: whatever Amazon (or something pretending to be it) answers, the
//! component returns a typed result and never panics, and no order is silently
//! dropped.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::import::import_orders;
use crate::spapi::orders::SEARCH_PATH;
use crate::testing::{FakeHost, us_settings};

/// Arbitrary JSON, a few levels deep, with the field names Amazon uses mixed in so
/// that the values land where the parsers look.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("orderId".to_owned()),
        Just("amount".to_owned()),
        Just("lastUpdatedTime".to_owned()),
        Just("fulfillment".to_owned()),
        Just("orderItems".to_owned()),
        "[a-zA-Z]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A valid order with one of its fields replaced by arbitrary JSON.
fn damaged_order() -> impl Strategy<Value = Value> {
    let paths: Vec<&'static [&'static str]> = vec![
        &["orderId"],
        &["lastUpdatedTime"],
        &["salesChannel"],
        &["fulfillment", "fulfillmentStatus"],
        &["fulfillment", "fulfilledBy"],
        &["proceeds", "grandTotal", "amount"],
        &["orderItems"],
        &["recipient", "deliveryAddress"],
        &["buyer"],
        &["packages"],
    ];
    (prop::sample::select(paths), json_value()).prop_map(|(path, value)| {
        let mut order = json!({
            "orderId": "111-0000001-0000001",
            "createdTime": "2026-11-20T10:00:00Z",
            "lastUpdatedTime": "2026-11-20T11:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
            "proceeds": {"grandTotal": {"amount": "1.00", "currencyCode": "USD"}},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
            "orderItems": [{"orderItemId": "1", "quantityOrdered": 1, "product": {"sellerSku": "S"}}],
            "buyer": {"buyerName": "Jane Secretbuyer"},
        });
        let mut target = &mut order;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target[path[path.len() - 1]] = value;
        order
    })
}

/// Cases per property: 128 in `cargo test`; `PROPTEST_CASES` for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(128)
}

/// A processing report, whole or damaged: cut short, or with arbitrary text
/// spliced in.
fn processing_report() -> impl Strategy<Value = String> {
    let report = "<?xml version=\"1.0\"?><AmazonEnvelope><MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport><StatusCode>Complete</StatusCode><ProcessingSummary><MessagesProcessed>2</MessagesProcessed></ProcessingSummary><Result><MessageID>2</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode><ResultDescription>a &amp; b</ResultDescription></Result></ProcessingReport></Message></AmazonEnvelope>";
    prop_oneof![
        ".{0,300}",
        (0..report.len()).prop_map(move |cut| report[..cut].to_owned()),
        (0..report.len(), ".{0,30}").prop_map(move |(at, junk)| {
            let at = (0..=at)
                .rev()
                .find(|i| report.is_char_boundary(*i))
                .unwrap_or(0);
            format!("{}{junk}{}", &report[..at], &report[at..])
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_processing_report_is_a_typed_result(report in processing_report()) {
        if let Ok(parsed) = crate::spapi::feeds::parse_processing_report(&report) {
            // Whatever it says, it never claims more than it read.
            prop_assert!(parsed.errors.keys().all(|id| *id > 0 || report.contains("<MessageID>0")));
        }
    }

    #[test]
    fn any_feeds_answer_is_a_typed_result(
        step in 0usize..3,
        body in prop_oneof![".{0,120}", json_value().prop_map(|v| v.to_string())],
        status in prop_oneof![Just(200u16), Just(201), Just(202), 100u16..600],
    ) {
        let host = FakeHost::new();
        // Feeds are the sooner path for a few labels once Amazon took 10 s.
        crate::host::Store::new(&host).save("feed-turnaround", &10.0).unwrap();
        host.expect_token();
        let ok = [
            ("POST", "/feeds/2021-06-30/documents", 201, r#"{"feedDocumentId":"d","url":"https://tortuga-prod-na.s3-external-1.amazonaws.com/d"}"#),
            ("PUT", "/d", 200, ""),
            ("POST", "/feeds/2021-06-30/feeds", 202, r#"{"feedId":"1"}"#),
        ];
        for (index, (method, path, ok_status, ok_body)) in ok.into_iter().enumerate() {
            if index == step {
                host.expect(method, path, status, &body);
                break;
            }
            host.expect(method, path, ok_status, ok_body);
        }
        let labels = crate::notify::tests_support::labels(30);
        let outcomes = crate::notify::on_label_created(&host, &us_settings(), &labels);
        if let Ok(outcomes) = outcomes {
            prop_assert_eq!(outcomes.len(), 30, "one outcome per label, whatever Amazon said");
        }
    }

    #[test]
    fn any_search_orders_body_is_a_typed_result(body in prop_oneof![
        ".{0,200}",
        json_value().prop_map(|v| v.to_string()),
        json_value().prop_map(|v| json!({"orders": [v]}).to_string()),
    ]) {
        let host = FakeHost::new();
        host.expect_token().expect("GET", SEARCH_PATH, 200, &body);
        let _ = import_orders(&host, &us_settings(), None);
    }

    #[test]
    fn a_damaged_order_is_imported_or_skipped_never_lost(order in damaged_order()) {
        let host = FakeHost::new();
        host.expect_token().expect("GET", SEARCH_PATH, 200, &json!({"orders": [order]}).to_string());
        let batch = import_orders(&host, &us_settings(), None).expect("one bad order never fails the page");
        prop_assert_eq!(batch.orders.len() + batch.skipped.len(), 1);
        // A reason names fields and positions, never a value the buyer wrote.
        for skipped in &batch.skipped {
            prop_assert!(!skipped.detail.contains("Secretbuyer"), "{}", skipped.detail);
        }
    }

    #[test]
    fn any_login_with_amazon_answer_is_a_typed_result(status in 100u16..600, body in prop_oneof![
        ".{0,100}",
        json_value().prop_map(|v| v.to_string()),
    ]) {
        let host = FakeHost::new();
        host.expect("POST", "/auth/o2/token", status, &body);
        let _ = crate::spapi::lwa::access_token(&host, &us_settings().credentials);
    }

    #[test]
    fn any_catalog_answer_is_a_typed_result(body in json_value().prop_map(|v| v.to_string())) {
        let host = FakeHost::new();
        host.expect_token().expect("GET", "/catalog/2022-04-01/items/B1", 200, &body);
        let settings = us_settings();
        let api = crate::spapi::SpApi::authorize(&host, &settings).unwrap();
        let _ = crate::import::catalog::fetch(&api, &crate::host::Store::new(&host), "ATVPDKIKX0DER", "B1");
    }

    #[test]
    fn decimals_read_back_exactly(whole in 0u64..1_000_000_000, fraction in "[0-9]{0,9}", text in ".{0,20}") {
        let _ = crate::decimal::Decimal::parse(&text);
        let written = if fraction.is_empty() { whole.to_string() } else { format!("{whole}.{fraction}") };
        let parsed = crate::decimal::Decimal::parse(&written).unwrap();
        let expected = if fraction.is_empty() {
            whole.to_string()
        } else {
            let trimmed = fraction.trim_end_matches('0');
            if trimmed.is_empty() { whole.to_string() } else { format!("{whole}.{trimmed}") }
        };
        prop_assert_eq!(parsed.to_string(), expected);
    }
}
