//! `on-label-created` and `deliver-notifications`: one shipment confirmation per
//! order. An order Amazon already has tracking for is not sent again; a throttled or
//! failed send is kept in the outbox, never dropped, and `deliver-notifications`
//! sends it as soon as Amazon's bucket allows.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::host::{Host, Store};
use crate::model::{
    DeliveryReport, LabelEvent, LabelOrder, NotSentReason, NotificationOutcome, NotificationResult,
    StoreSettings,
};
use crate::redact;
use crate::spapi::orders::{GetOrderResponse, get_order_path};
use crate::spapi::shipments::{ConfirmItem, ConfirmShipmentRequest, PackageDetail, confirm_path};
use crate::spapi::{Operation, SpApi, carriers};

/// `shipment/{order id}`: Amazon has tracking for this order.
pub const SHIPMENT_PREFIX: &str = "shipment/";
/// `outbox/{order id}`: a confirmation waiting to be retried.
pub const OUTBOX_PREFIX: &str = "outbox/";
/// The order ids that have an outbox entry (the key-value store cannot list keys).
pub const OUTBOX_INDEX: &str = "outbox-index";
/// `unshipped/{order id}`: the order's items Amazon counts as unshipped, from import.
pub const UNSHIPPED_PREFIX: &str = "unshipped/";

/// Keeps what an imported order still has to ship (order item ids and quantities).
pub fn remember_unshipped(
    store: &Store<'_>,
    order_id: &str,
    items: &[(String, u32)],
) -> Result<(), Error> {
    store.save(&format!("{UNSHIPPED_PREFIX}{order_id}"), &items)
}
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
#[derive(Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Host label id.
    pub label_id: String,
    /// The confirmShipment body to send again.
    pub request: ConfirmShipmentRequest,
    /// Not before.
    pub retry_at: DateTime<Utc>,
    /// What the redaction schedule needs once it is sent.
    #[serde(default)]
    pub automatic_tracking: bool,
    /// When the label was created.
    #[serde(default)]
    pub label_created_at: Option<DateTime<Utc>>,
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
                Ok(()) => match notify_order(&api, &store, settings, label, order) {
                    Ok(outcome) => outcome,
                    // The update could not be recorded, so it was not sent; the other
                    // orders' outcomes (some perhaps sent) are not thrown away.
                    Err(Error::Storage(e)) => {
                        NotificationResult::NotSent(NotSentReason::StorageFailed(e))
                    }
                    Err(e) => return Err(e),
                },
            };
            // A label whose update was not sent still holds the buyer's address: it
            // gets a redaction schedule of its own. (A sent or queued one is
            // scheduled with its order once Amazon has it.)
            if matches!(outcome, NotificationResult::NotSent(_))
                && let Err(e) = redact::schedule_label(&store, &order.order_id, label)
            {
                log::error!(
                    "label {} could not be scheduled for redaction: {e}",
                    label.label_id
                );
            }
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
    // One update per order: while an earlier label's waits in the outbox, this one
    // is not sent (and the queued one is not replaced).
    if let Some(queued) =
        store.load::<OutboxEntry>(&format!("{OUTBOX_PREFIX}{}", order.order_id))?
    {
        return Ok(if queued.label_id == label.label_id {
            NotificationResult::Queued(queued.retry_at)
        } else {
            NotificationResult::NotSent(NotSentReason::EarlierUpdateQueued(queued.label_id))
        });
    }
    let (carrier_code, carrier_name) =
        carriers::amazon_carrier(&label.carrier_code, label.carrier_name.as_deref());
    let request = ConfirmShipmentRequest {
        marketplace_id: settings.marketplace_id.clone(),
        package_detail: PackageDetail {
            package_reference_id: PACKAGE_REFERENCE_ID.to_owned(),
            carrier_code,
            carrier_name,
            shipping_method: label.service.clone(),
            tracking_number: label.tracking_number.clone(),
            ship_date: label.ship_date.to_rfc3339_opts(SecondsFormat::Millis, true),
            order_items: items_to_confirm(store, order)?,
        },
    };
    let entry = OutboxEntry {
        label_id: label.label_id.clone(),
        request,
        retry_at: api.now(),
        automatic_tracking: label.automatic_tracking,
        label_created_at: Some(label.created_at),
    };
    send(api, store, &order.order_id, entry)
}

