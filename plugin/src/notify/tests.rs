use super::*;
use crate::model::LabelItem;
use crate::testing::{FakeHost, at, us_settings};

fn label(label_id: &str, order_id: &str) -> LabelEvent {
    LabelEvent {
        label_id: label_id.into(),
        orders: vec![LabelOrder {
            order_id: order_id.into(),
            marketplace_id: None,
            items: vec![LabelItem {
                order_item_id: "79039765272157".into(),
                quantity: 1,
            }],
        }],
        carrier_code: "FedEx".into(),
        carrier_name: None,
        service: Some("FedEx Ground".into()),
        tracking_number: "112345678".into(),
        ship_date: at("2026-11-20T17:00:00Z"),
        created_at: at("2026-11-20T16:00:00Z"),
        carrier_fee: None,
        automatic_tracking: true,
        batch_id: None,
    }
}

const CONFIRM: &str = "/shipmentConfirmation";

/// Two labels, one order each.
fn two_labels() -> [LabelEvent; 2] {
    [
        label("L1", "111-0000001-0000001"),
        label("L2", "111-0000002-0000002"),
    ]
}

#[test]
fn confirms_once_with_amazons_body_shape() {
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 204, "");
    let outcomes =
        on_label_created(&host, &us_settings(), &[label("L1", "902-1106328-1059050")]).unwrap();
    assert_eq!(outcomes[0].outcome, NotificationResult::Sent);
    let body: serde_json::Value = serde_json::from_str(&host.sent.borrow()[1].body).unwrap();
    assert_eq!(
        body["packageDetail"]["packageReferenceId"], "1",
        "a digit string, not a number"
    );
    assert!(body["packageDetail"]["orderItems"].is_array());
    assert_eq!(
        body["packageDetail"]["shipDate"],
        "2026-11-20T17:00:00.000Z"
    );
    assert!(body["packageDetail"].get("carrierName").is_none());

    let again =
        on_label_created(&host, &us_settings(), &[label("L2", "902-1106328-1059050")]).unwrap();
    assert_eq!(
        again[0].outcome,
        NotificationResult::NotSent(NotSentReason::AlreadyNotified)
    );
    assert_eq!(host.sent.borrow().len(), 2, "no second call to Amazon");
}

#[test]
fn throttled_and_failed_sends_are_queued_not_lost() {
    let host = FakeHost::new();
    host.expect_token().expect(
        "POST",
        CONFIRM,
        429,
        r#"{"errors":[{"code":"QuotaExceeded","message":"quota"}]}"#,
    );
    let outcomes = on_label_created(&host, &us_settings(), &two_labels()).unwrap();
    let now = host.now();
    // After the 429 the bucket is known to be empty: the second order is not
    // sent at all, and both wait for the next token (2 per second).
    for outcome in &outcomes {
        assert_eq!(
            outcome.outcome,
            NotificationResult::Queued(now + Duration::milliseconds(500))
        );
    }
    assert_eq!(
        host.sent.borrow().len(),
        2,
        "the token and one confirmShipment"
    );
    let kept: OutboxEntry =
        serde_json::from_slice(&host.store.borrow()["outbox/111-0000001-0000001"]).unwrap();
    assert_eq!(kept.request.package_detail.tracking_number, "112345678");
    assert!(host.key_exists("outbox/111-0000002-0000002"));

    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 503, "");
    let outcomes = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    assert_eq!(
        outcomes[0].outcome,
        NotificationResult::Queued(host.now() + Duration::seconds(60))
    );
}

#[test]
fn answers_that_are_not_amazon_s_verdict_are_kept_to_retry() {
    // 403 included: Amazon's answer to a revoked or expired token, which the
    // next attempt replaces.
    for status in [302, 401, 403, 408, 500] {
        let host = FakeHost::new();
        host.expect_token().expect("POST", CONFIRM, status, "");
        if status == 401 {
            // A 401 is retried once at once with a fresh token.
            host.expect_token().expect("POST", CONFIRM, 401, "");
        }
        let outcomes = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
        assert_eq!(
            outcomes[0].outcome,
            NotificationResult::Queued(host.now() + RETRY_AFTER_FAILURE),
            "{status}"
        );
        assert!(host.key_exists("outbox/111-0000001-0000001"), "{status}");
    }
}

