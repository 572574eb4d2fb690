//! Amazon's ORDER_CHANGE notifications and the SQS standard queue that receives
//! them for the application. Every change of an order in the world publishes one,
//! valid against Amazon's schema (`OrderChangeNotification.json`, payload 1.0),
//! with no buyer data. The queue is what SQS standard queues are: at least once
//! (a share of messages comes twice), in no order, late (a delivery delay with a
//! tail to minutes); and Amazon's side loses a share, and in an outage all of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::world::SimOrder;

/// SQS hands out at most this many messages per receive.
pub const MAX_PER_RECEIVE: usize = 10;
/// A received message not deleted is visible again this much later (SQS's default
/// visibility timeout).
pub const VISIBILITY_TIMEOUT: Duration = Duration::seconds(30);

/// How the notifications of a run behave.
#[derive(Debug, Clone)]
pub struct EventSpec {
    /// The seed of delays, duplicates and losses.
    pub seed: u64,
    /// The seller id the payloads name.
    pub seller_id: String,
    /// Share of messages SQS delivers twice.
    pub duplicate_share: f64,
    /// Share of notifications Amazon never sends.
    pub loss_share: f64,
    /// Share of messages that arrive garbled (cut short), in place of the
    /// notification.
    pub garbled_share: f64,
    /// Nothing published from this moment, for this long, is ever delivered.
    pub outage: Option<(DateTime<Utc>, Duration)>,
    /// The subscription the notifications name (set when the seller subscribes).
    pub subscription_id: String,
}

impl EventSpec {
    /// The defaults: 2 % duplicates, 1 % lost, no outage.
    pub fn new(seed: u64, seller_id: &str) -> Self {
        Self {
            seed,
            seller_id: seller_id.to_owned(),
            duplicate_share: 0.02,
            loss_share: 0.01,
            garbled_share: 0.0,
            outage: None,
            subscription_id: "simulated-subscription".into(),
        }
    }
}

/// What the queue did, for the report.
#[derive(Debug, Clone, Default)]
pub struct EventCounts {
    /// Notifications Amazon published (one per change).
    pub published: usize,
    /// Of those, lost on Amazon's side (the outage included).
    pub lost: usize,
    /// Second copies SQS delivered.
    pub duplicated: usize,
    /// Messages garbled on the way (each in place of its notification).
    pub garbled: usize,
    /// Messages handed out by receives (redeliveries included).
    pub received: usize,
}

/// The application's SQS queue and what Amazon publishes into it.
pub struct OrderEvents {
    spec: EventSpec,
    rng: Xoshiro256PlusPlus,
    /// (visible at, serial) → body.
    queue: BTreeMap<(DateTime<Utc>, u64), String>,
    serial: u64,
    /// The subscription was deleted: nothing more is published.
    stopped: bool,
    /// Counts so far.
    pub counts: EventCounts,
}

impl OrderEvents {
    /// An empty queue.
    pub fn new(spec: EventSpec) -> Self {
        Self {
            rng: Xoshiro256PlusPlus::seed_from_u64(spec.seed ^ 0x5eed_0e0e),
            spec,
            queue: BTreeMap::new(),
            serial: 0,
            stopped: false,
            counts: EventCounts::default(),
        }
    }

    /// The subscription is gone: what is in the queue stays, nothing new comes.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Amazon publishes the change `order` just went through, at `at`.
    pub fn publish(&mut self, order: &SimOrder, at: DateTime<Utc>) {
        if self.stopped {
            return;
        }
        self.counts.published += 1;
        let in_outage = self
            .spec
            .outage
            .is_some_and(|(from, length)| at >= from && at < from + length);
        if in_outage || self.rng.random_bool(self.spec.loss_share) {
            self.counts.lost += 1;
            return;
        }
        self.serial += 1;
        let mut body = order_change(order, &self.spec, self.serial, at).to_string();
        if self.rng.random_bool(self.spec.garbled_share) {
            self.counts.garbled += 1;
            body.truncate(body.len() / 2);
        }
        let delay = self.delay();
        if self.rng.random_bool(self.spec.duplicate_share) {
            self.counts.duplicated += 1;
            let again = delay + Duration::milliseconds(self.rng.random_range(0..60_000));
            self.enqueue(at + again, body.clone());
        }
        self.enqueue(at + delay, body);
    }

    /// Most within seconds, a tenth within a minute, a hundredth up to ten.
    fn delay(&mut self) -> Duration {
        let roll: f64 = self.rng.random();
        let millis = if roll < 0.9 {
            self.rng.random_range(500..5_000)
        } else if roll < 0.99 {
            self.rng.random_range(5_000..60_000)
        } else {
            self.rng.random_range(60_000..600_000)
        };
        Duration::milliseconds(millis)
    }

    fn enqueue(&mut self, visible_at: DateTime<Utc>, body: String) {
        self.serial += 1;
        self.queue.insert((visible_at, self.serial), body);
    }

    /// Up to [`MAX_PER_RECEIVE`] messages visible at `now`. Each becomes visible
    /// again after the visibility timeout unless deleted: the caller passes back
    /// what it did not handle with [`Self::return_unhandled`].
    pub fn receive(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut taken = Vec::new();
        while taken.len() < MAX_PER_RECEIVE {
            let Some(entry) = self.queue.first_entry() else {
                break;
            };
            if entry.key().0 > now {
                break;
            }
            taken.push(entry.remove());
        }
        self.counts.received += taken.len();
        taken
    }

