//! Every key the component writes to the host's key-value store, in one place, so
//! the storage layout (the README's table) can be read here and two concerns never
//! share a prefix. Keys hold ids, dates and Amazon's non-personal data only.

/// The LWA access token and its expiry, bound to the app and seller.
pub const ACCESS_TOKEN: &str = "auth/access-token";
/// The application's grantless access token (Notifications scope) and its expiry.
pub const GRANTLESS_TOKEN: &str = "auth/grantless-token";
/// `pacing/{operation}`: the component's view of Amazon's bucket for an operation.
pub const PACING_PREFIX: &str = "pacing/";
/// `catalog/{marketplace}/{asin}`: a product's weight, size and image, when read.
pub const CATALOG_PREFIX: &str = "catalog/";
/// `unshipped/{order id}`: the order's items Amazon counts as unshipped, from import.
pub const UNSHIPPED_PREFIX: &str = "unshipped/";
/// `shipment/{order id}`: Amazon has tracking for this order.
pub const SHIPMENT_PREFIX: &str = "shipment/";
/// `outbox/{order id}`: an update Amazon does not have yet.
pub const OUTBOX_PREFIX: &str = "outbox/";
/// `rejected/{order id}`: Amazon refused this label's update.
pub const REJECTED_PREFIX: &str = "rejected/";
/// `outbox-index/{part}`: the order ids of one part that have an outbox entry (the
/// key-value store cannot list keys).
pub const OUTBOX_INDEX_PREFIX: &str = "outbox-index/";
/// The outbox index parts that hold any order id.
pub const OUTBOX_PARTS: &str = "outbox-parts";
/// The outbox index of the stores written before it had parts: read once, moved
/// into the parts, removed.
pub const LEGACY_OUTBOX_INDEX: &str = "outbox-index";
/// `feed-job/{id}`: one feed from the document to the report.
pub const FEED_JOB_PREFIX: &str = "feed-job/";
/// The ids of the feed jobs in progress.
pub const FEED_JOB_INDEX: &str = "feed-jobs";
/// How long Amazon took to process the last feed, in seconds: the estimate for the
/// next one.
pub const FEED_TURNAROUND: &str = "feed-turnaround";
/// Changes taken from ORDER_CHANGE notifications, waiting for getOrder.
pub const EVENT_QUEUE: &str = "order-events/pending";
/// The latest changes done with, so a late copy of a notification is a duplicate.
pub const EVENTS_SETTLED: &str = "order-events/settled";
/// The connection's ORDER_CHANGE subscription id, once `subscribe` made or found it.
pub const EVENTS_SUBSCRIPTION: &str = "order-events/subscription";
/// `redaction/order/{order id}`: an order's redaction schedule.
pub const REDACTION_ORDER_PREFIX: &str = "redaction/order/";
/// `redaction/hour/{hour}/{part}`: an hour's lists of the orders due in it, in parts.
pub const REDACTION_HOUR_PREFIX: &str = "redaction/hour/";
/// `redaction/labels/{order id}`: the label-only schedules of an order, for the audit.
pub const REDACTION_LABELS_PREFIX: &str = "redaction/labels/";
/// The hours that have `redaction/hour/` lists, and how many parts each.
pub const REDACTION_HOURS: &str = "redaction/hours";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_prefix_is_the_start_of_another_concern_s_key() {
        let keys = [
            ACCESS_TOKEN,
            GRANTLESS_TOKEN,
            PACING_PREFIX,
            CATALOG_PREFIX,
            UNSHIPPED_PREFIX,
            SHIPMENT_PREFIX,
            OUTBOX_PREFIX,
            REJECTED_PREFIX,
            OUTBOX_INDEX_PREFIX,
            OUTBOX_PARTS,
            LEGACY_OUTBOX_INDEX,
            FEED_JOB_PREFIX,
            FEED_JOB_INDEX,
            FEED_TURNAROUND,
            EVENT_QUEUE,
            EVENTS_SETTLED,
            EVENTS_SUBSCRIPTION,
            REDACTION_ORDER_PREFIX,
            REDACTION_HOUR_PREFIX,
            REDACTION_LABELS_PREFIX,
            REDACTION_HOURS,
        ];
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                if i != j && a.ends_with('/') {
                    assert!(!b.starts_with(a), "{b} falls under the prefix {a}");
                }
            }
        }
    }
}
