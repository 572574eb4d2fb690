//! The write-ahead outbox: every shipment update is stored before any call that
//! sends it, and moves forward only on Amazon's answer. Tracking data and ids only,
//! no buyer PII.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AmazonError, Error};
use crate::host::Store;
use crate::model::{LabelEvent, LabelOrder};
use crate::spapi::shipments::ConfirmShipmentRequest;

pub use crate::keys::{OUTBOX_INDEX, OUTBOX_PREFIX, REJECTED_PREFIX, SHIPMENT_PREFIX};

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

/// Typed access to the outbox.
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

    /// Writes an entry: the index first, so a crash in between leaves an index
    /// entry to clean up, never an update nobody will send.
    pub fn put(&self, order_id: &str, entry: &OutboxEntry) -> Result<(), Error> {
        let mut index = self.index()?;
        if index.insert(order_id.to_owned()) {
            self.store.save(OUTBOX_INDEX, &index)?;
        }
        self.store
            .save(&format!("{OUTBOX_PREFIX}{order_id}"), entry)
    }

    /// Removes an entry, then its index entry.
    pub fn remove(&self, order_id: &str) -> Result<(), Error> {
        self.store.remove(&format!("{OUTBOX_PREFIX}{order_id}"))?;
        let mut index = self.index()?;
        if index.remove(order_id) {
            self.store.save(OUTBOX_INDEX, &index)?;
        }
        Ok(())
    }

    /// The order ids with an entry.
    pub fn index(&self) -> Result<BTreeSet<String>, Error> {
        Ok(self.store.load(OUTBOX_INDEX)?.unwrap_or_default())
    }

    /// Every readable entry, oldest due first. Index entries without their update
    /// (a crash between the two writes) are cleaned up; an unreadable entry is
    /// logged and left for a person, never dropped.
    pub fn all(&self) -> Result<Vec<(String, OutboxEntry)>, Error> {
        let mut entries = Vec::new();
        for order_id in self.index()? {
            match self.get(&order_id) {
                Ok(Some(entry)) => entries.push((order_id, entry)),
                Ok(None) => self.remove(&order_id)?,
                Err(e) => log::error!("the outbox entry of {order_id} is unreadable: {e}"),
            }
        }
        entries.sort_by_key(|(_, entry)| entry.retry_at);
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
