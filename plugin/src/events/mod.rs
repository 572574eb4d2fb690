//! `take-notifications`: Amazon's ORDER_CHANGE messages, as the host's queue
//! delivered them, become changes waiting to be fetched by `import-orders`.
//!
//! What is taken is in storage before the call returns (write-ahead). A change is
//! the order's version (`TimeOfOrderChange`): one no newer than a version taken
//! before is a duplicate, whichever message it came in. The changes wait in one
//! queue until the host has stored the batch that fetched them: the batch's
//! checkpoint names them, and the next call that gets that checkpoint settles them.

pub mod message;
pub mod subscribe;

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::host::{Host, Store};
use crate::keys::{EVENT_QUEUE, EVENTS_SETTLED, EVENTS_SUBSCRIPTION};
use crate::model::ConnectionSettings;
use crate::spapi::{Operation, pacing};
use message::OrderChange;

/// Messages one call takes at most.
pub const MAX_MESSAGES: usize = 1_000;
/// Changes waiting to be fetched at most; past it, polling brings the rest.
pub const MAX_PENDING: usize = 5_000;
/// Settled versions remembered, so a late copy of a message is still a duplicate.
const MAX_SETTLED: usize = 500;
/// A fetched order older than its notification (Amazon's read lagging its own
/// change) is asked for again this much later, this many times.
pub const STALE_READ_DELAY: Duration = Duration::seconds(30);
/// See [`STALE_READ_DELAY`].
pub const STALE_READ_ATTEMPTS: u32 = 3;

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Stored.
    Taken,
    /// Nothing newer than a change taken before.
    Duplicate,
    /// Another seller's, or not an order source of this connection.
    NotForThisConnection,
    /// Unreadable, with the reason.
    Malformed(String),
}

/// The result of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct TakenNotifications {
    /// One per message.
    pub outcomes: Vec<MessageOutcome>,
    /// When `import-orders` can fetch what waits.
    pub import_after: Option<DateTime<Utc>>,
}

/// A change waiting to be fetched with getOrder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The order.
    pub order_id: String,
    /// Its marketplace.
    pub marketplace_id: String,
    /// Its version: Amazon's `TimeOfOrderChange`.
    pub changed_at: DateTime<Utc>,
    /// Not fetched before this (after a read older than the change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
    /// Reads that came back older than the change.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stale_reads: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Pending {
    /// Due for a fetch at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.not_before.is_none_or(|at| at <= now)
    }
}

/// A change the component is done with: fetched and stored by the host, or needing
/// no fetch. (order id, version)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled(pub String, pub DateTime<Utc>);

/// The changes waiting, and the latest settled ones.
pub struct Changes {
    /// Waiting, in the order taken.
    pub pending: Vec<Pending>,
    /// The latest settled versions, oldest first.
    settled: VecDeque<Settled>,
}

impl Changes {
    /// What storage holds.
    pub fn load(store: &Store<'_>) -> Result<Self, Error> {
        Ok(Self {
            pending: store.load(EVENT_QUEUE)?.unwrap_or_default(),
            settled: store.load(EVENTS_SETTLED)?.unwrap_or_default(),
        })
    }

    /// Writes both back.
    pub fn save(&self, store: &Store<'_>) -> Result<(), Error> {
        store.save(EVENT_QUEUE, &self.pending)?;
        store.save(EVENTS_SETTLED, &self.settled)
    }

    /// The latest version known of `order_id`, waiting or settled.
    fn known(&self, order_id: &str) -> Option<DateTime<Utc>> {
        let pending = self.pending.iter().filter(|p| p.order_id == order_id);
        let settled = self.settled.iter().filter(|s| s.0 == order_id);
        pending
            .map(|p| p.changed_at)
            .chain(settled.map(|s| s.1))
            .max()
    }

    /// Marks versions done with: waiting entries of those versions (or older) go,
    /// and each is remembered as settled. A newer change of the same order that
    /// came meanwhile stays.
    pub fn settle(&mut self, done: &[Settled]) {
        for Settled(order_id, version) in done {
            self.pending
                .retain(|p| !(&p.order_id == order_id && p.changed_at <= *version));
            self.remember(Settled(order_id.clone(), *version));
        }
    }

    fn remember(&mut self, settled: Settled) {
        if !self.settled.contains(&settled) {
            self.settled.push_back(settled);
        }
        while self.settled.len() > MAX_SETTLED {
            self.settled.pop_front();
        }
    }

