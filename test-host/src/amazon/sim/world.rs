//! The simulated seller's orders: Amazon's truth at every moment. Orders are kept as
//! Amazon's own JSON (Orders 2026-01-01 `Order`), generated from a seed or read from a
//! searchOrders body, and change over time through scheduled events.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::marketplaces;

/// One order as Amazon holds it, with the fields the simulator filters on.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// Amazon's JSON, every dataset included.
    pub json: Value,
    /// `orderId`.
    pub id: String,
    /// `lastUpdatedTime`.
    pub updated: DateTime<Utc>,
    /// `createdTime`.
    pub created: DateTime<Utc>,
    /// `salesChannel.marketplaceId`.
    pub marketplace: String,
    /// `salesChannel.channelName`.
    pub channel: String,
    /// `fulfillment.fulfilledBy`.
    pub fulfilled_by: String,
    /// `fulfillment.fulfillmentStatus`.
    pub status: String,
}

impl SimOrder {
    /// Indexes Amazon's JSON of one order; refuses one without the fields the
    /// simulator needs (Amazon's required fields).
    pub fn from_json(json: Value) -> Result<Self> {
        let text = |path: &[&str]| {
            path.iter()
                .try_fold(&json, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let time = |name: &str| -> Result<DateTime<Utc>> {
            let value = text(&[name]).with_context(|| format!("an order has no {name}"))?;
            Ok(DateTime::parse_from_rfc3339(&value)
                .with_context(|| format!("{name} is not an ISO 8601 date-time"))?
                .with_timezone(&Utc))
        };
        let id = text(&["orderId"]).context("an order has no orderId")?;
        Ok(Self {
            updated: time("lastUpdatedTime")?,
            created: time("createdTime")?,
            marketplace: text(&["salesChannel", "marketplaceId"]).unwrap_or_default(),
            channel: text(&["salesChannel", "channelName"])
                .context("an order has no salesChannel.channelName")?,
            fulfilled_by: text(&["fulfillment", "fulfilledBy"])
                .unwrap_or_else(|| "MERCHANT".into()),
            status: text(&["fulfillment", "fulfillmentStatus"])
                .unwrap_or_else(|| "UNSHIPPED".into()),
            id,
            json,
        })
    }

    /// The order as one searchOrders or getOrder answer shows it: only the datasets
    /// requested, as Amazon does.
    pub fn view(&self, included: &BTreeSet<String>) -> Value {
        let mut order = self.json.clone();
        let Some(map) = order.as_object_mut() else {
            return order;
        };
        for (dataset, field) in [
            ("BUYER", "buyer"),
            ("RECIPIENT", "recipient"),
            ("PROCEEDS", "proceeds"),
            ("FULFILLMENT", "fulfillment"),
            ("PAYMENT", "payment"),
            ("TAX", "tax"),
            ("PACKAGES", "packages"),
            ("FULFILLMENT_ORDERS", "fulfillmentOrders"),
        ] {
            if !included.contains(dataset) {
                map.remove(field);
            }
        }
        if let Some(items) = map.get_mut("orderItems").and_then(Value::as_array_mut) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                for (dataset, field) in [
                    ("PROCEEDS", "proceeds"),
                    ("FULFILLMENT", "fulfillment"),
                    ("PROMOTION", "promotion"),
                    ("EXPENSE", "expense"),
                    ("CANCELLATION", "cancellation"),
                    ("TAX", "tax"),
                ] {
                    if !included.contains(dataset) {
                        item.remove(field);
                    }
                }
            }
        }
        order
    }

    fn set_status(&mut self, status: &str, at: DateTime<Utc>) {
        self.status = status.to_owned();
        self.updated = at;
        self.json["lastUpdatedTime"] = json!(stamp(at));
        if let Some(fulfillment) = self
            .json
            .get_mut("fulfillment")
            .and_then(Value::as_object_mut)
        {
            fulfillment.insert("fulfillmentStatus".into(), json!(status));
        }
        let shipped_all = status == "SHIPPED";
        let mut first = true;
        for item in self.json["orderItems"].as_array_mut().into_iter().flatten() {
            let ordered = item["quantityOrdered"].as_u64().unwrap_or(1);
            // A partial shipment ships the first line; a full one ships every line.
            let fulfilled = if shipped_all || (status == "PARTIALLY_SHIPPED" && first) {
                ordered
            } else {
                0
            };
            first = false;
            if let Some(f) = item.get_mut("fulfillment").and_then(Value::as_object_mut) {
                f.insert("quantityFulfilled".into(), json!(fulfilled));
                f.insert("quantityUnfulfilled".into(), json!(ordered - fulfilled));
            }
        }
    }
}