#[test]
fn an_absurd_order_id_fails_that_order_only() {
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 204, "");
    let mut labels = two_labels().to_vec();
    labels[0].orders[0].order_id = "1".repeat(70_000);
    let outcomes = on_label_created(&host, &us_settings(), &labels).unwrap();
    assert!(matches!(
        outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::InvalidLabel { .. })
    ));
    assert_eq!(outcomes[1].outcome, NotificationResult::Sent);
}

#[test]
fn a_rejection_is_reported_per_order_and_the_rest_still_go() {
    let host = FakeHost::new();
    host.expect_token()
        .expect(
            "POST",
            CONFIRM,
            400,
            r#"{"errors":[{"code":"Invalid Input","message":"Invalid Input"}]}"#,
        )
        // Amazon's PACKAGES data is asked whether it has the update anyway.
        .expect(
            "GET",
            "/orders/2026-01-01/orders/111-0000001-0000001",
            404,
            r#"{"errors":[{"code":"NotFound","message":"Not found"}]}"#,
        )
        .expect("POST", CONFIRM, 204, "");
    let outcomes = on_label_created(&host, &us_settings(), &two_labels()).unwrap();
    assert!(
        matches!(&outcomes[0].outcome, NotificationResult::NotSent(NotSentReason::Rejected(e)) if e.code == "Invalid Input")
    );
    assert_eq!(outcomes[1].outcome, NotificationResult::Sent);
    assert!(
        !host.key_exists("shipment/111-0000001-0000001"),
        "a rejected order may be sent again"
    );
}

#[test]
fn amazon_s_refusal_once_kept_is_the_outcome_whatever_storage_does_next() {
    let refused = r#"{"errors":[{"code":"InvalidInput","message":"The order is cancelled"}]}"#;
    let mut seen_refusal = false;
    for writes in 0..16 {
        let host = FakeHost::new();
        host.expect_token()
            .expect("POST", CONFIRM, 400, refused)
            .expect(
                "GET",
                "/orders/2026-01-01/orders/111-0000001-0000001",
                404,
                r#"{"errors":[{"code":"NotFound","message":"Not found"}]}"#,
            );
        host.writes_before_failure.set(Some(writes));
        let result = on_label_created(&host, &us_settings(), &two_labels()[..1]);
        host.writes_before_failure.set(None);
        let kept = Outbox::new(&Store::new(&host))
            .rejected("111-0000001-0000001")
            .unwrap()
            .is_some();
        if kept {
            seen_refusal = true;
            assert!(
                matches!(
                    result.as_ref().map(|o| &o[0].outcome),
                    Ok(NotificationResult::NotSent(NotSentReason::Rejected(_)))
                ),
                "after {writes} writes: {result:?}"
            );
        }
    }
    assert!(seen_refusal);
}

#[test]
fn a_refused_label_asked_about_again_gets_the_refusal_and_sends_nothing() {
    let host = FakeHost::new();
    host.expect_token()
        .expect(
            "POST",
            CONFIRM,
            400,
            r#"{"errors":[{"code":"InvalidInput","message":"The order is cancelled"}]}"#,
        )
        .expect(
            "GET",
            "/orders/2026-01-01/orders/111-0000001-0000001",
            404,
            r#"{"errors":[{"code":"NotFound","message":"Not found"}]}"#,
        );
    let first = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    let again = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    assert_eq!(first[0].outcome, again[0].outcome);
    assert!(matches!(
        again[0].outcome,
        NotificationResult::NotSent(NotSentReason::Rejected(_))
    ));
    assert_eq!(
        host.sent.borrow().len(),
        3,
        "nothing more after the first call"
    );
}

