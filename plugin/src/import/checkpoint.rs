//! The import position, handed to the host with every batch and back on the next
//! call. The host stores it in the same transaction as the orders, so "what the host
//! has" and "where the import continues" can never disagree, whatever crashes when.
//!
//! It holds order ids and dates only, never buyer data.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::events::Settled;
use crate::model::ConnectionSettings;

/// Bumped when the shape changes incompatibly; an older checkpoint (version 1 is
/// contract 0.2's, one marketplace each) is then refused with a clear error instead
/// of being misread.
const VERSION: u32 = 2;
/// Bounds on the lists, so a checkpoint stays a few hundred KB at most.
pub const MAX_DELIVERED: usize = 5_000;
/// See [`MAX_DELIVERED`].
pub const MAX_RETRIES: usize = 1_000;
/// See [`MAX_DELIVERED`].
pub const MAX_PRODUCTS: usize = 5_000;

/// Where the import of one connection stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// [`VERSION`].
    pub version: u32,
    /// The seller this checkpoint belongs to.
    pub seller_id: String,
    /// The order sources, in groups read together: each group pages its own
    /// searchOrders windows.
    pub streams: Vec<Stream>,
    /// Orders that could not be read, fetched again with getOrder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retry>,
    /// ASINs of delivered items whose catalog info is still to be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<PendingProduct>,
    /// Changes from notifications this batch fetched: done with once the host
    /// passes this checkpoint back, as it then has stored the batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetched: Vec<Settled>,
    /// Versions fetched with getOrder (for a notification, or a retry) that
    /// polling may read again: dropped when it does, until every window has
    /// passed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_delivered: Vec<Delivered>,
}

/// Order sources read in the same searchOrders windows, and where those stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stream {
    /// The marketplaces the next window asks for, sorted.
    pub marketplaces: Vec<String>,
    /// `lastUpdatedAfter` of the next window.
    pub cursor: DateTime<Utc>,
    /// The window being paged, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Order versions the last window delivered inside the overlap the next window
    /// re-reads: when they come again unchanged they are dropped, not re-delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivered: Vec<Delivered>,
    /// No page is read before this: the polling interval after a finished window.
    pub next_page_at: DateTime<Utc>,
}

impl Stream {
    /// The position of sources that never imported: `lookback` before `now`.
    pub fn first(marketplaces: Vec<String>, now: DateTime<Utc>, lookback: Duration) -> Self {
        Self {
            marketplaces,
            cursor: now - lookback,
            window: None,
            delivered: Vec::new(),
            next_page_at: now,
        }
    }

    /// True when `order_id` at `updated` was delivered by the last window's overlap.
    pub fn already_delivered(&self, order_id: &str, updated: &str) -> bool {
        self.delivered
            .iter()
            .any(|d| d.0 == order_id && d.1 == updated)
    }
}

/// One searchOrders window: its filters are fixed when it opens and repeated on every
/// page, as Amazon requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Window {
    /// The query of every page, `paginationToken` aside.
    pub filters: Vec<(String, String)>,
    /// `lastUpdatedBefore`: where the window ends.
    pub before: DateTime<Utc>,
    /// When the first page was requested; page tokens expire 24 h later.
    pub opened_at: DateTime<Utc>,
    /// The next page's token; `None` before the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Versions delivered so far that the next window's overlap will re-read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<Delivered>,
    /// The latest `lastUpdatedTime` read so far, while every order came in order of
    /// update: everything Amazon has up to it has been read, so the window can end
    /// there. Amazon does not document an order, so the window checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier: Option<DateTime<Utc>>,
    /// An order came out of update order: the window can only be read to its end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unordered: bool,
    /// Versions delivered within the overlap before `frontier`: what a window that
    /// starts there drops as repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<Delivered>,
}

/// An order version: the order id and Amazon's `lastUpdatedTime`, as Amazon wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered(pub String, pub String);