/// Amazon's date-time format.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What a world is made of.
#[derive(Debug, Clone)]
pub struct WorldSpec {
    /// The seed: the same spec and seed make the same world and the same changes.
    pub seed: u64,
    /// The seller's orders at the start, updated in the 14 days before, spread
    /// evenly over `marketplaces`.
    pub orders: usize,
    /// The marketplaces the seller's orders (and new ones) are placed in; the
    /// first also holds the Multi-Channel orders.
    pub marketplaces: Vec<String>,
    /// Share of orders fulfilled by Amazon.
    pub fba_share: f64,
    /// Another marketplace of the same seller, and how many orders it has.
    pub other_marketplace: Option<(String, usize)>,
    /// Multi-Channel Fulfillment orders of other shops (NON_AMAZON) in the first
    /// marketplace.
    pub non_amazon_orders: usize,
    /// Changes during the run, as a share of `orders`: new orders, shipments,
    /// cancellations, partial shipments, releases of pending orders.
    pub change_rate: f64,
    /// The changes happen between the start and this long after it.
    pub change_horizon: Duration,
    /// The share of changes that are new orders; the rest move existing ones on.
    pub arrival_share: f64,
    /// How many different products (ASINs) the orders are made of.
    pub distinct_asins: u32,
    /// The seller ships its own orders through the component (labels): Amazon's
    /// changes then never ship a merchant-fulfilled order by themselves.
    pub seller_ships: bool,
}

impl Default for WorldSpec {
    /// 100 orders in the US marketplace, none of them Amazon-fulfilled, nothing
    /// else mixed in, and no changes.
    fn default() -> Self {
        Self {
            seed: 1,
            orders: 100,
            marketplaces: vec!["ATVPDKIKX0DER".into()],
            fba_share: 0.0,
            other_marketplace: None,
            non_amazon_orders: 0,
            change_rate: 0.0,
            change_horizon: Duration::hours(1),
            arrival_share: 0.3,
            distinct_asins: 300,
            seller_ships: false,
        }
    }
}

/// A scheduled change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A new order arrives.
    Arrival,
    /// An existing order moves on.
    Progress,
}

/// The simulated seller's orders and what will happen to them.
pub struct World {
    orders: BTreeMap<String, SimOrder>,
    /// (lastUpdatedTime, orderId): searchOrders' order of results.
    by_update: BTreeSet<(DateTime<Utc>, String)>,
    events: Vec<(DateTime<Utc>, Change)>,
    next_event: usize,
    rng: Xoshiro256PlusPlus,
    marketplaces: Vec<String>,
    fba_share: f64,
    distinct_asins: u32,
    seller_ships: bool,
    serial: u64,
    now: DateTime<Utc>,
    changes_applied: usize,
    /// Orders changed since the last [`World::take_changed`], in order of change.
    changed: Vec<String>,
}

