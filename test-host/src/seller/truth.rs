//! The truth check: what the host ends with against the simulated world, and every
//! side output and the component's storage searched for buyer values and secrets.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};

use super::database::HostDatabase;
use super::report::Mismatch;
use crate::amazon::sim::{SimOrder, World};
use crate::embed::SqliteStorage;

/// The host's orders against Amazon's latest versions.
pub struct OrderTruth {
    /// Orders of this store Amazon holds (within the first import's reach).
    pub amazon_orders: usize,
    /// Of those, orders the host never received.
    pub missed: usize,
    /// Orders whose held version is not Amazon's latest.
    pub mismatches: Vec<Mismatch>,
    /// Orders in the world that are not this store's.
    pub foreign_orders: usize,
    /// Of those, how many the host holds (must be 0).
    pub foreign_imported: usize,
}

/// One store of the host: its database, and which of the world's orders are its.
pub struct StoreTruth<'a> {
    /// What the host holds for the store.
    pub database: &'a HostDatabase,
    /// Whether an order of the world is this store's.
    pub owns: &'a dyn Fn(&SimOrder) -> bool,
}

/// Compares every order of the world with what the host's stores hold: an order
/// is checked in the store that owns it, and one no store owns, or held by a store
/// that does not own it, counts as foreign. Orders last updated before `reach` are
/// out of the import's.
pub fn check_orders(stores: &[StoreTruth<'_>], world: &World, reach: DateTime<Utc>) -> OrderTruth {
    let mut truth = OrderTruth {
        amazon_orders: 0,
        missed: 0,
        mismatches: Vec::new(),
        foreign_orders: 0,
        foreign_imported: 0,
    };
    for order in world.orders() {
        let owner = stores.iter().position(|store| (store.owns)(order));
        let held_elsewhere = stores
            .iter()
            .enumerate()
            .filter(|(index, store)| {
                Some(*index) != owner && store.database.orders.contains_key(&order.id)
            })
            .count();
        let Some(owner) = owner else {
            truth.foreign_orders += 1;
            truth.foreign_imported += usize::from(held_elsewhere > 0);
            continue;
        };
        truth.foreign_imported += held_elsewhere;
        if order.updated < reach {
            continue;
        }
        truth.amazon_orders += 1;
        match stores[owner].database.orders.get(&order.id) {
            None => truth.missed += 1,
            Some(held) if held.marketplace != order.marketplace => {
                truth.mismatches.push(Mismatch {
                    order_id: order.id.clone(),
                    detail: format!(
                        "host has it for order source {}, Amazon placed it in {}",
                        held.marketplace, order.marketplace
                    ),
                });
            }
            Some(held) if held.updated != order.updated || held.status != order.status => {
                truth.mismatches.push(Mismatch {
                    order_id: order.id.clone(),
                    detail: format!(
                        "host has {} of {}, Amazon {} of {}",
                        held.status,
                        held.updated.to_rfc3339_opts(SecondsFormat::Secs, true),
                        order.status,
                        order.updated.to_rfc3339_opts(SecondsFormat::Secs, true)
                    ),
                });
            }
            Some(_) => {}
        }
    }
    truth
}

/// How many of the world's buyer values, and of the credentials, the component's
/// storage holds (as a dump of it would show them).
pub fn secrets_in_storage(storage: &SqliteStorage, world: &World) -> Result<usize> {
    let mut needles: BTreeSet<String> = BTreeSet::from([
        crate::drive::scenario::PLACEHOLDER_CLIENT_SECRET.to_owned(),
        crate::drive::scenario::PLACEHOLDER_REFRESH_TOKEN.to_owned(),
    ]);
    for order in world.orders() {
        for path in [
            &["buyer", "buyerName"][..],
            &["buyer", "buyerEmail"],
            &["recipient", "deliveryAddress", "name"],
            &["recipient", "deliveryAddress", "addressLine1"],
            &["recipient", "deliveryAddress", "phone"],
        ] {
            let value = path.iter().try_fold(&order.json, |v, k| v.get(k));
            if let Some(text) = value.and_then(serde_json::Value::as_str) {
                needles.insert(text.to_owned());
            }
        }
    }
    // Every value looked for in one pass over the storage, not one pass per value.
    let needles: Vec<String> = needles.into_iter().collect();
    let finder = aho_corasick::AhoCorasick::new(&needles).context("building the leak search")?;
    let mut found = vec![false; needles.len()];
    for (key, value) in storage
        .entries("")
        .context("reading the component's storage")?
    {
        for text in [key.as_bytes(), &value] {
            for hit in finder.find_overlapping_iter(text) {
                found[hit.pattern().as_usize()] = true;
            }
        }
    }
    Ok(found.into_iter().filter(|&f| f).count())
}

/// What marks a buyer value of the simulated world (every generated name, street
/// and email has one), and the credentials.
const LEAK_MARKERS: [&str; 5] = [
    "Simulated Buyer",
    "Simulated Way",
    "@marketplace.amazon.com",
    crate::drive::scenario::PLACEHOLDER_CLIENT_SECRET,
    crate::drive::scenario::PLACEHOLDER_REFRESH_TOKEN,
];

/// Lines of a call's side output (logs, stderr, requests Amazon did not answer, the error it
/// returned) that hold a buyer value or a secret.
pub fn leaks<T, E: std::fmt::Debug>(
    result: &std::result::Result<T, E>,
    record: &crate::embed::runtime::CallRecord,
) -> usize {
    let error = result.as_ref().err().map(|e| format!("{e:?}"));
    record
        .logs
        .iter()
        .map(|l| l.message.as_str())
        .chain(std::iter::once(record.stderr.as_str()))
        .chain(record.failures.iter().map(String::as_str))
        .chain(error.as_deref())
        .filter(|text| LEAK_MARKERS.iter().any(|m| text.contains(m)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::sim::WorldSpec;

    #[test]
    fn the_output_check_finds_a_buyer_value_or_a_secret_in_any_side_output() {
        use crate::embed::runtime::{CallRecord, LogLine};
        let clean: std::result::Result<(), String> = Ok(());
        let quiet = CallRecord::default();
        assert_eq!(leaks(&clean, &quiet), 0);
        let mut chatty = CallRecord::default();
        chatty.logs.push(LogLine {
            level: "info".into(),
            context: String::new(),
            message: "imported order for Simulated Buyer 12".into(),
        });
        chatty
            .failures
            .push("token placeholder-client-secret refused".into());
        assert_eq!(leaks(&clean, &chatty), 2);
        let failed: std::result::Result<(), String> = Err("sim-3@marketplace.amazon.com".into());
        assert_eq!(leaks(&failed, &quiet), 1);
    }

    #[test]
    fn the_storage_check_finds_a_buyer_value_or_a_secret_wherever_it_is() {
        let start: DateTime<Utc> = crate::drive::simulate::START.parse().unwrap();
        let spec = WorldSpec {
            orders: 20,
            distinct_asins: 3,
            ..WorldSpec::default()
        };
        let world = World::generate(&spec, start);
        let buyer = world
            .orders()
            .find_map(|o| o.json["buyer"]["buyerEmail"].as_str().map(str::to_owned))
            .unwrap();
        let storage = SqliteStorage::in_memory().unwrap();
        storage
            .set("", "outbox/1", b"{\"tracking\":\"1Z\"}")
            .unwrap();
        assert_eq!(secrets_in_storage(&storage, &world).unwrap(), 0);
        storage
            .set("", "notes/1", format!("{{\"to\":\"{buyer}\"}}").as_bytes())
            .unwrap();
        assert_eq!(secrets_in_storage(&storage, &world).unwrap(), 1);
        storage
            .set("", crate::drive::scenario::PLACEHOLDER_REFRESH_TOKEN, b"1")
            .unwrap();
        assert_eq!(secrets_in_storage(&storage, &world).unwrap(), 2);
    }
}
