//! The simulated host's own database: the orders it holds and the checkpoint that
//! goes with them, changed together in one step as a real host's transaction would.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::time;
use crate::embed::runtime::bindings as wit;

/// The host's record of one order.
pub struct Held {
    /// The order source it was delivered for (the order's marketplace).
    pub marketplace: String,
    /// Amazon's last update of the version held.
    pub updated: DateTime<Utc>,
    /// Amazon's status of that version.
    pub status: String,
    /// Fulfilled by Amazon.
    pub amazon_fulfilled: bool,
    /// The component promises product info for it (the seed's rule).
    pub wants_product_info: bool,
    /// (ASIN, has a weight) per item.
    pub items: Vec<(Option<String>, bool)>,
    /// (order item id, quantity not yet shipped) per item.
    pub lines: Vec<(String, u32)>,
    /// The order itself, kept for the report when the world is small (a file).
    pub full: Option<wit::Order>,
}

/// The orders and the checkpoint, changed together.
#[derive(Default)]
pub struct HostDatabase {
    /// Every order held, by Amazon order id.
    pub orders: BTreeMap<String, Held>,
    /// The checkpoint stored with the last batch.
    pub checkpoint: Option<String>,
    /// Every (order id, update time) version ever stored, to find repeats.
    versions: BTreeSet<(String, i64)>,
    /// Keep each order whole (for a report of a small world).
    keep_full_orders: bool,
}

/// What storing one batch changed.
pub struct Stored {
    /// An order is new, newer, or has another status than the version held.
    pub changed: bool,
    /// Versions stored before (a repeat with nothing new).
    pub duplicated: usize,
    /// Seconds from each change made since `changes_from` until now.
    pub lags: Vec<f64>,
    /// Product infos received (with a weight).
    pub products: usize,
}

impl HostDatabase {
    /// An empty database; with `keep_full_orders` every order is kept whole.
    pub fn new(keep_full_orders: bool) -> Self {
        Self {
            keep_full_orders,
            ..Self::default()
        }
    }

    /// Stores a batch and its checkpoint in one step, at `now`. A version updated at
    /// or after `changes_from` is a change made during the run: its lag is measured.
    pub fn store(
        &mut self,
        batch: &wit::ImportBatch,
        now: DateTime<Utc>,
        changes_from: DateTime<Utc>,
    ) -> Stored {
        let mut stored = Stored {
            changed: false,
            duplicated: 0,
            lags: Vec::new(),
            products: 0,
        };
        for order in &batch.orders {
            let updated = time(&order.updated_at);
            if !self
                .versions
                .insert((order.order_id.clone(), updated.timestamp_millis()))
            {
                stored.duplicated += 1;
            } else if updated >= changes_from {
                stored
                    .lags
                    .push((now - updated).num_milliseconds() as f64 / 1000.0);
            }
            let newer = self
                .orders
                .get(&order.order_id)
                .is_none_or(|held| held.updated <= updated);
            if newer {
                stored.changed |= self.orders.get(&order.order_id).is_none_or(|held| {
                    held.updated < updated || held.status != order.marketplace_status
                });
                self.orders
                    .insert(order.order_id.clone(), self.held(order, updated));
            }
        }
        for product in batch.products.iter().filter(|p| p.weight.is_some()) {
            stored.products += 1;
            self.fill_product(product);
        }
        self.checkpoint = Some(batch.checkpoint.clone());
        stored
    }

    fn held(&self, order: &wit::Order, updated: DateTime<Utc>) -> Held {
        let amazon_fulfilled = order.fulfillment_channel == wit::FulfillmentChannel::Amazon;
        Held {
            marketplace: order.marketplace_id.clone(),
            updated,
            status: order.marketplace_status.clone(),
            amazon_fulfilled,
            wants_product_info: amazon_fulfilled
                || !matches!(
                    order.status,
                    wit::OrderStatus::Shipped | wit::OrderStatus::Cancelled
                ),
            items: order
                .items
                .iter()
                .map(|i| (i.asin.clone(), i.weight.is_some()))
                .collect(),
            lines: order
                .items
                .iter()
                .map(|i| {
                    (
                        i.order_item_id.clone(),
                        i.quantity.saturating_sub(i.quantity_shipped),
                    )
                })
                .collect(),
            full: self.keep_full_orders.then(|| order.clone()),
        }
    }

    /// A product's info that followed its orders: filled into every item that came
    /// without it, as a host does.
    fn fill_product(&mut self, product: &wit::ProductInfo) {
        for held in self.orders.values_mut() {
            for (asin, weighed) in &mut held.items {
                if asin.as_deref() == Some(product.asin.as_str()) {
                    *weighed = true;
                }
            }
            let items = held.full.iter_mut().flat_map(|o| o.items.iter_mut());
            for item in items.filter(|i| i.asin.as_deref() == Some(product.asin.as_str())) {
                item.weight = item.weight.take().or_else(|| product.weight.clone());
                item.dimensions = item
                    .dimensions
                    .take()
                    .or_else(|| product.dimensions.clone());
                item.image_url = item.image_url.take().or_else(|| product.image_url.clone());
            }
        }
    }

    /// True when the host stored this version of the order before.
    pub fn has_version(&self, order_id: &str, updated: DateTime<Utc>) -> bool {
        self.versions
            .contains(&(order_id.to_owned(), updated.timestamp_millis()))
    }

    /// Items the component promised product info for that the host still lacks.
    pub fn items_without_product_info(&self) -> usize {
        self.orders
            .values()
            .filter(|held| held.wants_product_info)
            .flat_map(|held| &held.items)
            .filter(|(asin, weighed)| asin.is_some() && !weighed)
            .count()
    }
}