impl World {
    /// A generated world at `start`.
    pub fn generate(spec: &WorldSpec, start: DateTime<Utc>) -> Self {
        let mut world = Self::empty(spec.seed, &spec.marketplaces, spec.fba_share, start);
        world.distinct_asins = spec.distinct_asins.max(1);
        world.seller_ships = spec.seller_ships;
        let window = Duration::days(14) - Duration::hours(1);
        let backlog = |world: &mut World, marketplace: &str, channel: &str, count: usize| {
            for _ in 0..count {
                let ago = Duration::seconds(world.rng.random_range(180..window.num_seconds()));
                let start = start.duration_trunc(Duration::seconds(1)).unwrap_or(start);
                let order = world.new_order(marketplace, channel, start - ago);
                world.insert(order);
            }
        };
        let first = world.marketplaces[0].clone();
        let spread = world.marketplaces.len();
        for (index, marketplace) in world.marketplaces.clone().iter().enumerate() {
            // The first `orders % spread` marketplaces take one more.
            let share = spec.orders / spread + usize::from(index < spec.orders % spread);
            backlog(&mut world, marketplace, "AMAZON", share);
        }
        if let Some((other, count)) = &spec.other_marketplace {
            backlog(&mut world, other, "AMAZON", *count);
        }
        backlog(&mut world, &first, "NON_AMAZON", spec.non_amazon_orders);

        let changes = (spec.orders as f64 * spec.change_rate).round() as usize;
        let horizon = spec.change_horizon.num_milliseconds().max(1);
        let mut events: Vec<(DateTime<Utc>, Change)> = (0..changes)
            .map(|_| {
                let at = start + Duration::milliseconds(world.rng.random_range(0..horizon));
                let kind = if world.rng.random_bool(spec.arrival_share.clamp(0.0, 1.0)) {
                    Change::Arrival
                } else {
                    Change::Progress
                };
                (at, kind)
            })
            .collect();
        events.sort_by_key(|(at, _)| *at);
        world.events = events;
        world
    }

    /// A world holding Amazon's own orders (a searchOrders body), with no changes.
    pub fn from_search_orders_body(
        body: &Value,
        marketplace: &str,
        seed: u64,
        start: DateTime<Utc>,
    ) -> Result<Self> {
        let Some(orders) = body.get("orders").and_then(Value::as_array) else {
            bail!("the file is not a searchOrders response: it has no \"orders\" array");
        };
        let mut world = Self::empty(seed, &[marketplace.to_owned()], 0.0, start);
        for (index, order) in orders.iter().enumerate() {
            let order =
                SimOrder::from_json(order.clone()).with_context(|| format!("order {index}"))?;
            world.insert(order);
        }
        Ok(world)
    }

    fn empty(seed: u64, marketplaces: &[String], fba_share: f64, start: DateTime<Utc>) -> Self {
        let marketplaces = match marketplaces {
            [] => vec!["ATVPDKIKX0DER".to_owned()],
            some => some.to_vec(),
        };
        Self {
            orders: BTreeMap::new(),
            by_update: BTreeSet::new(),
            events: Vec::new(),
            next_event: 0,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            marketplaces,
            fba_share,
            distinct_asins: 300,
            seller_ships: false,
            serial: 0,
            now: start,
            changes_applied: 0,
            changed: Vec::new(),
        }
    }