#[test]
fn incomplete_labels_are_refused_without_calling_amazon() {
    let host = FakeHost::new();
    let mut other = label("L1", "111-0000001-0000001");
    other.carrier_code = "Other".into();
    let mut no_items = label("L2", "111-0000002-0000002");
    no_items.orders[0].items.clear();
    let sneaky = label("L3", "../../sellers/v1/account");
    let mut far_future = label("L4", "111-0000004-0000004");
    far_future.ship_date = DateTime::<Utc>::MAX_UTC;
    let mut no_item_id = label("L5", "111-0000005-0000005");
    no_item_id.orders[0].items[0].order_item_id = " ".into();
    let mut none_of_it = label("L6", "111-0000006-0000006");
    none_of_it.orders[0].items[0].quantity = 0;
    let outcomes = on_label_created(
        &host,
        &us_settings(),
        &[other, no_items, sneaky, far_future, no_item_id, none_of_it],
    )
    .unwrap();
    let fields: Vec<_> = outcomes
        .iter()
        .map(|o| match &o.outcome {
            NotificationResult::NotSent(NotSentReason::InvalidLabel { field, .. }) => {
                field.as_str()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        fields,
        [
            "labels[0].carrier-name",
            "labels[1].orders[0].items",
            "labels[2].orders[0].order-id",
            "labels[3].ship-date",
            "labels[4].orders[0].items[0]",
            "labels[5].orders[0].items[0]"
        ]
    );
    assert!(host.sent.borrow().is_empty(), "not even a token exchange");
}

#[test]
fn an_update_storage_cannot_keep_is_not_sent() {
    let host = FakeHost::new();
    host.failing_writes.set(true);
    let outcomes =
        on_label_created(&host, &us_settings(), &[label("L1", "111-0000001-0000001")]).unwrap();
    assert!(matches!(
        outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::StorageFailed(_))
    ));
    assert!(host.sent.borrow().is_empty(), "nothing unrecorded is sent");
}

#[test]
fn a_queued_update_is_delivered_when_the_bucket_allows_and_only_once() {
    let host = FakeHost::new();
    let throttled = r#"{"errors":[{"code":"QuotaExceeded","message":"quota"}]}"#;
    host.expect_token().expect("POST", CONFIRM, 429, throttled);
    let first = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    let due = host.now() + Duration::milliseconds(500);
    assert_eq!(first[0].outcome, NotificationResult::Queued(due));

    // A second label for the same order while the first waits: not sent.
    let mut second = two_labels()[0].clone();
    second.label_id = "L9".into();
    let outcomes = on_label_created(&host, &us_settings(), &[second.clone()]).unwrap();
    assert_eq!(
        outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::EarlierUpdateQueued("L1".into()))
    );
    assert_eq!(host.sent.borrow().len(), 2, "no call for it");

    // Early: nothing is sent, the report says when.
    let early = send_queued_notifications(&host, &us_settings()).unwrap();
    assert!(early.outcomes.is_empty());
    assert_eq!((early.pending, early.next_call_after), (1, Some(due)));

    host.set_now(due);
    host.expect("POST", CONFIRM, 204, "");
    let delivered = send_queued_notifications(&host, &us_settings()).unwrap();
    assert_eq!(delivered.outcomes.len(), 1);
    assert_eq!(delivered.outcomes[0].label_id, "L1");
    assert_eq!(delivered.outcomes[0].outcome, NotificationResult::Sent);
    assert_eq!((delivered.pending, delivered.next_call_after), (0, None));
    let body = &host.sent.borrow()[2].body;
    assert!(
        body.contains("112345678"),
        "the first label's tracking: {body}"
    );
    assert!(
        host.key_exists("redaction/order/111-0000001-0000001"),
        "its redaction is scheduled"
    );

    let again = send_queued_notifications(&host, &us_settings()).unwrap();
    assert!(again.outcomes.is_empty(), "never twice");
    let later = on_label_created(&host, &us_settings(), &[second]).unwrap();
    assert_eq!(
        later[0].outcome,
        NotificationResult::NotSent(NotSentReason::AlreadyNotified)
    );
    assert_eq!(host.unanswered(), 0);
}

#[test]
fn a_queued_update_amazon_refuses_is_reported_and_dropped() {
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 503, "");
    on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    host.set_now(host.now() + RETRY_AFTER_FAILURE);
    host.expect(
        "POST",
        CONFIRM,
        400,
        r#"{"errors":[{"code":"InvalidInput","message":"Invalid carrier code"}]}"#,
    );
    let report = send_queued_notifications(&host, &us_settings()).unwrap();
    assert!(matches!(
        report.outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::Rejected(_))
    ));
    assert_eq!(report.pending, 0);
    assert!(!host.key_exists("outbox/111-0000001-0000001"));
}