    /// The changes still to fetch: waiting, and not fetched by the batch whose
    /// checkpoint named them in `fetched`.
    pub fn unfetched<'a>(&'a self, fetched: &'a [Settled]) -> impl Iterator<Item = &'a Pending> {
        self.pending.iter().filter(move |p| {
            !fetched
                .iter()
                .any(|Settled(id, at)| *id == p.order_id && *at >= p.changed_at)
        })
    }

    /// When a fetch can next be made: the earliest unfetched change, no sooner
    /// than getOrder's bucket allows.
    pub fn fetch_after(
        &self,
        store: &Store<'_>,
        fetched: &[Settled],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let due = self
            .unfetched(fetched)
            .map(|p| p.not_before.unwrap_or(now).max(now))
            .min()?;
        Some(due.max(pacing::ready_at(store, &Operation::GET_ORDER, now)))
    }
}

/// One call: decides each message's outcome and stores what was taken.
pub fn take_notifications(
    host: &dyn Host,
    settings: &ConnectionSettings,
    messages: &[String],
) -> Result<TakenNotifications, Error> {
    settings.validate()?;
    if messages.len() > MAX_MESSAGES {
        return Err(Error::invalid(
            "messages",
            format!(
                "{} messages; at most {MAX_MESSAGES} per call",
                messages.len()
            ),
        ));
    }
    let store = Store::new(host);
    let mut changes = Changes::load(&store)?;
    let subscribed: Option<String> = store.load(EVENTS_SUBSCRIPTION)?;
    let mut outcomes = Vec::with_capacity(messages.len());
    let mut taken = 0usize;
    for body in messages {
        let outcome = match message::parse(body) {
            Err(reason) => MessageOutcome::Malformed(reason),
            Ok(change)
                if subscribed
                    .as_ref()
                    .is_some_and(|ours| change.subscription_id.as_ref() != Some(ours)) =>
            {
                MessageOutcome::NotForThisConnection
            }
            Ok(change) => take(&store, settings, &mut changes, change)?,
        };
        taken += usize::from(outcome == MessageOutcome::Taken);
        outcomes.push(outcome);
    }
    if taken > 0 {
        // Write-ahead: the host learns of "taken" only once it is stored.
        changes.save(&store)?;
    }
    let import_after = changes.fetch_after(&store, &[], host.now());
    log::info!(
        "took {taken} of {} notifications, {} changes wait",
        messages.len(),
        changes.pending.len()
    );
    Ok(TakenNotifications {
        outcomes,
        import_after,
    })
}

/// The outcome of one readable notification.
fn take(
    store: &Store<'_>,
    settings: &ConnectionSettings,
    changes: &mut Changes,
    change: OrderChange,
) -> Result<MessageOutcome, Error> {
    let source = settings.source(&change.marketplace_id);
    let amazon_fulfilled = change.fulfillment_type.as_deref() == Some("AFN");
    if change.seller_id != settings.credentials.seller_id
        || source.is_none_or(|s| amazon_fulfilled && !s.import_fba_orders)
    {
        return Ok(MessageOutcome::NotForThisConnection);
    }
    if changes
        .known(&change.order_id)
        .is_some_and(|known| known >= change.changed_at)
    {
        return Ok(MessageOutcome::Duplicate);
    }
    let version = Settled(change.order_id.clone(), change.changed_at);
    if change.order_status.as_deref() == Some("Shipped")
        && crate::notify::shipped_by_this_connection(store, &change.order_id)?
    {
        // Our own update: the host knows; polling brings Amazon's version.
        changes.settle(&[version]);
        return Ok(MessageOutcome::Taken);
    }
    changes.pending.retain(|p| p.order_id != change.order_id);
    if changes.pending.len() >= MAX_PENDING {
        log::warn!(
            "{MAX_PENDING} changes wait to be fetched; order {} is left to polling",
            change.order_id
        );
        changes.settle(&[version]);
        return Ok(MessageOutcome::Taken);
    }
    changes.pending.push(Pending {
        order_id: change.order_id,
        marketplace_id: change.marketplace_id,
        changed_at: change.changed_at,
        not_before: None,
        stale_reads: 0,
    });
    Ok(MessageOutcome::Taken)
}

#[cfg(test)]
mod tests;
