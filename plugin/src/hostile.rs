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

/// An ORDER_CHANGE body with one of its fields replaced by arbitrary JSON that
/// carries a buyer-like marker.
fn damaged_notification() -> impl Strategy<Value = String> {
    let paths: Vec<&'static str> = vec![
        "/NotificationType",
        "/Payload",
        "/Payload/OrderChangeNotification",
        "/Payload/OrderChangeNotification/AmazonOrderId",
        "/Payload/OrderChangeNotification/SellerId",
        "/Payload/OrderChangeNotification/OrderChangeTrigger",
        "/Payload/OrderChangeNotification/OrderChangeTrigger/TimeOfOrderChange",
        "/Payload/OrderChangeNotification/Summary",
        "/Payload/OrderChangeNotification/Summary/MarketplaceId",
        "/Payload/OrderChangeNotification/Summary/OrderStatus",
        "/NotificationMetadata",
        "/NotificationMetadata/NotificationId",
    ];
    let value = prop_oneof![
        json_value(),
        Just(json!("Jane Secretbuyer")),
        Just(json!({"Secretbuyer": [1, 2]})),
    ];
    (prop::sample::select(paths), value).prop_map(|(path, value)| {
        let body = crate::testing::order_change("111-0000001-0000001", "2026-11-20T14:59:00Z");
        let mut body: Value = serde_json::from_str(&body).unwrap();
        if let Some(target) = body.pointer_mut(path) {
            *target = value;
        }
        body.to_string()
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

/// The feed path's calls, each with Amazon's good answer: createFeedDocument, the
/// upload, createFeed, getFeed, getFeedDocument, and the report's download.
const FEED_CHAIN: [(&str, &str, u16, &str); 6] = [
    (
        "POST",
        "/feeds/2021-06-30/documents",
        201,
        r#"{"feedDocumentId":"d","url":"https://tortuga-prod-na.s3-external-1.amazonaws.com/d"}"#,
    ),
    ("PUT", "/d", 200, ""),
    ("POST", "/feeds/2021-06-30/feeds", 202, r#"{"feedId":"1"}"#),
    (
        "GET",
        "/feeds/2021-06-30/feeds/1",
        200,
        r#"{"feedId":"1","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"DONE","resultFeedDocumentId":"r"}"#,
    ),
    (
        "GET",
        "/feeds/2021-06-30/documents/r",
        200,
        r#"{"feedDocumentId":"r","url":"https://tortuga-prod-na.s3-external-1.amazonaws.com/r"}"#,
    ),
    (
        "GET",
        "/r",
        200,
        "<AmazonEnvelope><Message><ProcessingReport><StatusCode>Complete</StatusCode><ProcessingSummary><MessagesProcessed>30</MessagesProcessed></ProcessingSummary></ProcessingReport></Message></AmazonEnvelope>",
    ),
];

/// A host where feeds are the sooner path for a few labels (Amazon took 10 s for
/// the last), whose Amazon answers the feed chain well up to `step` and then
/// `status` and `body`.
fn feed_chain_host(step: usize, status: u16, body: &str) -> FakeHost {
    let host = FakeHost::new();
    crate::host::Store::new(&host)
        .save("feed-turnaround", &10.0)
        .unwrap();
    host.expect_token();
    for (index, (method, path, ok_status, ok_body)) in FEED_CHAIN.into_iter().enumerate() {
        if index == step {
            host.expect(method, path, status, body);
            break;
        }
        host.expect(method, path, ok_status, ok_body);
    }
    host
}

/// A searchOrders answer: arbitrary JSON, or a page whose parts are arbitrary.
fn search_orders_answer() -> impl Strategy<Value = Value> {
    let order =
        json!({"orderId": "111-0000001-0000001", "lastUpdatedTime": "2026-11-20T11:00:00Z"});
    prop_oneof![
        json_value(),
        json_value().prop_map(|orders| json!({"orders": orders})),
        (json_value(), json_value())
            .prop_map(move |(first, pagination)| json!({"orders": [order.clone(), first], "pagination": pagination})),
        json_value().prop_map(|pagination| json!({"orders": [], "pagination": pagination})),
        (0usize..250).prop_map(|count| json!({"orders": vec![json!({}); count]})),
    ]
}

/// Whether an answer has the shape of Amazon's `SearchOrdersResponse`: an object,
/// `orders` a list of at most 100 objects, `pagination` an object (its `nextToken`
/// text), `lastUpdatedBefore` text.
fn is_search_orders_shape(answer: &Value) -> bool {
    let text_or_absent = |v: Option<&Value>| v.is_none_or(|v| v.is_null() || v.is_string());
    let Some(page) = answer.as_object() else {
        return false;
    };
    let orders_ok = page
        .get("orders")
        .and_then(Value::as_array)
        .is_some_and(|orders| orders.len() <= 100 && orders.iter().all(Value::is_object));
    let pagination_ok = match page.get("pagination") {
        None | Some(Value::Null) => true,
        Some(Value::Object(p)) => text_or_absent(p.get("nextToken")),
        Some(_) => false,
    };
    orders_ok && pagination_ok && text_or_absent(page.get("lastUpdatedBefore"))
}

/// Every label's update is still somewhere: in the outbox, or recorded as at
/// Amazon, or as refused by Amazon.
fn every_update_is_kept(host: &FakeHost, labels: &[crate::model::LabelEvent]) -> bool {
    let store = crate::host::Store::new(host);
    let outbox = crate::notify::Outbox::new(&store);
    labels.iter().all(|label| {
        let order_id = &label.orders[0].order_id;
        outbox.get(order_id).is_ok_and(|e| e.is_some())
            || outbox.notified(order_id).is_ok_and(|n| n.is_some())
            || outbox.rejected(order_id).is_ok_and(|r| r.is_some())
    })
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
        let host = feed_chain_host(step, status, &body);
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
    fn a_search_orders_answer_off_the_model_s_shape_never_moves_the_checkpoint(
        answer in search_orders_answer(),
    ) {
        let host = FakeHost::new();
        host.expect_token().expect("GET", SEARCH_PATH, 200, &answer.to_string());
        let result = import_orders(&host, &us_settings(), None);
        let malformed = matches!(
            &result,
            Err(crate::error::Error::MalformedResponse { operation, .. }) if operation == "searchOrders"
        );
        // On `err` the host keeps its checkpoint: the position did not move.
        prop_assert_eq!(malformed, !is_search_orders_shape(&answer), "{:?} for {}", result, answer);
    }

    #[test]
    fn an_answer_off_the_model_s_shape_never_drops_a_stored_update(
        step in 0usize..6,
        answer in json_value(),
    ) {
        let host = feed_chain_host(step, FEED_CHAIN[step].2, &answer.to_string());
        let labels = crate::notify::tests_support::labels(30);
        let _ = crate::notify::on_label_created(&host, &us_settings(), &labels);
        prop_assert!(every_update_is_kept(&host, &labels));
        host.set_now(crate::host::Host::now(&host) + chrono::Duration::minutes(5));
        let _ = crate::notify::send_queued_notifications(&host, &us_settings());
        prop_assert!(every_update_is_kept(&host, &labels));
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

    #[test]
    fn any_message_body_gets_one_outcome_that_quotes_nothing(bodies in prop::collection::vec(prop_oneof![
        ".{0,200}",
        json_value().prop_map(|v| v.to_string()),
        damaged_notification(),
    ], 1..8)) {
        let host = FakeHost::new();
        let taken = crate::events::take_notifications(&host, &us_settings(), &bodies)
            .expect("only storage can fail the call");
        prop_assert_eq!(taken.outcomes.len(), bodies.len());
        for outcome in &taken.outcomes {
            if let crate::events::MessageOutcome::Malformed(reason) = outcome {
                prop_assert!(!reason.contains("Secretbuyer"), "{}", reason);
            }
        }
        prop_assert!(host.sent.borrow().is_empty(), "taking calls nobody");
    }

    #[test]
    fn any_get_order_answer_for_a_notified_change_leaves_it_somewhere(
        status in prop_oneof![Just(200u16), Just(404), 100u16..600],
        body in prop_oneof![
            ".{0,120}",
            json_value().prop_map(|v| v.to_string()),
            damaged_order().prop_map(|order| json!({"order": order}).to_string()),
        ],
    ) {
        let host = FakeHost::new();
        let order = "111-0000001-0000001";
        let message = crate::testing::order_change(order, "2026-11-20T14:59:00Z");
        crate::events::take_notifications(&host, &us_settings(), &[message]).unwrap();
        host.expect_token()
            .expect("GET", &format!("{SEARCH_PATH}/{order}"), status, &body)
            .expect("GET", SEARCH_PATH, 200, r#"{"orders":[]}"#);
        if let Ok(batch) = import_orders(&host, &us_settings(), None) {
            // The host stored the batch: the next call settles what it delivered.
            let after = import_orders(&host, &us_settings(), Some(&batch.checkpoint));
            prop_assert!(after.is_ok(), "{:?}", after);
            let store = crate::host::Store::new(&host);
            let waiting = crate::events::Changes::load(&store).unwrap().pending;
            let checkpoint: Value = serde_json::from_str(&batch.checkpoint).unwrap();
            // Delivered, reported, still waiting, or on the retry list: never gone.
            let somewhere = batch.orders.iter().any(|o| o.order_id == order)
                || batch.skipped.iter().any(|s| s.order_id == order)
                || waiting.iter().any(|p| p.order_id == order)
                || checkpoint["retry"].to_string().contains(order);
            prop_assert!(somewhere, "{} {} lost the change", status, body);
        }
    }
}
