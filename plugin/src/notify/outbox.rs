//! The write-ahead outbox: every shipment update is stored before any call that
//! sends it, and moves forward only on Amazon's answer. Tracking data and ids only,
//! no buyer PII.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AmazonError, Error};
use crate::host::Store;
use crate::model::{LabelEvent, LabelOrder};
use crate::spapi::shipments::ConfirmShipmentRequest;

pub use crate::keys::{
    LEGACY_OUTBOX_INDEX, OUTBOX_INDEX_PREFIX, OUTBOX_PARTS, OUTBOX_PREFIX, REJECTED_PREFIX,
    SHIPMENT_PREFIX,
};

/// Where an update stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "kebab-case")]
pub enum Stage {
    /// To be sent from `retry_at` on, by whichever path reaches Amazon sooner.
    #[default]
    Pending,
    /// A confirmShipment for it was about to go out (written before the call). Found
    /// by a later call, it means the answer was lost: Amazon is asked first.
    Sending,
    /// Amazon may or may not have it (a lost answer, a feed whose report could not be
    /// read): the order's PACKAGES data decides before anything is sent again.
    Verify,
    /// In the feed job with this id.
    InFeed {
        /// `feed-job/{job}`.
        job: String,
    },
}

/// One order's update, from the label until Amazon has it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Host label id.
    pub label_id: String,
    /// The confirmShipment body (a feed message carries the same data).
    pub request: ConfirmShipmentRequest,
    /// Not before.
    pub retry_at: DateTime<Utc>,
    /// What the redaction schedule needs once it is sent.
    #[serde(default)]
    pub automatic_tracking: bool,
    /// When the label was created.
    #[serde(default)]
    pub label_created_at: Option<DateTime<Utc>>,
    /// Where it stands.
    #[serde(default)]
    pub stage: Stage,
    /// A feed refused it: it goes once by confirmShipment, whose answer is Amazon's
    /// verdict for this order alone.
    #[serde(default)]
    pub direct_only: bool,
}

/// Puts updates in the order they are due. (One sort for every caller: each
/// sort instantiated anew costs the component kilobytes.)
pub fn sort_by_retry(entries: &mut [(String, OutboxEntry)]) {
    entries.sort_by_key(|(_, entry)| entry.retry_at);
}

impl OutboxEntry {
    /// The label, as far as the redaction schedule needs it.
    pub fn label(&self, order_id: &str, now: DateTime<Utc>) -> LabelEvent {
        let package = &self.request.package_detail;
        let ship_date = DateTime::parse_from_rfc3339(&package.ship_date)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        LabelEvent {
            label_id: self.label_id.clone(),
            orders: vec![LabelOrder {
                order_id: order_id.to_owned(),
                marketplace_id: Some(self.request.marketplace_id.clone()),
                items: Vec::new(),
            }],
            carrier_code: package.carrier_code.clone(),
            carrier_name: package.carrier_name.clone(),
            service: package.shipping_method.clone(),
            tracking_number: package.tracking_number.clone(),
            ship_date,
            created_at: self.label_created_at.unwrap_or(now),
            carrier_fee: None,
            automatic_tracking: self.automatic_tracking,
            batch_id: None,
        }
    }
}

/// The record that an order's tracking reached Amazon.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notified {
    /// The label whose tracking Amazon has.
    pub label_id: String,
    /// When Amazon accepted it.
    pub sent_at: DateTime<Utc>,
    /// The feed that carried it, when it went in one.
    #[serde(default)]
    pub feed_id: Option<String>,
}

/// Amazon's refusal of an order's update.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejected {
    /// The label whose update Amazon refused.
    pub label_id: String,
    /// Amazon's answer.
    pub error: AmazonError,
}

/// How many parts the outbox index is split in. An order's part is fixed by its
/// id, so a write touches one part of about `pending / INDEX_PARTS` ids, and a
/// batch writes each part once: N updates cost O(N) reads and writes, not O(N²).
/// Changing it would move every order to another part: it is part of the format.
const INDEX_PARTS: u32 = 64;

