//! Amazon's PII retention schedule, as ShipStation applies it:
//!
//! - not shipped: 14 days after import;
//! - shipped with automatic tracking: 30 days after delivery, 30 days after the ship
//!   date or 44 days after label creation, whichever is first;
//! - shipped without automatic tracking: 30 days after the shipment was created.
//!
//! Orders keep city, state and postal code; labels lose them too.
//!
//! Storage holds order ids, label ids and dates only: `redaction/order/{id}` is the
//! order's current rule and due time, and `redaction/hour/{hour}/{part}` lists the
//! orders due that hour. Rescheduling an order (it shipped) rewrites its record and leaves the old
//! hour's entry to be discarded when that hour is read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::host::{Host, Store};
use crate::model::{
    DeliveryEvent, LabelEvent, Order, PiiField, REDACTED, RedactionDirective, RedactionRule,
    RedactionTarget,
};
// Due orders are listed by hour, in parts (`redaction/hour/{hour}/{part}`), not in one
// list a day: a backlog imports tens of thousands of orders in a day, and a batch that
// rewrote all of them would make importing N orders cost N².
use crate::keys::{
    REDACTION_HOUR_PREFIX as HOUR_PREFIX, REDACTION_HOURS as HOURS_KEY,
    REDACTION_LABELS_PREFIX as LABELS_PREFIX, REDACTION_ORDER_PREFIX as ORDER_PREFIX,
};

/// A part takes more ids until it holds this many; then the hour starts a new one.
const PART_SIZE: usize = 250;

const UNSHIPPED_RETENTION: Duration = Duration::days(14);
const AFTER_SHIP_DATE: Duration = Duration::days(30);
const AFTER_DELIVERY: Duration = Duration::days(30);
const AFTER_LABEL_CREATED: Duration = Duration::days(44);
const UNTRACKED_RETENTION: Duration = Duration::days(30);

/// PII the order and the customer record lose. City, state and postal code stay on
/// the order (ShipStation's special case).
const ORDER_FIELDS: &[PiiField] = &[
    PiiField::CustomerName,
    PiiField::CompanyName,
    PiiField::StreetAddress,
    PiiField::Phone,
    PiiField::Email,
    PiiField::GiftMessage,
    PiiField::Customization,
    PiiField::PurchaseOrderNumber,
    PiiField::Username,
    PiiField::NotesFromBuyer,
];
/// Labels lose the whole address.
const LABEL_FIELDS: &[PiiField] = &[
    PiiField::CustomerName,
    PiiField::CompanyName,
    PiiField::StreetAddress,
    PiiField::City,
    PiiField::State,
    PiiField::PostalCode,
    PiiField::Phone,
];

#[derive(Debug, Serialize, Deserialize)]
struct Scheduled {
    rule: RedactionRule,
    due_at: DateTime<Utc>,
    label_id: Option<String>,
    /// Directive ids the host acknowledged. The record itself stays once due: it is
    /// what keeps a re-imported order redacted.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    acknowledged: BTreeSet<String>,
    /// The schedule of a label alone (one whose update was not sent): only the
    /// label is redacted by it; its order has its own schedule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    label_only: bool,
}

/// A label's own schedule lives beside the order's, under this subject.
fn label_subject(order_id: &str, label_id: &str) -> String {
    format!("{order_id}#{label_id}")
}

/// Starts the 14-day clock for an order on its first import; later imports of the
/// same order (status updates) leave the schedule alone.
pub fn schedule_import(
    store: &Store<'_>,
    order_id: &str,
    imported_at: DateTime<Utc>,
) -> Result<(), Error> {
    schedule_imports(store, &[order_id], imported_at)
}