#[test]
fn a_storage_failure_at_any_write_loses_no_update_and_repeats_none() {
    let mut seen_sent_then_kept = false;
    for writes in 0..20 {
        let host = FakeHost::new();
        host.expect_token()
            .expect("POST", CONFIRM, 204, "")
            .expect("POST", CONFIRM, 204, "");
        host.writes_before_failure.set(Some(writes));
        let result = on_label_created(&host, &us_settings(), &two_labels());
        host.writes_before_failure.set(None);
        let confirmed: Vec<String> = host
            .sent
            .borrow()
            .iter()
            .filter(|s| s.uri.ends_with("/shipmentConfirmation"))
            .map(|s| s.uri.split('/').nth_back(1).unwrap().to_owned())
            .collect();
        let store = Store::new(&host);
        let outbox = Outbox::new(&store);
        for order in ["111-0000001-0000001", "111-0000002-0000002"] {
            let entry = outbox.get(order).unwrap();
            let notified = outbox.notified(order).unwrap().is_some();
            if confirmed.iter().any(|c| c == order) {
                // Amazon has it: recorded, or marked so Amazon is asked before
                // it is ever sent again.
                assert!(
                    notified || entry.is_some_and(|e| e.stage == Stage::Sending),
                    "after {writes} writes, {order}"
                );
            } else if entry.is_none() && result.is_ok() {
                // Not kept: the host was told so. (On `Err` the host repeats the
                // whole call, which is idempotent.)
                let outcome = result.as_ref().ok().and_then(|o| {
                    o.iter()
                        .find(|o| o.order_id == order)
                        .map(|o| o.outcome.clone())
                });
                assert!(
                    matches!(
                        outcome,
                        Some(NotificationResult::NotSent(NotSentReason::StorageFailed(_)))
                    ),
                    "after {writes} writes, {order}: {outcome:?}"
                );
            }
        }
        if let Ok(outcomes) = &result {
            let sent = outcomes
                .iter()
                .filter(|o| o.outcome == NotificationResult::Sent)
                .count();
            assert_eq!(sent, confirmed.len(), "after {writes} writes");
            seen_sent_then_kept |= matches!(
                (&outcomes[0].outcome, &outcomes[1].outcome),
                (NotificationResult::Sent, NotificationResult::Queued(_))
            );
        }
    }
    assert!(
        seen_sent_then_kept,
        "some failure point falls between Amazon's acceptance and the next update"
    );
}

#[test]
fn carriers_go_to_amazon_as_amazon_spells_them() {
    let host = FakeHost::new();
    host.expect_token()
        .expect("POST", CONFIRM, 204, "")
        .expect("POST", CONFIRM, 204, "");
    let mut labels = two_labels().to_vec();
    labels[0].carrier_code = "ups".into();
    labels[1].carrier_code = "Acme Couriers".into();
    on_label_created(&host, &us_settings(), &labels).unwrap();
    let sent = host.sent.borrow();
    let detail = |i: usize| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&sent[i].body).unwrap()["packageDetail"].clone()
    };
    assert_eq!(detail(1)["carrierCode"], "UPS");
    assert!(detail(1).get("carrierName").is_none());
    assert_eq!(detail(2)["carrierCode"], "Other");
    assert_eq!(detail(2)["carrierName"], "Acme Couriers");
}

#[test]
fn the_first_update_of_a_split_order_confirms_all_it_has_to_ship() {
    let host = FakeHost::new();
    remember_unshipped(
        &Store::new(&host),
        "111-0000001-0000001",
        &Unshipped {
            marketplace: "ATVPDKIKX0DER".into(),
            items: vec![("79039765272157".into(), 1), ("79039765272158".into(), 2)],
        },
    )
    .unwrap();
    host.expect_token().expect("POST", CONFIRM, 204, "");
    // The label holds only the first line.
    on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    let body: serde_json::Value = serde_json::from_str(&host.sent.borrow()[1].body).unwrap();
    assert_eq!(
        body["packageDetail"]["orderItems"],
        serde_json::json!([
            {"orderItemId": "79039765272157", "quantity": 1},
            {"orderItemId": "79039765272158", "quantity": 2}
        ])
    );
}