/// Sends one confirmation. On Amazon's acceptance the order is marked notified and
/// its redaction scheduled; on a failure worth retrying the exact request is kept in
/// the outbox (index first, so a crash in between leaves an index entry to clean up,
/// never an entry nobody will send); on Amazon's refusal it is dropped.
fn send(
    api: &SpApi<'_>,
    store: &Store<'_>,
    order_id: &str,
    mut entry: OutboxEntry,
) -> Result<NotificationResult, Error> {
    let sent = api.post_json(
        Operation::CONFIRM_SHIPMENT,
        &confirm_path(order_id),
        &entry.request,
    );
    let retry_at = match sent {
        Ok(_) => {
            record_sent(store, order_id, &entry, api.now());
            return Ok(NotificationResult::Sent);
        }
        Err(Error::Throttled { retry_at }) => retry_at,
        Err(Error::Transport(reason)) => {
            log::warn!("confirmShipment for {order_id} failed in transit: {reason}");
            api.now() + RETRY_AFTER_FAILURE
        }
        // Not Amazon's verdict on the update: a server error, a timeout (408), a
        // redirect from something in between, or a token refused twice (401).
        Err(Error::Amazon(e)) if e.status >= 500 || matches!(e.status, 300..=399 | 408) => {
            api.now() + RETRY_AFTER_FAILURE
        }
        Err(Error::AccessDenied(e)) if e.status == 401 => api.now() + RETRY_AFTER_FAILURE,
        // Amazon may refuse an update because it already has it (an answer lost on
        // the way back, a second worker): its own PACKAGES data decides.
        Err(Error::Amazon(e)) if e.status == 400 && amazon_has(api, order_id, &entry) => {
            log::info!("Amazon already has the tracking for {order_id}");
            record_sent(store, order_id, &entry, api.now());
            return Ok(NotificationResult::Sent);
        }
        Err(Error::Amazon(e) | Error::AccessDenied(e)) => {
            forget(store, order_id)?;
            redact::schedule_label(store, order_id, &sent_label(order_id, &entry, api.now()))?;
            return Ok(NotificationResult::NotSent(NotSentReason::Rejected(e)));
        }
        Err(other) => return Err(other),
    };
    entry.retry_at = retry_at;
    let mut index: BTreeSet<String> = store.load(OUTBOX_INDEX)?.unwrap_or_default();
    if index.insert(order_id.to_owned()) {
        store.save(OUTBOX_INDEX, &index)?;
    }
    store.save(&format!("{OUTBOX_PREFIX}{order_id}"), &entry)?;
    Ok(NotificationResult::Queued(retry_at))
}

/// Amazon has the update: that is the outcome, whatever storage does next.
fn record_sent(store: &Store<'_>, order_id: &str, entry: &OutboxEntry, now: DateTime<Utc>) {
    let recorded = store
        .save(
            &format!("{SHIPMENT_PREFIX}{order_id}"),
            &Notified {
                label_id: entry.label_id.clone(),
                sent_at: now,
            },
        )
        .and_then(|()| forget(store, order_id))
        .and_then(|()| {
            redact::schedule_shipment(store, order_id, &sent_label(order_id, entry, now))
        });
    if let Err(e) = recorded {
        log::error!("Amazon has the update for {order_id}, but recording it failed: {e}");
    }
}

/// True when Amazon's PACKAGES data for the order holds this update's tracking
/// number. Any failure to find out is a no.
fn amazon_has(api: &SpApi<'_>, order_id: &str, entry: &OutboxEntry) -> bool {
    let query = [("includedData", "PACKAGES".to_owned())];
    let Ok(response) =
        api.get::<GetOrderResponse>(Operation::GET_ORDER, &get_order_path(order_id), &query)
    else {
        return false;
    };
    #[derive(serde::Deserialize)]
    struct Packages {
        #[serde(default)]
        packages: Vec<crate::spapi::orders::Package>,
    }
    serde_json::from_str::<Packages>(response.order.get()).is_ok_and(|order| {
        order.packages.iter().any(|p| {
            p.tracking_number.as_deref()
                == Some(entry.request.package_detail.tracking_number.as_str())
        })
    })
}

/// Removes an order's outbox entry, then its index entry.
fn forget(store: &Store<'_>, order_id: &str) -> Result<(), Error> {
    store.remove(&format!("{OUTBOX_PREFIX}{order_id}"))?;
    let mut index: BTreeSet<String> = store.load(OUTBOX_INDEX)?.unwrap_or_default();
    if index.remove(order_id) {
        store.save(OUTBOX_INDEX, &index)?;
    }
    Ok(())
}

/// The label, as far as the redaction schedule needs it, of an update sent from
/// the outbox.
fn sent_label(order_id: &str, entry: &OutboxEntry, now: DateTime<Utc>) -> LabelEvent {
    let ship_date = DateTime::parse_from_rfc3339(&entry.request.package_detail.ship_date)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    LabelEvent {
        label_id: entry.label_id.clone(),
        orders: vec![LabelOrder {
            order_id: order_id.to_owned(),
            items: Vec::new(),
        }],
        carrier_code: entry.request.package_detail.carrier_code.clone(),
        carrier_name: entry.request.package_detail.carrier_name.clone(),
        service: entry.request.package_detail.shipping_method.clone(),
        tracking_number: entry.request.package_detail.tracking_number.clone(),
        ship_date,
        created_at: entry.label_created_at.unwrap_or(now),
        carrier_fee: None,
        automatic_tracking: entry.automatic_tracking,
        batch_id: None,
    }
}