    /// The orders changed since the last call (each change once), for the
    /// notifications Amazon publishes.
    pub fn take_changed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.changed)
    }

    /// Inserts a changed order and notes the change.
    fn change(&mut self, order: SimOrder) {
        self.changed.push(order.id.clone());
        self.insert(order);
    }

    fn insert(&mut self, order: SimOrder) {
        if let Some(old) = self.orders.get(&order.id) {
            self.by_update.remove(&(old.updated, old.id.clone()));
        }
        self.by_update.insert((order.updated, order.id.clone()));
        self.orders.insert(order.id.clone(), order);
    }

    /// Applies every change due by `now`.
    pub fn advance_to(&mut self, now: DateTime<Utc>) {
        while let Some(&(at, change)) = self.events.get(self.next_event) {
            if at > now {
                break;
            }
            self.next_event += 1;
            self.apply(change, at);
        }
        self.now = self.now.max(now);
    }

    fn apply(&mut self, change: Change, at: DateTime<Utc>) {
        // Amazon's times are whole seconds.
        let at = at.duration_trunc(Duration::seconds(1)).unwrap_or(at);
        self.changes_applied += 1;
        if change == Change::Progress {
            let open: Vec<String> = self
                .orders
                .values()
                .filter(|o| {
                    o.channel == "AMAZON"
                        && matches!(
                            o.status.as_str(),
                            "PENDING" | "UNSHIPPED" | "PARTIALLY_SHIPPED"
                        )
                })
                .map(|o| o.id.clone())
                .collect();
            if !open.is_empty() {
                let id = open[self.rng.random_range(0..open.len())].clone();
                let roll: f64 = self.rng.random();
                let mut order = self.orders[&id].clone();
                let next = match (order.status.as_str(), order.fulfilled_by.as_str()) {
                    ("PENDING", "AMAZON") => "SHIPPED",
                    ("PENDING", _) if roll < 0.8 => "UNSHIPPED",
                    ("PENDING", _) => "CANCELLED",
                    // Shipping is the seller's (labels), except for a cancellation.
                    ("UNSHIPPED" | "PARTIALLY_SHIPPED", "MERCHANT") if self.seller_ships => {
                        if roll < 0.1 { "CANCELLED" } else { return }
                    }
                    ("UNSHIPPED", _) if roll < 0.6 => "SHIPPED",
                    ("UNSHIPPED", _) if roll < 0.8 => "PARTIALLY_SHIPPED",
                    ("UNSHIPPED", _) => "CANCELLED",
                    _ => "SHIPPED",
                };
                self.by_update.remove(&(order.updated, order.id.clone()));
                order.set_status(next, at);
                self.change(order);
                return;
            }
        }
        // One marketplace draws nothing, so a one-marketplace world stays the same.
        let which = match self.marketplaces.len() {
            1 => 0,
            spread => self.rng.random_range(0..spread),
        };
        let marketplace = self.marketplaces[which].clone();
        let order = self.new_order(&marketplace, "AMAZON", at);
        self.change(order);
    }

    /// The changes still to come.
    /// The seller shipped `items` (order item id, quantity) of an order in one
    /// package: the package joins the order's PACKAGES data, the items count as
    /// fulfilled and the order moves to SHIPPED (or PARTIALLY_SHIPPED). `Err` is
    /// Amazon's reason for refusing it.
    pub fn ship(
        &mut self,
        order_id: &str,
        package: Value,
        items: &[(String, u64)],
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let at = at.duration_trunc(Duration::seconds(1)).unwrap_or(at);
        let Some(order) = self.orders.get(order_id) else {
            return Err(format!("order {order_id} was not found"));
        };
        if order.fulfilled_by != "MERCHANT" || order.channel != "AMAZON" {
            return Err("the order is not fulfilled by the seller".into());
        }
        match order.status.as_str() {
            "UNSHIPPED" | "PARTIALLY_SHIPPED" => {}
            "SHIPPED" => return Err("the order has already been shipped".into()),
            other => return Err(format!("an order in status {other} cannot be shipped")),
        }
        let mut order = order.clone();
        let lines = order.json["orderItems"].as_array_mut();
        let mut lines = lines.into_iter().flatten().collect::<Vec<_>>();
        for (item_id, quantity) in items {
            let Some(line) = lines
                .iter_mut()
                .find(|l| l["orderItemId"] == item_id.as_str())
            else {
                return Err(format!("OrderItemId {item_id} is invalid"));
            };
            let open = line["fulfillment"]["quantityUnfulfilled"]
                .as_u64()
                .unwrap_or(0);
            if *quantity == 0 || *quantity > open {
                return Err(format!(
                    "quantity {quantity} of {item_id} exceeds what is unshipped"
                ));
            }
            let done = line["fulfillment"]["quantityFulfilled"]
                .as_u64()
                .unwrap_or(0);
            line["fulfillment"] = json!({"quantityFulfilled": done + quantity, "quantityUnfulfilled": open - quantity});
        }
        let all_shipped = lines
            .iter()
            .all(|l| l["fulfillment"]["quantityUnfulfilled"].as_u64() == Some(0));
        let status = if all_shipped {
            "SHIPPED"
        } else {
            "PARTIALLY_SHIPPED"
        };
        match order.json.get_mut("packages").and_then(Value::as_array_mut) {
            Some(packages) => packages.push(package),
            None => order.json["packages"] = json!([package]),
        }
        self.by_update.remove(&(order.updated, order.id.clone()));
        order.status = status.to_owned();
        order.updated = at;
        order.json["lastUpdatedTime"] = json!(stamp(at));
        order.json["fulfillment"]["fulfillmentStatus"] = json!(status);
        self.change(order);
        Ok(())
    }

    pub fn pending_changes(&self) -> usize {
        self.events.len() - self.next_event
    }

    /// When the next scheduled change happens, if any is left.
    pub fn next_change_at(&self) -> Option<DateTime<Utc>> {
        self.events.get(self.next_event).map(|(at, _)| *at)
    }

    /// When the last change happens, if there are any.
    pub fn last_change_at(&self) -> Option<DateTime<Utc>> {
        self.events.last().map(|(at, _)| *at)
    }

    /// Changes applied so far.
    pub fn changes_applied(&self) -> usize {
        self.changes_applied
    }

    /// Every order, in no particular order.
    pub fn orders(&self) -> impl Iterator<Item = &SimOrder> {
        self.orders.values()
    }

    /// One order.
    pub fn order(&self, id: &str) -> Option<&SimOrder> {
        self.orders.get(id)
    }

    /// Orders by (lastUpdatedTime, orderId), starting after `from` (exclusive).
    pub fn updated_since<'w>(
        &'w self,
        from: &(DateTime<Utc>, String),
        inclusive: bool,
    ) -> impl Iterator<Item = &'w SimOrder> + 'w {
        use std::ops::Bound;
        let lower = if inclusive {
            Bound::Included(from.clone())
        } else {
            Bound::Excluded(from.clone())
        };
        self.by_update
            .range((lower, Bound::Unbounded))
            .filter_map(|(_, id)| self.orders.get(id))
    }

    /// The latest lastUpdatedTime of any order.
    pub fn latest_update(&self) -> Option<DateTime<Utc>> {
        self.by_update.last().map(|(at, _)| *at)
    }

    fn new_order(&mut self, marketplace: &str, channel: &str, at: DateTime<Utc>) -> SimOrder {
        self.serial += 1;
        let serial = self.serial;
        let rng = &mut self.rng;
        let id = format!(
            "{:03}-{:07}-{:07}",
            rng.random_range(111..999),
            rng.random_range(0..10_000_000),
            serial
        );
        let fba = channel == "NON_AMAZON" || rng.random_bool(self.fba_share);
        let pending = rng.random_bool(0.1);
        let status = match (pending, fba) {
            (true, _) => "PENDING",
            (false, true) => "SHIPPED",
            (false, false) => "UNSHIPPED",
        };
        let place = marketplaces::find(marketplace).unwrap_or(&marketplaces::MARKETPLACES[1]);
        let (currency, country, site) = (place.currency, place.country, place.site);
        let lines = rng.random_range(1..=3u32);
        let mut total_cents = 0u64;
        let items: Vec<Value> = (1..=lines)
            .map(|line| {
                let quantity = rng.random_range(1..=2u64);
                let cents = rng.random_range(499..19_999u64);
                total_cents += cents * quantity;
                let shipped = if status == "SHIPPED" { quantity } else { 0 };
                json!({
                    "orderItemId": format!("{}{:02}", serial * 7 + 10_000_000_000, line),
                    "quantityOrdered": quantity,
                    "product": {
                        "asin": format!("B0SIM{:05}", rng.random_range(0..self.distinct_asins)),
                        "title": format!("Simulated product {line}"),
                        "sellerSku": format!("SIM-SKU-{}", rng.random_range(0..5_000u32)),
                        "price": {"unitPrice": money(cents, currency)},
                    },
                    "proceeds": {
                        "proceedsTotal": money(cents * quantity, currency),
                        "breakdowns": [{"type": "ITEM", "subtotal": money(cents * quantity, currency)}],
                    },
                    "fulfillment": {"quantityFulfilled": shipped, "quantityUnfulfilled": quantity - shipped},
                })
            })
            .collect();
        let mut order = json!({
            "orderId": id,
            "createdTime": stamp(at),
            "lastUpdatedTime": stamp(at),
            "programs": if rng.random_bool(0.3) { json!(["PRIME"]) } else { json!([]) },
            "salesChannel": {"channelName": channel, "marketplaceId": marketplace, "marketplaceName": site},
            "proceeds": {"grandTotal": money(total_cents, currency)},
            "fulfillment": {
                "fulfillmentStatus": status,
                "fulfilledBy": if fba { "AMAZON" } else { "MERCHANT" },
                "fulfillmentServiceLevel": "STANDARD",
                "shipByWindow": {"latestDateTime": stamp(at + Duration::days(2))},
                "deliverByWindow": {"latestDateTime": stamp(at + Duration::days(7))},
            },
            "orderItems": items,
        });
        // Buyer data is synthetic, and Amazon shows none for pending or
        // Amazon-fulfilled orders beyond the city.
        let (town, state, postal) = place.city;
        let city = json!({"city": town, "stateOrRegion": state, "postalCode": postal, "countryCode": country});
        order["recipient"] = json!({"deliveryAddress": city});
        if !fba && !pending {
            // Amazon.co.jp writes its buyers' names and addresses in kanji.
            let (name, street) = if marketplace == marketplaces::JAPAN {
                (
                    format!("模擬 購入者 {serial}"),
                    format!("丸の内{serial}丁目"),
                )
            } else {
                (
                    format!("Simulated Buyer {serial}"),
                    format!("{serial} Simulated Way"),
                )
            };
            order["buyer"] = json!({
                "buyerName": name,
                "buyerEmail": format!("sim-{serial}@marketplace.amazon.com"),
            });
            order["recipient"]["deliveryAddress"] = json!({
                "name": name,
                "addressLine1": street,
                "city": town, "stateOrRegion": state, "postalCode": postal, "countryCode": country,
                "addressType": "RESIDENTIAL",
            });
        }
        SimOrder::from_json(order).expect("generated orders carry every required field")
    }
}