#[test]
fn every_label_not_sent_gets_its_own_redaction_schedule() {
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 204, "");
    on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    let mut again = two_labels()[0].clone();
    again.label_id = "L-AGAIN".into();
    let outcomes = on_label_created(&host, &us_settings(), &[again]).unwrap();
    assert_eq!(
        outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::AlreadyNotified)
    );
    // Tracked: the earlier of ship date + 30 days and label + 44 days.
    host.set_now(at("2026-12-20T17:00:00Z"));
    let directives = crate::redact::redact(&host).unwrap();
    let labels: Vec<_> = directives
        .iter()
        .filter_map(|d| match &d.target {
            crate::model::RedactionTarget::Label(id) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        labels,
        ["L1", "L-AGAIN"],
        "the sent label and the one that was not"
    );
    let label_only: Vec<_> = directives
        .iter()
        .filter(|d| d.id.contains("#L-AGAIN"))
        .collect();
    assert_eq!(label_only.len(), 1, "only the label, not the order again");
}

#[test]
fn a_refusal_for_an_update_amazon_already_has_is_a_success() {
    let refused =
        r#"{"errors":[{"code":"InvalidInput","message":"The order has already been shipped"}]}"#;
    let packages = |tracking: &str| {
        format!(
            r#"{{"order":{{"orderId":"111-0000001-0000001","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T10:00:00Z","salesChannel":{{"channelName":"AMAZON"}},"orderItems":[],"packages":[{{"packageReferenceId":"1","trackingNumber":"{tracking}"}}]}}}}"#
        )
    };
    let host = FakeHost::new();
    host.expect_token()
        .expect("POST", CONFIRM, 400, refused)
        .expect(
            "GET",
            "/orders/2026-01-01/orders/111-0000001-0000001",
            200,
            &packages("112345678"),
        );
    let outcomes = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    assert_eq!(
        outcomes[0].outcome,
        NotificationResult::Sent,
        "Amazon has this tracking"
    );
    assert!(host.sent.borrow()[2].uri.contains("includedData=PACKAGES"));
    assert!(host.key_exists("shipment/111-0000001-0000001"));

    let host = FakeHost::new();
    host.expect_token()
        .expect("POST", CONFIRM, 400, refused)
        .expect(
            "GET",
            "/orders/2026-01-01/orders/111-0000001-0000001",
            200,
            &packages("OTHER"),
        );
    let outcomes = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    assert!(matches!(
        outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::Rejected(_))
    ));
}

#[test]
fn a_delivery_amazon_cannot_take_now_stays_queued() {
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 503, "");
    on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    host.set_now(host.now() + RETRY_AFTER_FAILURE);
    host.expect("POST", CONFIRM, 503, "");
    let report = send_queued_notifications(&host, &us_settings()).unwrap();
    let retry_at = host.now() + RETRY_AFTER_FAILURE;
    assert_eq!(
        report.outcomes[0].outcome,
        NotificationResult::Queued(retry_at)
    );
    assert_eq!(
        (report.pending, report.next_call_after),
        (1, Some(retry_at))
    );
}

#[test]
fn a_second_label_in_the_same_call_follows_the_first_s_outcome() {
    let order = "111-0000009-0000009";
    // Sent first: the second is already notified, not "queued".
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 204, "");
    let outcomes = on_label_created(
        &host,
        &us_settings(),
        &[label("L1", order), label("L2", order)],
    )
    .unwrap();
    assert_eq!(outcomes[0].outcome, NotificationResult::Sent);
    assert_eq!(
        outcomes[1].outcome,
        NotificationResult::NotSent(NotSentReason::AlreadyNotified)
    );
    assert_eq!(host.unanswered(), 0);

    // Refused first: the second goes in the same call, and each keeps its outcome.
    let host = FakeHost::new();
    let refused = r#"{"errors":[{"code":"InvalidInput","message":"Invalid Input"}]}"#;
    host.expect_token()
        .expect("POST", CONFIRM, 400, refused)
        .expect(
            "GET",
            &format!("/orders/2026-01-01/orders/{order}"),
            404,
            "{}",
        )
        .expect("POST", CONFIRM, 204, "");
    let outcomes = on_label_created(
        &host,
        &us_settings(),
        &[label("L1", order), label("L2", order)],
    )
    .unwrap();
    assert!(matches!(
        outcomes[0].outcome,
        NotificationResult::NotSent(NotSentReason::Rejected(_))
    ));
    assert_eq!(outcomes[1].outcome, NotificationResult::Sent);
    assert_eq!(host.unanswered(), 0);

    // Throttled first: the second is behind a queued update.
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 429, "{}");
    let outcomes = on_label_created(
        &host,
        &us_settings(),
        &[label("L1", order), label("L2", order)],
    )
    .unwrap();
    assert!(matches!(outcomes[0].outcome, NotificationResult::Queued(_)));
    assert_eq!(
        outcomes[1].outcome,
        NotificationResult::NotSent(NotSentReason::EarlierUpdateQueued("L1".into()))
    );
}