/// [`schedule_import`] for a whole batch: the hour's list is read and written once per
/// batch, not once per order.
pub fn schedule_imports(
    store: &Store<'_>,
    order_ids: &[&str],
    imported_at: DateTime<Utc>,
) -> Result<(), Error> {
    let mut new = Vec::new();
    for order_id in order_ids {
        if store
            .load::<Scheduled>(&format!("{ORDER_PREFIX}{order_id}"))?
            .is_none()
        {
            new.push(*order_id);
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let due_at = imported_at + UNSHIPPED_RETENTION;
    // The hour's list first: a crash before the records are written leaves ids that
    // `redact` skips, and the next import schedules the orders again.
    add_to_hour(store, &hour_of(due_at), &new)?;
    for order_id in new {
        store.save(
            &format!("{ORDER_PREFIX}{order_id}"),
            &Scheduled {
                rule: RedactionRule::UnshippedAfterImport,
                due_at,
                label_id: None,
                acknowledged: BTreeSet::new(),
                label_only: false,
            },
        )?;
    }
    Ok(())
}

/// Moves an order to a shipped rule once its tracking reached Amazon (at `now`).
pub fn schedule_shipment(
    store: &Store<'_>,
    order_id: &str,
    label: &LabelEvent,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    schedule_shipments(store, &[(order_id, label.clone())], now)
}

/// [`schedule_shipment`] for many orders (a feed's report): each hour's list is
/// written once per [`PART_SIZE`] orders, not once per order.
pub fn schedule_shipments(
    store: &Store<'_>,
    shipments: &[(&str, LabelEvent)],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut by_hour: BTreeMap<String, Vec<(&str, Scheduled)>> = BTreeMap::new();
    for (order_id, label) in shipments {
        let Some((rule, due_at)) = shipped_rule(label) else {
            continue;
        };
        // Redacted stays redacted: a shipment of an order whose PII is already due
        // (the host may have redacted it) does not move its date back into the future.
        if let Ok(Some(existing)) = store.load::<Scheduled>(&format!("{ORDER_PREFIX}{order_id}"))
            && existing.due_at <= now
            && existing.due_at < due_at
        {
            continue;
        }
        let scheduled = Scheduled {
            rule,
            due_at,
            label_id: Some(label.label_id.clone()),
            acknowledged: BTreeSet::new(),
            label_only: false,
        };
        by_hour
            .entry(hour_of(due_at))
            .or_default()
            .push((order_id, scheduled));
    }
    for (hour, orders) in by_hour {
        for chunk in orders.chunks(PART_SIZE) {
            let order_ids: Vec<&str> = chunk.iter().map(|(order_id, _)| *order_id).collect();
            // The hour's list first, as for one order.
            add_to_hour(store, &hour, &order_ids)?;
            for (order_id, scheduled) in chunk {
                store.save(&format!("{ORDER_PREFIX}{order_id}"), scheduled)?;
            }
        }
    }
    Ok(())
}

/// Schedules a label whose update was not sent (Amazon had one already, an earlier
/// one is queued, Amazon refused it): the label still holds the buyer's address, on
/// the seed's shipped rules from its own dates.
pub fn schedule_label(store: &Store<'_>, order_id: &str, label: &LabelEvent) -> Result<(), Error> {
    let Some((rule, due_at)) = shipped_rule(label) else {
        return Ok(());
    };
    let subject = label_subject(order_id, &label.label_id);
    if store
        .load::<Scheduled>(&format!("{ORDER_PREFIX}{subject}"))?
        .is_some()
    {
        return Ok(());
    }
    let labels_key = format!("{LABELS_PREFIX}{order_id}");
    let mut labels: BTreeSet<String> = store.load(&labels_key)?.unwrap_or_default();
    if labels.insert(subject.clone()) {
        store.save(&labels_key, &labels)?;
    }
    schedule(
        store,
        &subject,
        Scheduled {
            rule,
            due_at,
            label_id: Some(label.label_id.clone()),
            acknowledged: BTreeSet::new(),
            label_only: true,
        },
    )
}

/// The seed's rule for a shipment made with `label`, and when it is due; `None` for
/// dates no real label has (the label is refused as invalid anyway).
fn shipped_rule(label: &LabelEvent) -> Option<(RedactionRule, DateTime<Utc>)> {
    if label.automatic_tracking {
        // Delivery, the third clock, can only bring this forward (`delivered`).
        let after_ship = label.ship_date.checked_add_signed(AFTER_SHIP_DATE)?;
        let after_label = label.created_at.checked_add_signed(AFTER_LABEL_CREATED)?;
        Some((RedactionRule::TrackedShipment, after_ship.min(after_label)))
    } else {
        let due = label.created_at.checked_add_signed(UNTRACKED_RETENTION)?;
        Some((RedactionRule::UntrackedShipment, due))
    }
}

/// True when the order's PII is due for redaction: Amazon sending the order again
/// must not bring it back.
pub fn is_due(store: &Store<'_>, order_id: &str, now: DateTime<Utc>) -> bool {
    matches!(
        store.load::<Scheduled>(&format!("{ORDER_PREFIX}{order_id}")),
        Ok(Some(scheduled)) if scheduled.due_at <= now
    )
}

/// Overwrites the order's PII fields as the directives would (city, state and postal
/// code stay, as on every order).
pub fn apply_to(order: &mut Order) {
    let redact = |field: &mut Option<String>| {
        if field.is_some() {
            *field = Some(REDACTED.to_owned());
        }
    };
    if let Some(customer) = &mut order.customer {
        for field in [
            &mut customer.name,
            &mut customer.email,
            &mut customer.company,
            &mut customer.purchase_order_number,
        ] {
            redact(field);
        }
    }
    if let Some(address) = &mut order.ship_to {
        for field in [
            &mut address.name,
            &mut address.company,
            &mut address.street1,
            &mut address.street2,
            &mut address.street3,
            &mut address.phone,
        ] {
            redact(field);
        }
    }
    redact(&mut order.gift_message);
    redact(&mut order.notes_from_buyer);
    for item in &mut order.items {
        redact(&mut item.gift_message);
        for option in item
            .options
            .iter_mut()
            .filter(|o| o.name == "Customization")
        {
            option.value = REDACTED.to_owned();
        }
    }
}

/// One directive of an order's schedule, due or not, for the host to show.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The directive as `redact` returns it once due.
    pub directive: RedactionDirective,
    /// The host acknowledged it.
    pub acknowledged: bool,
}

/// Everything scheduled for an order and its labels: ids, rules and dates only.
pub fn audit(host: &dyn Host, order_id: &str) -> Result<Vec<AuditEntry>, Error> {
    let store = Store::new(host);
    let labels: BTreeSet<String> = store
        .load(&format!("{LABELS_PREFIX}{order_id}"))?
        .unwrap_or_default();
    let mut entries = Vec::new();
    for subject in std::iter::once(order_id.to_owned()).chain(labels) {
        let Some(scheduled) = store.load::<Scheduled>(&format!("{ORDER_PREFIX}{subject}"))? else {
            continue;
        };
        entries.extend(
            directives_for(&subject, &scheduled)
                .into_iter()
                .map(|directive| AuditEntry {
                    acknowledged: scheduled.acknowledged.contains(&directive.id),
                    directive,
                }),
        );
    }
    Ok(entries)
}

/// Records the host's acknowledgements; unknown and repeated ids are ignored.
pub fn acknowledge(host: &dyn Host, ids: &[String]) -> Result<(), Error> {
    let store = Store::new(host);
    for id in ids {
        let Some((order_id, _)) = id.split_once('/') else {
            continue;
        };
        let key = format!("{ORDER_PREFIX}{order_id}");
        // A damaged record cannot take the acknowledgement; it is skipped, not fatal.
        let Ok(Some(mut scheduled)) = store.load::<Scheduled>(&key) else {
            continue;
        };
        if scheduled.acknowledged.insert(id.clone()) {
            store.save(&key, &scheduled)?;
        }
    }
    Ok(())
}

/// `on-delivered`: the carrier delivered these packages. Each moves its order's (or
/// label's) schedule as [`delivered`] says; the first storage failure stops the call,
/// and the host reports the same events again (a delivery already applied moves
/// nothing).
pub fn on_delivered(host: &dyn Host, events: &[DeliveryEvent]) -> Result<(), Error> {
    let store = Store::new(host);
    for event in events {
        delivered(&store, &event.order_id, &event.label_id, event.delivered_at)?;
    }
    Ok(())
}

/// A tracked package was delivered at `delivered_at`: the order's (or the label's
/// own) schedule moves to 30 days after delivery when that is sooner. A delivery
/// only ever brings a due time forward. Returns whether anything moved.
pub fn delivered(
    store: &Store<'_>,
    order_id: &str,
    label_id: &str,
    delivered_at: DateTime<Utc>,
) -> Result<bool, Error> {
    let Some(due) = delivered_at.checked_add_signed(AFTER_DELIVERY) else {
        return Ok(false);
    };
    let mut moved = false;
    for subject in [order_id.to_owned(), label_subject(order_id, label_id)] {
        let key = format!("{ORDER_PREFIX}{subject}");
        let Some(mut scheduled) = store.load::<Scheduled>(&key)? else {
            continue;
        };
        if scheduled.rule != RedactionRule::TrackedShipment
            || scheduled.label_id.as_deref() != Some(label_id)
            || scheduled.due_at <= due
        {
            continue;
        }
        scheduled.due_at = due;
        schedule(store, &subject, scheduled)?;
        moved = true;
    }
    Ok(moved)
}

fn schedule(store: &Store<'_>, order_id: &str, scheduled: Scheduled) -> Result<(), Error> {
    add_to_hour(store, &hour_of(scheduled.due_at), &[order_id])?;
    store.save(&format!("{ORDER_PREFIX}{order_id}"), &scheduled)
}

/// The hour `at` falls in, as `2026-12-01T09`: these sort as the hours do.
fn hour_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

fn part_key(hour: &str, part: u32) -> String {
    format!("{HOUR_PREFIX}{hour}/{part}")
}

/// Adds ids to the hour's last part while it is small, else to a new part: no write
/// rereads more than [`PART_SIZE`] ids.
fn add_to_hour(store: &Store<'_>, hour: &str, order_ids: &[&str]) -> Result<(), Error> {
    let mut hours: BTreeMap<String, u32> = store.load(HOURS_KEY)?.unwrap_or_default();
    let parts = hours.get(hour).copied().unwrap_or(0);
    let mut part = parts.saturating_sub(1);
    let mut listed: BTreeSet<String> = store.load(&part_key(hour, part))?.unwrap_or_default();
    if parts > 0 && listed.len() + order_ids.len() > PART_SIZE {
        part = parts;
        // Not counted yet, yet perhaps written before a crash: kept, not overwritten.
        listed = store.load(&part_key(hour, part))?.unwrap_or_default();
    }
    listed.extend(order_ids.iter().map(|id| (*id).to_owned()));
    store.save(&part_key(hour, part), &listed)?;
    if part >= parts {
        hours.insert(hour.to_owned(), part + 1);
        store.save(HOURS_KEY, &hours)?;
    }
    Ok(())
}

/// The directives due now and not yet acknowledged. An hour's list keeps an order
/// until all of its directives are acknowledged; the order's record stays for good.
pub fn redact(host: &dyn Host) -> Result<Vec<RedactionDirective>, Error> {
    let store = Store::new(host);
    let now = host.now();
    let mut hours: BTreeMap<String, u32> = store.load(HOURS_KEY)?.unwrap_or_default();
    let this_hour = hour_of(now);
    let due_parts: Vec<(String, u32)> = hours
        .iter()
        .filter(|(hour, _)| **hour <= this_hour)
        .flat_map(|(hour, parts)| (0..*parts).map(|part| (hour.clone(), part)))
        .collect();
    let mut directives = Vec::new();
    // An hour leaves the index once each of its parts is gone.
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for (hour, part) in due_parts {
        let hour_key = part_key(&hour, part);
        let listed: BTreeSet<String> = store.load(&hour_key)?.unwrap_or_default();
        let mut open = BTreeSet::new();
        for order_id in &listed {
            let scheduled = match store.load::<Scheduled>(&format!("{ORDER_PREFIX}{order_id}")) {
                Ok(Some(scheduled)) => scheduled,
                Ok(None) => continue,
                // One unreadable record must not hold back every other redaction.
                Err(e) => {
                    log::error!("the redaction record of {order_id} is unreadable: {e}");
                    open.insert(order_id.clone());
                    continue;
                }
            };
            if hour_of(scheduled.due_at) != hour {
                continue; // rescheduled to another hour; that hour's list has it
            }
            if scheduled.due_at > now {
                open.insert(order_id.clone());
                continue;
            }
            let pending: Vec<RedactionDirective> = directives_for(order_id, &scheduled)
                .into_iter()
                .filter(|d| !scheduled.acknowledged.contains(&d.id))
                .collect();
            if !pending.is_empty() {
                open.insert(order_id.clone());
                directives.extend(pending);
            }
        }
        // Housekeeping: a list that keeps an id too many costs a read next time,
        // so a failed write here must not hold back the directives already found.
        if open.is_empty() {
            if let Err(e) = store.remove(&hour_key) {
                log::warn!("the list {hour_key} was not removed: {e}");
                kept.insert(hour);
            }
        } else {
            kept.insert(hour);
            if open != listed
                && let Err(e) = store.save(&hour_key, &open)
            {
                log::warn!("the list {hour_key} was not shortened: {e}");
            }
        }
    }
    hours.retain(|hour, _| *hour > this_hour || kept.contains(hour));
    if let Err(e) = store.save(HOURS_KEY, &hours) {
        log::warn!("the list of hours was not updated: {e}");
    }
    Ok(directives)
}

fn directives_for(order_id: &str, scheduled: &Scheduled) -> Vec<RedactionDirective> {
    let directive = |target: RedactionTarget, fields: &[PiiField]| RedactionDirective {
        id: match &target {
            RedactionTarget::Order(_) => format!("{order_id}/order"),
            RedactionTarget::CustomerOfOrder(_) => format!("{order_id}/customer"),
            RedactionTarget::Label(label) => format!("{order_id}/label/{label}"),
        },
        target,
        fields: fields.to_vec(),
        replacement: REDACTED.to_owned(),
        rule: scheduled.rule,
        due_at: scheduled.due_at,
    };
    if scheduled.label_only {
        return scheduled
            .label_id
            .iter()
            .map(|label| directive(RedactionTarget::Label(label.clone()), LABEL_FIELDS))
            .collect();
    }
    let mut out = vec![
        directive(RedactionTarget::Order(order_id.to_owned()), ORDER_FIELDS),
        directive(
            RedactionTarget::CustomerOfOrder(order_id.to_owned()),
            ORDER_FIELDS,
        ),
    ];
    if let Some(label_id) = &scheduled.label_id {
        out.push(directive(
            RedactionTarget::Label(label_id.clone()),
            LABEL_FIELDS,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabelItem, LabelOrder};
    use crate::testing::{FakeHost, at};

    fn shipped(automatic_tracking: bool) -> LabelEvent {
        LabelEvent {
            label_id: "L1".into(),
            orders: vec![LabelOrder {
                order_id: "111-1".into(),
                marketplace_id: None,
                items: vec![LabelItem {
                    order_item_id: "1".into(),
                    quantity: 1,
                }],
            }],
            carrier_code: "UPS".into(),
            carrier_name: None,
            service: None,
            tracking_number: "1Z".into(),
            ship_date: at("2026-11-25T00:00:00Z"),
            created_at: at("2026-11-21T00:00:00Z"),
            carrier_fee: None,
            automatic_tracking,
            batch_id: None,
        }
    }

    fn due(host: &FakeHost, when: &str) -> Vec<RedactionDirective> {
        host.set_now(at(when));
        redact(host).unwrap()
    }

    #[test]
    fn a_backlog_s_hour_is_kept_in_short_parts_and_each_part_goes_once_acknowledged() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        let ids: Vec<String> = (0..1000).map(|n| format!("111-{n:07}")).collect();
        for batch in ids.chunks(100) {
            let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
            schedule_imports(&store, &batch, at("2026-11-01T10:20:00Z")).unwrap();
        }
        let part_lengths = |host: &FakeHost| -> Vec<usize> {
            host.store
                .borrow()
                .iter()
                .filter(|(key, _)| key.starts_with(HOUR_PREFIX))
                .map(|(_, list)| {
                    serde_json::from_slice::<BTreeSet<String>>(list)
                        .unwrap()
                        .len()
                })
                .collect()
        };
        let parts = part_lengths(&host);
        assert!(parts.len() >= 1000 / PART_SIZE, "{parts:?}");
        assert!(parts.iter().all(|n| *n <= PART_SIZE), "{parts:?}");
        assert_eq!(parts.iter().sum::<usize>(), 1000);

        assert!(due(&host, "2026-11-15T10:19:59Z").is_empty());
        let directives = due(&host, "2026-11-15T10:20:00Z");
        assert_eq!(directives.len(), 2000, "each order and its customer record");
        let ids: Vec<String> = directives.iter().map(|d| d.id.clone()).collect();
        acknowledge(&host, &ids).unwrap();
        assert!(due(&host, "2026-11-15T10:30:00Z").is_empty());
        assert!(part_lengths(&host).is_empty(), "every part is gone");
        let hours: BTreeMap<String, u32> = Store::new(&host).load(HOURS_KEY).unwrap().unwrap();
        assert!(hours.is_empty(), "and the hour with them: {hours:?}");
    }

    #[test]
    fn a_full_disk_does_not_hold_back_the_directives_that_are_due() {
        let host = FakeHost::new();
        schedule_import(&Store::new(&host), "111-1", at("2026-11-01T00:00:00Z")).unwrap();
        host.failing_writes.set(true);
        let directives = due(&host, "2026-11-16T00:00:00Z");
        assert_eq!(directives.len(), 2, "the order and its customer record");
        host.failing_writes.set(false);
        assert_eq!(due(&host, "2026-11-16T01:00:00Z").len(), 2, "and again");
    }

    #[test]
    fn unshipped_orders_are_redacted_14_days_after_import_once() {
        let host = FakeHost::new();
        schedule_import(&Store::new(&host), "111-1", at("2026-11-20T15:00:00Z")).unwrap();
        assert!(due(&host, "2026-12-04T14:59:59Z").is_empty());
        let directives = due(&host, "2026-12-04T15:00:00Z");
        let targets: Vec<_> = directives.iter().map(|d| d.target.clone()).collect();
        assert_eq!(
            targets,
            [
                RedactionTarget::Order("111-1".into()),
                RedactionTarget::CustomerOfOrder("111-1".into())
            ]
        );
        assert!(
            directives
                .iter()
                .all(|d| d.replacement == "REDACTED (Amazon)")
        );
        assert!(
            directives
                .iter()
                .all(|d| d.rule == RedactionRule::UnshippedAfterImport)
        );
        // Until the host acknowledges them, they come again (a crash loses nothing).
        let again = due(&host, "2026-12-05T00:00:00Z");
        assert_eq!(again, directives);
        acknowledge(
            &host,
            &[directives[0].id.clone(), "junk".into(), "999/order".into()],
        )
        .unwrap();
        let left = due(&host, "2026-12-05T00:00:01Z");
        assert_eq!(left, directives[1..]);
        acknowledge(&host, &[directives[1].id.clone(), directives[1].id.clone()]).unwrap();
        assert!(
            due(&host, "2026-12-06T00:00:00Z").is_empty(),
            "acknowledged: never again"
        );
        // The record stays, so a re-import of the order comes redacted.
        assert!(is_due(&Store::new(&host), "111-1", host.now()));
        schedule_import(&Store::new(&host), "111-1", host.now()).unwrap();
        assert!(
            due(&host, "2026-12-21T00:00:00Z").is_empty(),
            "the 14 days never start again"
        );
    }

    #[test]
    fn one_unreadable_record_holds_back_no_other_redaction() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_imports(&store, &["111-1", "111-2"], at("2026-11-20T15:00:00Z")).unwrap();
        host.store
            .borrow_mut()
            .insert("redaction/order/111-1".into(), b"{not json".to_vec());
        let directives = due(&host, "2026-12-05T00:00:00Z");
        assert_eq!(directives.len(), 2);
        assert!(directives.iter().all(|d| d.id.starts_with("111-2/")));
    }

    #[test]
    fn a_label_for_an_order_already_redacted_does_not_undo_it() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_import(&store, "111-1", at("2026-11-01T00:00:00Z")).unwrap();
        // Due 2026-11-15; the label (created 2026-11-21) comes after that.
        schedule_shipment(&store, "111-1", &shipped(true), shipped(true).created_at).unwrap();
        assert!(is_due(&store, "111-1", at("2026-11-16T00:00:00Z")));
    }

    #[test]
    fn orders_keep_city_state_and_postal_code_labels_do_not() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_shipment(&store, "111-1", &shipped(false), shipped(false).created_at).unwrap();
        let directives = due(&host, "2026-12-21T00:00:00Z");
        let order = &directives[0];
        assert!(
            !order.fields.contains(&PiiField::City)
                && !order.fields.contains(&PiiField::PostalCode)
        );
        let label = directives
            .iter()
            .find(|d| d.target == RedactionTarget::Label("L1".into()))
            .unwrap();
        for field in [
            PiiField::City,
            PiiField::State,
            PiiField::PostalCode,
            PiiField::StreetAddress,
        ] {
            assert!(label.fields.contains(&field), "{field:?}");
        }
    }

    #[test]
    fn tracked_shipments_use_the_earliest_of_ship_date_plus_30_and_label_plus_44() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_import(&store, "111-1", at("2026-11-20T15:00:00Z")).unwrap();
        schedule_shipment(&store, "111-1", &shipped(true), shipped(true).created_at).unwrap();
        // The 14-day unshipped rule no longer applies once the order shipped.
        assert!(due(&host, "2026-12-10T00:00:00Z").is_empty());
        // ship date + 30 = Dec 25, label + 44 = Jan 4: Dec 25 wins.
        assert!(due(&host, "2026-12-24T23:59:59Z").is_empty());
        let directives = due(&host, "2026-12-25T00:00:00Z");
        assert_eq!(directives.len(), 3);
        assert!(
            directives
                .iter()
                .all(|d| d.rule == RedactionRule::TrackedShipment)
        );
    }

    #[test]
    fn a_label_planned_to_ship_late_is_due_44_days_after_it_was_created_to_the_second() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        // Created Nov 21, planned to ship Dec 31: ship date + 30 = Jan 30, label + 44
        // = Jan 4. The label's clock wins.
        let late = LabelEvent {
            ship_date: at("2026-12-31T00:00:00Z"),
            ..shipped(true)
        };
        schedule_shipment(&store, "111-1", &late, late.created_at).unwrap();
        assert!(due(&host, "2027-01-03T23:59:59Z").is_empty());
        let directives = due(&host, "2027-01-04T00:00:00Z");
        assert_eq!(directives.len(), 3, "the order, its customer and its label");
        for directive in &directives {
            assert_eq!(directive.rule, RedactionRule::TrackedShipment);
            assert_eq!(directive.due_at, at("2027-01-04T00:00:00Z"));
        }
    }

    #[test]
    fn untracked_shipments_wait_30_days_after_the_label() {
        let host = FakeHost::new();
        schedule_shipment(
            &Store::new(&host),
            "111-1",
            &shipped(false),
            shipped(false).created_at,
        )
        .unwrap();
        assert!(due(&host, "2026-12-20T23:59:59Z").is_empty());
        assert_eq!(
            due(&host, "2026-12-21T00:00:00Z")[0].rule,
            RedactionRule::UntrackedShipment
        );
    }

    #[test]
    fn a_reimported_order_keeps_its_first_import_date() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_import(&store, "111-1", at("2026-11-20T15:00:00Z")).unwrap();
        schedule_import(&store, "111-1", at("2026-11-25T15:00:00Z")).unwrap();
        assert_eq!(due(&host, "2026-12-04T15:00:00Z").len(), 2);
    }

    #[test]
    fn the_schedule_holds_ids_and_dates_only() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_import(&store, "111-1", at("2026-11-20T15:00:00Z")).unwrap();
        schedule_shipment(&store, "111-2", &shipped(true), shipped(true).created_at).unwrap();
        for (key, value) in host.store.borrow().iter() {
            let value: serde_json::Value = serde_json::from_slice(value).unwrap();
            let text = value.to_string();
            assert!(
                !text.contains("1Z") && !text.contains("UPS"),
                "{key}: {text}"
            );
        }
    }

    #[test]
    fn on_delivered_moves_each_event_s_order_to_30_days_after_its_delivery() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        for order_id in ["111-1", "111-2"] {
            schedule_shipment(&store, order_id, &shipped(true), shipped(true).created_at).unwrap();
        }
        let event = |order_id: &str, when: &str| DeliveryEvent {
            label_id: "L1".into(),
            order_id: order_id.into(),
            delivered_at: at(when),
        };
        on_delivered(
            &host,
            &[
                event("111-1", "2026-11-23T08:00:00Z"),
                event("111-2", "2026-11-24T08:00:00Z"),
            ],
        )
        .unwrap();
        assert!(due(&host, "2026-12-23T07:59:59Z").is_empty());
        let first = due(&host, "2026-12-23T08:00:00Z");
        assert_eq!(first.len(), 3, "111-1, its customer and its label");
        let second = due(&host, "2026-12-24T08:00:00Z");
        assert_eq!(second.len(), 6, "and now 111-2's three as well");
    }

    #[test]
    fn a_delivery_brings_the_tracked_due_time_forward_never_back() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        // Shipped 11-25, label 11-21: due 12-25 (ship date + 30 days).
        schedule_shipment(&store, "111-1", &shipped(true), shipped(true).created_at).unwrap();
        assert!(
            !delivered(&store, "111-1", "L1", at("2026-11-27T00:00:00Z")).unwrap(),
            "12-27 is later"
        );
        assert!(
            !delivered(&store, "111-1", "L-OTHER", at("2026-11-22T00:00:00Z")).unwrap(),
            "another label"
        );
        assert!(delivered(&store, "111-1", "L1", at("2026-11-23T08:00:00Z")).unwrap());
        assert!(
            due(&host, "2026-12-23T07:59:59Z").is_empty(),
            "one second before"
        );
        let directives = due(&host, "2026-12-23T08:00:00Z");
        assert_eq!(directives.len(), 3);
        assert!(
            directives
                .iter()
                .all(|d| d.rule == RedactionRule::TrackedShipment)
        );
        assert_eq!(directives[0].due_at, at("2026-12-23T08:00:00Z"));

        // Untracked shipments have no delivery clock.
        schedule_shipment(&store, "111-2", &shipped(false), shipped(false).created_at).unwrap();
        assert!(!delivered(&store, "111-2", "L1", at("2026-11-22T00:00:00Z")).unwrap());
    }

    #[test]
    fn the_audit_shows_every_directive_of_an_order_and_its_labels() {
        let host = FakeHost::new();
        let store = Store::new(&host);
        schedule_shipment(&store, "111-1", &shipped(true), shipped(true).created_at).unwrap();
        let mut unsent = shipped(false);
        unsent.label_id = "L2".into();
        schedule_label(&store, "111-1", &unsent).unwrap();
        let entries = audit(&host, "111-1").unwrap();
        let ids: Vec<_> = entries.iter().map(|e| e.directive.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "111-1/order",
                "111-1/customer",
                "111-1/label/L1",
                "111-1#L2/label/L2"
            ]
        );
        assert!(entries.iter().all(|e| !e.acknowledged));
        acknowledge(&host, &["111-1/label/L1".into()]).unwrap();
        let acknowledged: Vec<_> = audit(&host, "111-1")
            .unwrap()
            .into_iter()
            .filter(|e| e.acknowledged)
            .map(|e| e.directive.id)
            .collect();
        assert_eq!(acknowledged, ["111-1/label/L1"]);
        assert!(audit(&host, "999-9").unwrap().is_empty());
        // Ids and dates only: nothing of the buyer is in the schedule to show.
        let dump: String = host
            .store
            .borrow()
            .values()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert!(!dump.contains("1Z"), "not even the tracking number");
    }
}
