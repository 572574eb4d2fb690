use super::*;
use crate::testing::{FakeHost, at, order_change, us_settings};

fn take(host: &FakeHost, bodies: &[String]) -> TakenNotifications {
    take_notifications(host, &us_settings(), bodies).unwrap()
}

#[test]
fn a_change_is_taken_once_and_an_older_or_repeated_one_is_a_duplicate() {
    let host = FakeHost::new();
    let newer = order_change("111-0000001-0000001", "2026-11-20T14:59:00Z");
    let older = order_change("111-0000001-0000001", "2026-11-20T14:58:00Z");
    let taken = take(&host, &[newer.clone(), newer.clone(), older]);
    assert_eq!(
        taken.outcomes,
        [
            MessageOutcome::Taken,
            MessageOutcome::Duplicate,
            MessageOutcome::Duplicate
        ]
    );
    assert_eq!(taken.import_after, Some(host.now()));
    // Write-ahead: a fresh call (another instance on the same storage) knows it.
    assert_eq!(take(&host, &[newer]).outcomes, [MessageOutcome::Duplicate]);
    let changes = Changes::load(&Store::new(&host)).unwrap();
    assert_eq!(changes.pending.len(), 1);
    assert_eq!(changes.pending[0].changed_at, at("2026-11-20T14:59:00Z"));
}

#[test]
fn a_newer_change_replaces_the_waiting_one_and_a_settled_one_stays_a_duplicate() {
    let host = FakeHost::new();
    let order = "111-0000001-0000001";
    take(&host, &[order_change(order, "2026-11-20T14:58:00Z")]);
    let newer = order_change(order, "2026-11-20T14:59:00Z");
    assert_eq!(
        take(&host, std::slice::from_ref(&newer)).outcomes,
        [MessageOutcome::Taken]
    );
    let store = Store::new(&host);
    let mut changes = Changes::load(&store).unwrap();
    assert_eq!(changes.pending.len(), 1, "one entry per order");
    changes.settle(&[Settled(order.into(), at("2026-11-20T14:59:00Z"))]);
    changes.save(&store).unwrap();
    let taken = take(&host, &[newer]);
    assert_eq!(taken.outcomes, [MessageOutcome::Duplicate]);
    assert_eq!(taken.import_after, None, "nothing waits");
}

#[test]
fn other_sellers_marketplaces_and_unimported_fba_orders_are_not_for_this_connection() {
    let host = FakeHost::new();
    let body = order_change("111-0000001-0000001", "2026-11-20T14:59:00Z");
    let other_seller = body.replace("\"A3SELLER\"", "\"A9OTHER\"");
    let other_marketplace = body.replace("ATVPDKIKX0DER", "A1F83G8C2ARO7P");
    let fba = body.replace("\"MFN\"", "\"AFN\"");
    let taken = take(&host, &[other_seller, other_marketplace, fba.clone()]);
    assert!(
        taken
            .outcomes
            .iter()
            .all(|o| *o == MessageOutcome::NotForThisConnection),
        "{:?}",
        taken.outcomes
    );
    let mut importing_fba = us_settings();
    importing_fba.sources[0].import_fba_orders = true;
    let taken = take_notifications(&host, &importing_fba, &[fba]).unwrap();
    assert_eq!(taken.outcomes, [MessageOutcome::Taken]);
}

#[test]
fn nothing_is_taken_when_storage_fails_and_too_many_messages_are_refused() {
    let host = FakeHost::new();
    host.failing_writes.set(true);
    let body = order_change("111-0000001-0000001", "2026-11-20T14:59:00Z");
    let failed =
        take_notifications(&host, &us_settings(), std::slice::from_ref(&body)).unwrap_err();
    assert!(matches!(failed, Error::Storage(_)), "{failed:?}");
    host.failing_writes.set(false);
    assert_eq!(
        take(&host, std::slice::from_ref(&body)).outcomes,
        [MessageOutcome::Taken]
    );
    let flood = vec![body; MAX_MESSAGES + 1];
    let refused = take_notifications(&host, &us_settings(), &flood).unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidInput { field, .. } if field == "messages"),
        "{refused:?}"
    );
}

#[test]
fn a_shipped_change_of_an_order_this_connection_shipped_costs_no_fetch() {
    let host = FakeHost::new();
    let order = "111-0000001-0000001";
    host.store
        .borrow_mut()
        .insert(format!("shipment/{order}"), b"{}".to_vec());
    let shipped =
        order_change(order, "2026-11-20T14:59:00Z").replace("\"Unshipped\"", "\"Shipped\"");
    let taken = take(&host, std::slice::from_ref(&shipped));
    assert_eq!(taken.outcomes, [MessageOutcome::Taken]);
    assert_eq!(taken.import_after, None, "nothing to fetch");
    assert_eq!(
        take(&host, &[shipped]).outcomes,
        [MessageOutcome::Duplicate]
    );
}

#[test]
fn ten_thousand_copies_and_hostile_bodies_each_get_an_outcome() {
    let host = FakeHost::new();
    let body = order_change("111-0000001-0000001", "2026-11-20T14:59:00Z");
    let mut messages = vec![body; MAX_MESSAGES];
    messages[1] = "x".repeat(message::MAX_BODY_BYTES + 1);
    messages[2] = "{\"NotificationType\":\"ORDER_CHANGE\"}".into();
    messages[3] = String::new();
    let taken = take(&host, &messages);
    assert_eq!(taken.outcomes.len(), MAX_MESSAGES);
    assert_eq!(taken.outcomes[0], MessageOutcome::Taken);
    assert!(matches!(&taken.outcomes[1], MessageOutcome::Malformed(r) if r.contains("bytes")));
    assert!(
        matches!(&taken.outcomes[2], MessageOutcome::Malformed(r) if r.contains("NotificationId"))
    );
    assert!(matches!(&taken.outcomes[3], MessageOutcome::Malformed(_)));
    let duplicates = taken
        .outcomes
        .iter()
        .filter(|o| **o == MessageOutcome::Duplicate)
        .count();
    assert_eq!(duplicates, MAX_MESSAGES - 4);
    let pending = Changes::load(&Store::new(&host)).unwrap().pending;
    assert_eq!(pending.len(), 1);
}