    /// Messages received at `now` and not deleted: visible again later.
    pub fn return_unhandled(&mut self, now: DateTime<Utc>, bodies: Vec<String>) {
        for body in bodies {
            self.enqueue(now + VISIBILITY_TIMEOUT, body);
        }
    }

    /// When the next message becomes visible.
    pub fn next_visible(&self) -> Option<DateTime<Utc>> {
        self.queue.keys().next().map(|(at, _)| *at)
    }
}

/// Amazon's status names in notifications are v0's, not the 2026 enum's.
fn v0_status(status: &str) -> &'static str {
    match status {
        "PENDING" => "Pending",
        "PARTIALLY_SHIPPED" => "PartiallyShipped",
        "SHIPPED" => "Shipped",
        "CANCELLED" => "Canceled",
        "UNFULFILLABLE" => "Unfulfillable",
        _ => "Unshipped",
    }
}

/// One ORDER_CHANGE body for `order` as it is after the change at `at`.
fn order_change(order: &SimOrder, spec: &EventSpec, serial: u64, at: DateTime<Utc>) -> Value {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let json = &order.json;
    let items: Vec<Value> = json["orderItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            json!({
                "OrderItemId": item["orderItemId"],
                "SellerSKU": item["product"]["sellerSku"],
                "SupplySourceId": "simulated-supply-source",
                "Quantity": item["quantityOrdered"],
                "QuantityShipped": item["fulfillment"]["quantityFulfilled"],
            })
        })
        .collect();
    let id = format!("00000000-0000-4000-9000-{serial:012}");
    json!({
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": stamp(at),
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": spec.seller_id,
            "AmazonOrderId": order.id,
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {
                "TimeOfOrderChange": stamp(order.updated),
                "ChangeReason": "Order status changed",
            },
            "Summary": {
                "MarketplaceId": order.marketplace,
                "OrderStatus": v0_status(&order.status),
                "PurchaseDate": stamp(order.created),
                "DestinationPostalCode": json["recipient"]["deliveryAddress"]["postalCode"],
                "FulfillmentType": if order.fulfilled_by == "AMAZON" { "AFN" } else { "MFN" },
                "OrderType": "StandardOrder",
                "OrderItems": items,
            },
        }},
        "NotificationMetadata": {
            "ApplicationId": "amzn1.sp.solution.simulated-application",
            "SubscriptionId": spec.subscription_id,
            "PublishTime": stamp(at),
            "NotificationId": id,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::sim::{World, WorldSpec};

    fn world() -> (World, DateTime<Utc>) {
        let start = "2026-11-20T15:00:00Z".parse().unwrap();
        let spec = WorldSpec {
            orders: 300,
            ..WorldSpec::default()
        };
        (World::generate(&spec, start), start)
    }

    #[test]
    fn a_body_follows_amazon_s_schema_and_carries_no_buyer_data() {
        let (world, start) = world();
        let order = world.orders().next().unwrap();
        let body = order_change(order, &EventSpec::new(1, "A3SELLER"), 1, start);
        let schema: Value = serde_json::from_str(include_str!(
            "../../../../../shared/amazon-models/schemas/notifications/OrderChangeNotification.json"
        ))
        .unwrap();
        assert_required_present(&schema, &body, "");
        let text = body.to_string();
        assert!(!text.contains("Simulated Buyer") && !text.contains("Simulated Way"));
    }

    /// Every field the schema requires is in the body, all the way down.
    fn assert_required_present(schema: &Value, body: &Value, path: &str) {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            assert!(!body[name].is_null(), "{path}/{name} is missing");
            let inner = &schema["properties"][name];
            match &body[name] {
                Value::Object(_) => assert_required_present(inner, &body[name], path),
                Value::Array(items) => {
                    for item in items {
                        assert_required_present(&inner["items"], item, path);
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn the_queue_delivers_late_out_of_order_sometimes_twice_and_loses_a_few() {
        let (world, start) = world();
        let mut queue = OrderEvents::new(EventSpec::new(3, "A3SELLER"));
        for order in world.orders() {
            queue.publish(order, start);
        }
        let counts = queue.counts.clone();
        assert_eq!(counts.published, 300);
        assert!((1..15).contains(&counts.lost), "{counts:?}");
        assert!((1..20).contains(&counts.duplicated), "{counts:?}");
        assert!(queue.receive(start).is_empty(), "nothing arrives at once");
        let mut received = 0;
        let mut at = start;
        while let Some(next) = queue.next_visible() {
            at = next;
            received += queue.receive(at).len();
        }
        assert_eq!(received, 300 - counts.lost + counts.duplicated);
        assert!(at > start + Duration::minutes(1), "a tail to minutes");
    }

    #[test]
    fn an_outage_delivers_nothing_published_in_it() {
        let (world, start) = world();
        let mut spec = EventSpec::new(3, "A3SELLER");
        spec.outage = Some((start, Duration::hours(2)));
        let mut queue = OrderEvents::new(spec);
        for order in world.orders() {
            queue.publish(order, start + Duration::minutes(30));
        }
        assert_eq!(queue.counts.lost, 300);
        assert_eq!(queue.next_visible(), None);
    }
}
