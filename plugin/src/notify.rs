//! `on-label-created`: one shipment confirmation per order. An order Amazon already
//! has tracking for is not sent again; a throttled or failed send is kept in the
//! outbox, never dropped.

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::host::{Host, Store};
use crate::model::{
    LabelEvent, LabelOrder, NotSentReason, NotificationOutcome, NotificationResult, StoreSettings,
};
use crate::redact;
use crate::spapi::shipments::{ConfirmItem, ConfirmShipmentRequest, PackageDetail, confirm_path};
use crate::spapi::{Operation, SpApi};

/// `shipment/{order id}`: Amazon has tracking for this order.
pub const SHIPMENT_PREFIX: &str = "shipment/";
/// `outbox/{order id}`: a confirmation waiting to be retried.
pub const OUTBOX_PREFIX: &str = "outbox/";
/// Amazon assigns one package per order here: the order's first (and only) update.
const PACKAGE_REFERENCE_ID: &str = "1";
/// Retry delay after a transport failure or an Amazon 5xx.
const RETRY_AFTER_FAILURE: Duration = Duration::seconds(60);

/// The record that an order's tracking reached Amazon.
#[derive(Serialize, Deserialize)]
struct Notified {
    label_id: String,
    sent_at: DateTime<Utc>,
}

/// A confirmation kept for a retry: the exact request Amazon did not take yet.
/// Tracking data only, no buyer PII.
#[derive(Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Host label id.
    pub label_id: String,
    /// The confirmShipment body to send again.
    pub request: ConfirmShipmentRequest,
    /// Not before.
    pub retry_at: DateTime<Utc>,
}

/// Sends tracking for each (label, order) and reports one outcome for each.
pub fn on_label_created(
    host: &dyn Host,
    settings: &StoreSettings,
    labels: &[LabelEvent],
) -> Result<Vec<NotificationOutcome>, Error> {
    settings.validate()?;
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    let api = SpApi::authorize(host, settings)?;
    let store = Store::new(host);
    let mut outcomes = Vec::new();
    for (label_index, label) in labels.iter().enumerate() {
        for (order_index, order) in label.orders.iter().enumerate() {
            let label_field = format!("labels[{label_index}]");
            let outcome = match check_label(label, order, &label_field, order_index) {
                Err(reason) => NotificationResult::NotSent(reason),
                Ok(()) => notify_order(&api, &store, settings, label, order)?,
            };
            outcomes.push(NotificationOutcome {
                label_id: label.label_id.clone(),
                order_id: order.order_id.clone(),
                outcome,
            });
        }
    }
    Ok(outcomes)
}

/// The per-order send. `Err` only for storage failures: anything Amazon says becomes
/// an outcome.
fn notify_order(
    api: &SpApi<'_>,
    store: &Store<'_>,
    settings: &StoreSettings,
    label: &LabelEvent,
    order: &LabelOrder,
) -> Result<NotificationResult, Error> {
    let notified_key = format!("{SHIPMENT_PREFIX}{}", order.order_id);
    if store.load::<Notified>(&notified_key)?.is_some() {
        return Ok(NotificationResult::NotSent(NotSentReason::AlreadyNotified));
    }
    let request = ConfirmShipmentRequest {
        marketplace_id: settings.marketplace_id.clone(),
        package_detail: PackageDetail {
            package_reference_id: PACKAGE_REFERENCE_ID.to_owned(),
            carrier_code: label.carrier_code.clone(),
            carrier_name: label.carrier_name.clone(),
            shipping_method: label.service.clone(),
            tracking_number: label.tracking_number.clone(),
            ship_date: label.ship_date.to_rfc3339_opts(SecondsFormat::Millis, true),
            order_items: order
                .items
                .iter()
                .map(|i| ConfirmItem {
                    order_item_id: i.order_item_id.clone(),
                    quantity: i.quantity,
                })
                .collect(),
        },
    };
    let sent = api.post_json(
        Operation::CONFIRM_SHIPMENT,
        &confirm_path(&order.order_id),
        &request,
    );
    let retry_at = match sent {
        Ok(_) => {
            let now = api.now();
            store.save(
                &notified_key,
                &Notified {
                    label_id: label.label_id.clone(),
                    sent_at: now,
                },
            )?;
            store.remove(&format!("{OUTBOX_PREFIX}{}", order.order_id))?;
            redact::schedule_shipment(store, &order.order_id, label)?;
            return Ok(NotificationResult::Sent);
        }
        Err(Error::Throttled { retry_at }) => retry_at,
        Err(Error::Transport(reason)) => {
            log::warn!(
                "confirmShipment for {} failed in transit: {reason}",
                order.order_id
            );
            api.now() + RETRY_AFTER_FAILURE
        }
        // Not Amazon's verdict on the update: a server error, a timeout (408), a
        // redirect from something in between, or a token refused twice (401).
        Err(Error::Amazon(e)) if e.status >= 500 || matches!(e.status, 300..=399 | 408) => {
            api.now() + RETRY_AFTER_FAILURE
        }
        Err(Error::AccessDenied(e)) if e.status == 401 => api.now() + RETRY_AFTER_FAILURE,
        Err(Error::Amazon(e) | Error::AccessDenied(e)) => {
            return Ok(NotificationResult::NotSent(NotSentReason::Rejected(e)));
        }
        Err(other) => return Err(other),
    };
    store.save(
        &format!("{OUTBOX_PREFIX}{}", order.order_id),
        &OutboxEntry {
            label_id: label.label_id.clone(),
            request,
            retry_at,
        },
    )?;
    Ok(NotificationResult::Queued(retry_at))
}