/// The index part an order's id belongs to: FNV-1a, stable across builds and
/// platforms (unlike the standard library's hasher).
fn index_part(order_id: &str) -> u32 {
    let hash = order_id.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    hash % INDEX_PARTS
}

/// The ids grouped by their index part.
fn by_part<'a>(order_ids: &[&'a str]) -> BTreeMap<u32, Vec<&'a str>> {
    let mut by_part: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for order_id in order_ids {
        by_part
            .entry(index_part(order_id))
            .or_default()
            .push(order_id);
    }
    by_part
}

fn part_key(part: u32) -> String {
    format!("{OUTBOX_INDEX_PREFIX}{part}")
}

/// Typed access to the outbox. The host's store cannot list keys, so the outbox
/// keeps an index of its order ids: parts by id (`outbox-index/{part}`), and the
/// list of the parts that hold any (`outbox-parts`), so that an empty outbox
/// costs one read.
pub struct Outbox<'s, 'h> {
    store: &'s Store<'h>,
}

impl<'s, 'h> Outbox<'s, 'h> {
    /// The outbox in `store`.
    pub fn new(store: &'s Store<'h>) -> Self {
        Self { store }
    }

    /// The order's entry.
    pub fn get(&self, order_id: &str) -> Result<Option<OutboxEntry>, Error> {
        self.store.load(&format!("{OUTBOX_PREFIX}{order_id}"))
    }

    /// Puts new order ids in the index, each part written once (the list of parts
    /// first). Their entries are written after this: a crash in between leaves
    /// index entries to clean up, never an update nobody will send.
    pub fn reserve(&self, order_ids: &[&str]) -> Result<(), Error> {
        let by_part = by_part(order_ids);
        let mut parts = self.parts()?;
        let before = parts.len();
        parts.extend(by_part.keys().copied());
        if parts.len() != before {
            self.store.save(OUTBOX_PARTS, &parts)?;
        }
        for (part, order_ids) in by_part {
            let mut listed = self.part(part)?;
            let before = listed.len();
            listed.extend(order_ids.into_iter().map(str::to_owned));
            if listed.len() != before {
                self.store.save(&part_key(part), &listed)?;
            }
        }
        Ok(())
    }

    /// Writes a new entry: its index entry first.
    pub fn insert(&self, order_id: &str, entry: &OutboxEntry) -> Result<(), Error> {
        self.reserve(&[order_id])?;
        self.update(order_id, entry)
    }

    /// Rewrites an entry that is in the outbox (its index entry is already there).
    pub fn update(&self, order_id: &str, entry: &OutboxEntry) -> Result<(), Error> {
        self.store
            .save(&format!("{OUTBOX_PREFIX}{order_id}"), entry)
    }

    /// Removes an entry, then its index entry.
    pub fn remove(&self, order_id: &str) -> Result<(), Error> {
        self.remove_all(&[order_id])
    }

    /// Removes entries, then their index entries, each part written once.
    pub fn remove_all(&self, order_ids: &[&str]) -> Result<(), Error> {
        for order_id in order_ids {
            self.store.remove(&format!("{OUTBOX_PREFIX}{order_id}"))?;
        }
        self.forget(order_ids)
    }

    /// Takes ids out of the index, each part written once; the list of parts last.
    fn forget(&self, order_ids: &[&str]) -> Result<(), Error> {
        let by_part = by_part(order_ids);
        let mut emptied = Vec::new();
        for (part, order_ids) in by_part {
            let mut listed = self.part(part)?;
            let before = listed.len();
            for order_id in order_ids {
                listed.remove(order_id);
            }
            if listed.is_empty() {
                self.store.remove(&part_key(part))?;
                emptied.push(part);
            } else if listed.len() != before {
                self.store.save(&part_key(part), &listed)?;
            }
        }
        if !emptied.is_empty() {
            let mut parts = self.parts()?;
            for part in emptied {
                parts.remove(&part);
            }
            self.store.save(OUTBOX_PARTS, &parts)?;
        }
        Ok(())
    }