/// An amount of `minor` units of `currency`; the yen has none, so a yen amount is
/// whole (Amazon.co.jp's prices are).
fn money(minor: u64, currency: &str) -> Value {
    let amount = match currency {
        "JPY" => minor.to_string(),
        _ => format!("{}.{:02}", minor / 100, minor % 100),
    };
    json!({"amount": amount, "currencyCode": currency})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> WorldSpec {
        WorldSpec {
            seed,
            orders: 200,
            marketplaces: vec!["ATVPDKIKX0DER".into()],
            fba_share: 0.2,
            other_marketplace: Some(("A2EUQ1WTGCTBG2".into(), 20)),
            non_amazon_orders: 5,
            change_rate: 0.5,
            change_horizon: Duration::hours(1),
            arrival_share: 0.3,
            distinct_asins: 300,
            seller_ships: false,
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_world_and_changes() {
        let start = DateTime::parse_from_rfc3339("2026-11-20T15:00:00Z")
            .unwrap()
            .to_utc();
        let mut one = World::generate(&spec(7), start);
        let mut two = World::generate(&spec(7), start);
        one.advance_to(start + Duration::hours(2));
        two.advance_to(start + Duration::hours(2));
        let ids = |w: &World| {
            w.orders()
                .map(|o| (o.id.clone(), o.updated, o.status.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&one), ids(&two));
        assert!(
            one.orders().count() >= 225,
            "200 + 20 + 5 at the start, more as orders arrive"
        );
        let other = World::generate(&spec(8), start);
        assert_ne!(ids(&one)[0].0, ids(&other)[0].0);
    }

    #[test]
    fn changes_move_orders_forward_and_stamp_them() {
        let start = DateTime::parse_from_rfc3339("2026-11-20T15:00:00Z")
            .unwrap()
            .to_utc();
        let mut world = World::generate(&spec(1), start);
        assert_eq!(world.pending_changes(), 100);
        world.advance_to(start + Duration::hours(1));
        assert_eq!(world.pending_changes(), 0);
        let changed = world.orders().filter(|o| o.updated >= start).count();
        assert!(changed > 50, "{changed}");
        let index: Vec<_> = world
            .updated_since(&(start, String::new()), true)
            .map(|o| o.updated)
            .collect();
        assert!(index.windows(2).all(|w| w[0] <= w[1]), "searchOrders order");
        for order in world.orders() {
            assert_eq!(order.json["lastUpdatedTime"], json!(stamp(order.updated)));
            assert_eq!(
                order.json["fulfillment"]["fulfillmentStatus"],
                json!(order.status)
            );
        }
    }
}