#[test]
fn an_update_not_due_yet_waits_while_a_due_one_goes() {
    let host = FakeHost::new();
    let [first, second] = two_labels();
    host.expect_token().expect("POST", CONFIRM, 503, "");
    on_label_created(&host, &us_settings(), &[first]).unwrap();
    host.set_now(host.now() + Duration::seconds(30));
    host.expect("POST", CONFIRM, 503, "");
    on_label_created(&host, &us_settings(), &[second]).unwrap();
    let second_due = host.now() + RETRY_AFTER_FAILURE;

    host.set_now(host.now() + Duration::seconds(30));
    host.expect("POST", CONFIRM, 204, "");
    let report = send_queued_notifications(&host, &us_settings()).unwrap();
    assert_eq!(report.outcomes.len(), 1, "{:?}", report.outcomes);
    assert_eq!(report.outcomes[0].label_id, "L1");
    assert_eq!(host.unanswered(), 0);
    assert_eq!(
        (report.pending, report.next_call_after),
        (1, Some(second_due))
    );
}

#[test]
fn nothing_is_sent_while_the_confirm_shipment_bucket_is_empty() {
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 503, "");
    on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    host.set_now(host.now() + RETRY_AFTER_FAILURE);
    host.empty_bucket(&Operation::CONFIRM_SHIPMENT);
    let sent = host.sent.borrow().len();

    let report = send_queued_notifications(&host, &us_settings()).unwrap();
    assert_eq!(host.sent.borrow().len(), sent, "a 429 Amazon would give");
    assert_eq!(
        (report.pending, report.next_call_after),
        (1, Some(host.now() + Duration::milliseconds(500)))
    );
}

#[test]
fn a_lost_answer_or_a_failed_write_waits_a_minute_before_the_next_try() {
    let host = FakeHost::new();
    host.expect_token().expect_lost("POST", CONFIRM);
    let outcomes = on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    assert_eq!(
        outcomes[0].outcome,
        NotificationResult::Queued(host.now() + RETRY_AFTER_FAILURE),
        "asked about, not sent again, a minute on"
    );

    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 503, "");
    on_label_created(&host, &us_settings(), &two_labels()[..1]).unwrap();
    host.set_now(host.now() + RETRY_AFTER_FAILURE);
    host.failing_writes.set(true);
    let report = send_queued_notifications(&host, &us_settings()).unwrap();
    assert_eq!(
        report.outcomes[0].outcome,
        NotificationResult::Queued(host.now() + RETRY_AFTER_FAILURE)
    );
}

#[test]
fn where_an_update_stands_is_told_per_label() {
    let host = FakeHost::new();
    let store = Store::new(&host);
    let outbox = Outbox::new(&store);
    let now = host.now();
    outbox
        .mark_notified(
            "111-1",
            &Notified {
                label_id: "L1".into(),
                sent_at: now,
                feed_id: None,
            },
        )
        .unwrap();
    outbox
        .mark_rejected(
            "111-2",
            &outbox::Rejected {
                label_id: "L1".into(),
                error: crate::error::AmazonError {
                    operation: "confirmShipment".into(),
                    status: 400,
                    code: "InvalidInput".into(),
                    message: "The order is cancelled".into(),
                    request_id: None,
                },
            },
        )
        .unwrap();
    let state = |order, label| state_of(&store, order, label, now).unwrap();
    assert_eq!(state("111-1", "L1"), NotificationResult::Sent);
    assert_eq!(
        state("111-1", "L2"),
        NotificationResult::NotSent(NotSentReason::AlreadyNotified)
    );
    assert!(matches!(
        state("111-2", "L1"),
        NotificationResult::NotSent(NotSentReason::Rejected(_))
    ));
    assert!(matches!(
        state("111-2", "L2"),
        NotificationResult::NotSent(NotSentReason::StorageFailed(_))
    ));
}