/// What Amazon needs from a label, checked before spending a call on it.
fn check_label(
    label: &LabelEvent,
    order: &LabelOrder,
    label_field: &str,
    order_index: usize,
) -> Result<(), NotSentReason> {
    let field = format!("{label_field}.orders[{order_index}]");
    let invalid = |field: String, reason: &str| {
        Err(NotSentReason::InvalidLabel {
            field,
            reason: reason.to_owned(),
        })
    };
    // Amazon's ids are 19 characters ("3-7-7"); anything far longer is not one.
    let is_order_id = (1..=64).contains(&order.order_id.len())
        && order
            .order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !is_order_id {
        return invalid(
            format!("{field}.order-id"),
            "must be an Amazon order id (digits and dashes)",
        );
    }
    if label.tracking_number.trim().is_empty() {
        return invalid(
            format!("{label_field}.tracking-number"),
            "must not be empty",
        );
    }
    if label.carrier_code.trim().is_empty() {
        return invalid(format!("{label_field}.carrier-code"), "must not be empty");
    }
    if label.carrier_code.eq_ignore_ascii_case("other")
        && label
            .carrier_name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
    {
        return invalid(
            format!("{label_field}.carrier-name"),
            "Amazon requires it when the carrier code is Other",
        );
    }
    // Dates far outside any real shipment would overflow the redaction clocks.
    for (name, date) in [
        ("ship-date", label.ship_date),
        ("created-at", label.created_at),
    ] {
        if !(2000..=2200).contains(&date.year()) {
            return invalid(
                format!("{label_field}.{name}"),
                "must be a date between 2000 and 2200",
            );
        }
    }
    if order.items.is_empty() {
        return invalid(
            format!("{field}.items"),
            "must list the order items in the package",
        );
    }
    for (index, item) in order.items.iter().enumerate() {
        if item.order_item_id.trim().is_empty() || item.quantity == 0 {
            return invalid(
                format!("{field}.items[{index}]"),
                "needs an order item id and a quantity of at least 1",
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelItem;
    use crate::testing::{FakeHost, at, us_settings};

    fn label(label_id: &str, order_id: &str) -> LabelEvent {
        LabelEvent {
            label_id: label_id.into(),
            orders: vec![LabelOrder {
                order_id: order_id.into(),
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
        for status in [302, 401, 408, 500] {
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
    fn incomplete_labels_are_refused_without_calling_amazon() {
        let host = FakeHost::new();
        host.expect_token();
        let mut other = label("L1", "111-0000001-0000001");
        other.carrier_code = "Other".into();
        let mut no_items = label("L2", "111-0000002-0000002");
        no_items.orders[0].items.clear();
        let sneaky = label("L3", "../../sellers/v1/account");
        let mut far_future = label("L4", "111-0000004-0000004");
        far_future.ship_date = DateTime::<Utc>::MAX_UTC;
        let outcomes = on_label_created(
            &host,
            &us_settings(),
            &[other, no_items, sneaky, far_future],
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
                "labels[3].ship-date"
            ]
        );
        assert_eq!(host.sent.borrow().len(), 1, "only the token exchange");
    }

    #[test]
    fn a_storage_failure_is_an_error_not_a_silent_loss() {
        let host = FakeHost::new();
        host.expect_token();
        host.failing_writes.set(true);
        assert!(matches!(
            on_label_created(&host, &us_settings(), &[label("L1", "111-0000001-0000001")]),
            Err(Error::Storage(_))
        ));
    }
}