/// Sends the queued updates that are due, in the order they fell due, while the
/// bucket allows.
pub fn deliver_notifications(
    host: &dyn Host,
    settings: &StoreSettings,
) -> Result<DeliveryReport, Error> {
    settings.validate()?;
    let store = Store::new(host);
    let now = host.now();
    let index: BTreeSet<String> = store.load(OUTBOX_INDEX)?.unwrap_or_default();
    let mut queued = Vec::new();
    for order_id in &index {
        match store.load::<OutboxEntry>(&format!("{OUTBOX_PREFIX}{order_id}")) {
            Ok(Some(entry)) => queued.push((order_id.clone(), entry)),
            // An index entry without its update (a crash between the two writes).
            Ok(None) => forget(&store, order_id)?,
            Err(e) => log::error!("the outbox entry of {order_id} is unreadable: {e}"),
        }
    }
    queued.sort_by_key(|(_, entry)| entry.retry_at);
    let due = queued.iter().any(|(_, e)| e.retry_at <= now);
    let mut outcomes = Vec::new();
    if due {
        let api = SpApi::authorize(host, settings)?;
        for (order_id, entry) in queued.iter().filter(|(_, e)| e.retry_at <= now) {
            if api.ready_at(Operation::CONFIRM_SHIPMENT) > api.now() {
                break;
            }
            let label_id = entry.label_id.clone();
            let outcome = send(&api, &store, order_id, entry.clone())?;
            outcomes.push(NotificationOutcome {
                label_id,
                order_id: order_id.clone(),
                outcome,
            });
        }
    }
    let index: BTreeSet<String> = store.load(OUTBOX_INDEX)?.unwrap_or_default();
    let mut next: Option<DateTime<Utc>> = None;
    for order_id in &index {
        if let Ok(Some(entry)) = store.load::<OutboxEntry>(&format!("{OUTBOX_PREFIX}{order_id}")) {
            next = Some(next.map_or(entry.retry_at, |n| n.min(entry.retry_at)));
        }
    }
    let next = next.map(|n| {
        n.max(crate::spapi::pacing::ready_at(
            &store,
            &Operation::CONFIRM_SHIPMENT,
            host.now(),
        ))
    });
    log::info!(
        "delivered {} queued updates, {} pending",
        outcomes.len(),
        index.len()
    );
    Ok(DeliveryReport {
        outcomes,
        pending: u32::try_from(index.len()).unwrap_or(u32::MAX),
        next_call_after: next,
    })
}

/// The order's one shipment update carries everything it still has to ship (a split
/// order's later packages would otherwise never be confirmed); the label's items
/// when the order was not imported here.
fn items_to_confirm(store: &Store<'_>, order: &LabelOrder) -> Result<Vec<ConfirmItem>, Error> {
    let unshipped: Option<Vec<(String, u32)>> =
        store.load(&format!("{UNSHIPPED_PREFIX}{}", order.order_id))?;
    Ok(match unshipped.filter(|items| !items.is_empty()) {
        Some(items) => items
            .into_iter()
            .map(|(order_item_id, quantity)| ConfirmItem {
                order_item_id,
                quantity,
            })
            .collect(),
        None => order
            .items
            .iter()
            .map(|i| ConfirmItem {
                order_item_id: i.order_item_id.clone(),
                quantity: i.quantity,
            })
            .collect(),
    })
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
        let early = deliver_notifications(&host, &us_settings()).unwrap();
        assert!(early.outcomes.is_empty());
        assert_eq!((early.pending, early.next_call_after), (1, Some(due)));

        host.set_now(due);
        host.expect("POST", CONFIRM, 204, "");
        let delivered = deliver_notifications(&host, &us_settings()).unwrap();
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

        let again = deliver_notifications(&host, &us_settings()).unwrap();
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
        let report = deliver_notifications(&host, &us_settings()).unwrap();
        assert!(matches!(
            report.outcomes[0].outcome,
            NotificationResult::NotSent(NotSentReason::Rejected(_))
        ));
        assert_eq!(report.pending, 0);
        assert!(!host.key_exists("outbox/111-0000001-0000001"));
    }

    #[test]
    fn a_storage_failure_after_amazon_accepted_keeps_every_outcome() {
        let host = FakeHost::new();
        host.expect_token().expect("POST", CONFIRM, 204, "");
        // The token and the first bucket view are written; then the disk is full.
        host.writes_before_failure.set(Some(2));
        let outcomes = on_label_created(&host, &us_settings(), &two_labels()).unwrap();
        assert_eq!(
            outcomes[0].outcome,
            NotificationResult::Sent,
            "Amazon has it"
        );
        assert!(matches!(
            outcomes[1].outcome,
            NotificationResult::NotSent(NotSentReason::StorageFailed(_))
        ));
        assert_eq!(
            host.sent.borrow().len(),
            2,
            "the second was not sent unrecorded"
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
            serde_json::from_str::<serde_json::Value>(&sent[i].body).unwrap()["packageDetail"]
                .clone()
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
            &[("79039765272157".into(), 1), ("79039765272158".into(), 2)],
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
        let refused = r#"{"errors":[{"code":"InvalidInput","message":"The order has already been shipped"}]}"#;
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
        let report = deliver_notifications(&host, &us_settings()).unwrap();
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
}