/// A connection of the US and Canada, Canada with its own carrier list.
fn us_and_canada() -> ConnectionSettings {
    let mut connection = us_settings();
    let mut canada = connection.sources[0].clone();
    canada.marketplace_id = "A2EUQ1WTGCTBG2".into();
    canada.carrier_codes = vec!["Canada Post".into(), "Purolator".into()];
    connection.sources.push(canada);
    connection
}

fn imported_in(host: &FakeHost, order_id: &str, marketplace: &str) {
    let unshipped = Unshipped {
        marketplace: marketplace.into(),
        items: vec![("79039765272157".into(), 1)],
    };
    remember_unshipped(&Store::new(host), order_id, &unshipped).unwrap();
}

#[test]
fn each_update_goes_to_its_order_s_marketplace_with_that_source_s_carriers() {
    let host = FakeHost::new();
    imported_in(&host, "111-0000001-0000001", "ATVPDKIKX0DER");
    imported_in(&host, "702-0000001-0000002", "A2EUQ1WTGCTBG2");
    let mut labels = [
        label("L1", "111-0000001-0000001"),
        label("L2", "702-0000001-0000002"),
    ];
    for label in &mut labels {
        label.carrier_code = "purolator".into();
    }
    host.expect_token()
        .expect("POST", CONFIRM, 204, "")
        .expect("POST", CONFIRM, 204, "");
    let outcomes = on_label_created(&host, &us_and_canada(), &labels).unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| o.outcome == NotificationResult::Sent)
    );
    let sent: BTreeMap<String, (String, String)> = host.sent.borrow()[1..]
        .iter()
        .map(|sent| {
            let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
            let order = sent.uri.split('/').nth_back(1).unwrap().to_owned();
            let carrier = body["packageDetail"]["carrierCode"]
                .as_str()
                .unwrap()
                .to_owned();
            (
                order,
                (body["marketplaceId"].as_str().unwrap().to_owned(), carrier),
            )
        })
        .collect();
    // Purolator is on Canada's list only: the US source sends it as Other.
    assert_eq!(
        sent["111-0000001-0000001"],
        ("ATVPDKIKX0DER".into(), "Other".into())
    );
    assert_eq!(
        sent["702-0000001-0000002"],
        ("A2EUQ1WTGCTBG2".into(), "Purolator".into())
    );
}

#[test]
fn an_order_whose_marketplace_is_unknown_or_not_a_source_is_an_invalid_label() {
    let host = FakeHost::new();
    imported_in(&host, "111-0000001-0000001", "ATVPDKIKX0DER");
    imported_in(&host, "171-0000001-0000003", "A1AM78C64UM0Y8");
    let named = |label_id: &str, order_id: &str, marketplace: Option<&str>| {
        let mut label = label(label_id, order_id);
        label.orders[0].marketplace_id = marketplace.map(str::to_owned);
        label
    };
    let labels = [
        // Not imported here, and the connection has two sources.
        named("L1", "702-0000001-0000002", None),
        // Imported from the US, named as Canada.
        named("L2", "111-0000001-0000001", Some("A2EUQ1WTGCTBG2")),
        // Imported from Mexico, which is not a source (removed, say).
        named("L3", "171-0000001-0000003", None),
        // Not imported, named: it goes to Canada.
        named("L4", "702-0000001-0000004", Some("A2EUQ1WTGCTBG2")),
    ];
    host.expect_token().expect("POST", CONFIRM, 204, "");
    let outcomes = on_label_created(&host, &us_and_canada(), &labels).unwrap();
    for (n, outcome) in outcomes[..3].iter().enumerate() {
        assert!(
            matches!(&outcome.outcome, NotificationResult::NotSent(NotSentReason::InvalidLabel { field, .. })
                if *field == format!("labels[{n}].orders[0].marketplace-id")),
            "{outcome:?}"
        );
    }
    assert_eq!(outcomes[3].outcome, NotificationResult::Sent);
    assert_eq!(host.unanswered(), 0);
    let body: serde_json::Value = serde_json::from_str(&host.sent.borrow()[1].body).unwrap();
    assert_eq!(body["marketplaceId"], "A2EUQ1WTGCTBG2");
    // With one source, an order not imported here goes to it.
    let host = FakeHost::new();
    host.expect_token().expect("POST", CONFIRM, 204, "");
    let outcomes = on_label_created(&host, &us_settings(), &labels[..1]).unwrap();
    assert_eq!(outcomes[0].outcome, NotificationResult::Sent);
}