    fn parts(&self) -> Result<BTreeSet<u32>, Error> {
        self.migrate_single_index()?;
        Ok(self.store.load(OUTBOX_PARTS)?.unwrap_or_default())
    }

    fn part(&self, part: u32) -> Result<BTreeSet<String>, Error> {
        Ok(self.store.load(&part_key(part))?.unwrap_or_default())
    }

    /// An outbox written before the index had parts kept it under one key: its ids
    /// move into the parts (written before the old key goes, so none is lost).
    fn migrate_single_index(&self) -> Result<(), Error> {
        let Some(single) = self.store.load::<Vec<String>>(LEGACY_OUTBOX_INDEX)? else {
            return Ok(());
        };
        let mut by_part: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
        for order_id in single {
            by_part
                .entry(index_part(&order_id))
                .or_default()
                .insert(order_id);
        }
        let mut parts: BTreeSet<u32> = self.store.load(OUTBOX_PARTS)?.unwrap_or_default();
        parts.extend(by_part.keys().copied());
        self.store.save(OUTBOX_PARTS, &parts)?;
        for (part, order_ids) in by_part {
            let mut listed = self.part(part)?;
            listed.extend(order_ids);
            self.store.save(&part_key(part), &listed)?;
        }
        self.store.remove(LEGACY_OUTBOX_INDEX)
    }

    /// The order ids with an entry.
    pub fn index(&self) -> Result<BTreeSet<String>, Error> {
        let mut order_ids = BTreeSet::new();
        for part in self.parts()? {
            order_ids.append(&mut self.part(part)?);
        }
        Ok(order_ids)
    }

    /// Every readable entry, oldest due first. Index entries without their update
    /// (a crash between the two writes) are cleaned up; an unreadable entry is
    /// logged and left for a person, never dropped.
    pub fn all(&self) -> Result<Vec<(String, OutboxEntry)>, Error> {
        let mut entries = Vec::new();
        let mut orphans = Vec::new();
        for order_id in self.index()? {
            match self.get(&order_id) {
                Ok(Some(entry)) => entries.push((order_id, entry)),
                Ok(None) => orphans.push(order_id),
                Err(e) => log::error!("the outbox entry of {order_id} is unreadable: {e}"),
            }
        }
        if !orphans.is_empty() {
            self.forget(&orphans.iter().map(String::as_str).collect::<Vec<_>>())?;
        }
        sort_by_retry(&mut entries);
        Ok(entries)
    }

    /// Amazon's record for the order, when it has tracking.
    pub fn notified(&self, order_id: &str) -> Result<Option<Notified>, Error> {
        self.store.load(&format!("{SHIPMENT_PREFIX}{order_id}"))
    }

    /// Records that Amazon has the order's tracking.
    pub fn mark_notified(&self, order_id: &str, notified: &Notified) -> Result<(), Error> {
        self.store
            .save(&format!("{SHIPMENT_PREFIX}{order_id}"), notified)
    }

    /// Amazon's refusal of the order's update, when it refused one.
    pub fn rejected(&self, order_id: &str) -> Result<Option<Rejected>, Error> {
        self.store.load(&format!("{REJECTED_PREFIX}{order_id}"))
    }

    /// Records Amazon's refusal (a later label for the order may still be sent).
    pub fn mark_rejected(&self, order_id: &str, rejected: &Rejected) -> Result<(), Error> {
        self.store
            .save(&format!("{REJECTED_PREFIX}{order_id}"), rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_s_index_part_is_fnv_1a_and_never_changes() {
        // FNV-1a's published 32-bit values: "" 0x811c9dc5, "a" 0xe40c292c,
        // "foobar" 0xbf9cf968. The part is the value modulo 64.
        assert_eq!(index_part(""), 0x811c_9dc5 % INDEX_PARTS);
        assert_eq!(index_part("a"), 0xe40c_292c % INDEX_PARTS);
        assert_eq!(index_part("foobar"), 0xbf9c_f968 % INDEX_PARTS);
    }
}