/// An ASIN waiting for the catalog of a marketplace, with the refusals it met so
/// far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingProduct(pub String, pub u32, pub String);

/// An order waiting to be fetched again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retry {
    /// Amazon order id.
    pub order_id: String,
    /// Failed readings so far.
    pub attempts: u32,
    /// Not before this.
    pub next_at: DateTime<Utc>,
}

impl Checkpoint {
    /// The position of a connection that never imported: every source `lookback`
    /// before `now`.
    pub fn first(settings: &ConnectionSettings, now: DateTime<Utc>, lookback: Duration) -> Self {
        let mut checkpoint = Self {
            version: VERSION,
            seller_id: settings.credentials.seller_id.clone(),
            streams: Vec::new(),
            retry: Vec::new(),
            products: Vec::new(),
            fetched: Vec::new(),
            event_delivered: Vec::new(),
        };
        super::streams::reconcile(&mut checkpoint, settings, now, lookback);
        checkpoint
    }

    /// Reads a checkpoint the host passed back, refusing one that is damaged, from
    /// another version (a contract 0.2 one included), or from another seller.
    pub fn decode(text: &str, settings: &ConnectionSettings) -> Result<Self, Error> {
        let invalid = |reason: String| Error::invalid("checkpoint", reason);
        let checkpoint: Self = serde_json::from_slice(text.as_bytes()).map_err(|e| {
            // A 0.2 checkpoint has fields this version does not: say so plainly.
            let reason = if text.trim_start().starts_with("{\"version\":1,") {
                "a checkpoint of contract 0.2 (one marketplace); start again without a checkpoint"
                    .to_owned()
            } else {
                format!(
                    "not a checkpoint from this component ({})",
                    crate::error::describe_json_error(&e)
                )
            };
            invalid(reason)
        })?;
        if checkpoint.version != VERSION {
            return Err(invalid(format!(
                "version {} is not {VERSION}; start again without a checkpoint",
                checkpoint.version
            )));
        }
        if checkpoint.seller_id != settings.credentials.seller_id {
            return Err(invalid(format!(
                "it belongs to seller {}, not this connection's",
                checkpoint.seller_id
            )));
        }
        Ok(checkpoint)
    }

    /// The text the host stores.
    pub fn encode(&self) -> String {
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, us_settings};

    #[test]
    fn round_trips_and_refuses_other_sellers_and_damage() {
        let settings = us_settings();
        let mut checkpoint =
            Checkpoint::first(&settings, at("2026-11-20T15:00:00Z"), Duration::days(14));
        checkpoint.retry.push(Retry {
            order_id: "111-1".into(),
            attempts: 1,
            next_at: at("2026-11-20T15:01:00Z"),
        });
        let text = checkpoint.encode();
        assert_eq!(Checkpoint::decode(&text, &settings).unwrap(), checkpoint);

        let mut other = settings.clone();
        other.credentials.seller_id = "A3OTHER".into();
        assert!(matches!(
            Checkpoint::decode(&text, &other),
            Err(Error::InvalidInput { field, .. }) if field == "checkpoint"
        ));
        let damaged = Checkpoint::decode("{\"version\":2", &settings).unwrap_err();
        assert!(damaged.to_string().contains("truncated JSON"), "{damaged}");
        let old = text.replace("\"version\":2", "\"version\":0");
        assert!(Checkpoint::decode(&old, &settings).is_err());
    }

    #[test]
    fn a_version_one_checkpoint_is_refused_as_contract_0_2_s() {
        let settings = us_settings();
        let v1 = r#"{"version":1,"sellerId":"A3SELLER","marketplaceId":"ATVPDKIKX0DER",
            "cursor":"2026-11-19T10:00:00Z","nextPageAt":"2026-11-19T10:05:00Z"}"#;
        let refused = Checkpoint::decode(v1, &settings).unwrap_err();
        assert!(
            matches!(&refused, Error::InvalidInput { field, .. } if field == "checkpoint"),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("contract 0.2"), "{refused}");
    }
}
