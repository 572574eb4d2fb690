//! The WIT's records as the CLI prints them: the WIT's own names (kebab-case), its
//! case names for enums, and RFC 3339 dates. The bindings' derived serde names are
//! Rust's, not the contract's, so the CLI never prints those directly.

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use crate::runtime::bindings as wit;

fn date(at: &wit::wasi::clocks::wall_clock::Datetime) -> String {
    DateTime::from_timestamp(at.seconds as i64, at.nanoseconds)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// WIT `money`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Money {
    pub amount: String,
    pub currency_code: String,
}

fn money(m: &Option<wit::Money>) -> Option<Money> {
    m.as_ref().map(|m| Money {
        amount: m.amount.clone(),
        currency_code: m.currency_code.clone(),
    })
}

/// WIT `weight`.
#[derive(Debug, Clone, Serialize)]
pub struct Weight {
    pub value: String,
    pub unit: &'static str,
}

fn weight(w: &Option<wit::Weight>) -> Option<Weight> {
    w.as_ref().map(|w| Weight {
        value: w.value.clone(),
        unit: match w.unit {
            wit::WeightUnit::Grams => "grams",
            wit::WeightUnit::Kilograms => "kilograms",
            wit::WeightUnit::Ounces => "ounces",
            wit::WeightUnit::Pounds => "pounds",
        },
    })
}

/// WIT `dimensions`.
#[derive(Debug, Clone, Serialize)]
pub struct Dimensions {
    pub length: String,
    pub width: String,
    pub height: String,
    pub unit: &'static str,
}

fn dimensions(d: &Option<wit::Dimensions>) -> Option<Dimensions> {
    d.as_ref().map(|d| Dimensions {
        length: d.length.clone(),
        width: d.width.clone(),
        height: d.height.clone(),
        unit: match d.unit {
            wit::LengthUnit::Millimeters => "millimeters",
            wit::LengthUnit::Centimeters => "centimeters",
            wit::LengthUnit::Meters => "meters",
            wit::LengthUnit::Inches => "inches",
            wit::LengthUnit::Feet => "feet",
        },
    })
}

/// WIT `discount`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Discount {
    pub promotion_id: Option<String>,
    pub amount: Option<Money>,
}

fn discounts(list: &[wit::Discount]) -> Vec<Discount> {
    list.iter()
        .map(|d| Discount {
            promotion_id: d.promotion_id.clone(),
            amount: money(&d.amount),
        })
        .collect()
}

/// WIT `address`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Address {
    pub name: Option<String>,
    pub company: Option<String>,
    pub street1: Option<String>,
    pub street2: Option<String>,
    pub street3: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub residential: Option<bool>,
    pub pickup_point: bool,
    pub latin_script: bool,
}

/// WIT `customer`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Customer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub purchase_order_number: Option<String>,
}

/// WIT `order-flags`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OrderFlags {
    pub prime: bool,
    pub premium: bool,
    pub business: bool,
    pub easy_ship: bool,
    pub invoice_by_amazon: bool,
    pub pre_order: bool,
    pub in_store_pickup: bool,
    pub replacement_for: Option<String>,
    pub exchange_for: Option<String>,
}

/// WIT `cancellation-request`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CancellationRequest {
    pub requested_by: String,
    pub reason: Option<String>,
}

/// WIT `amazon-shipment`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AmazonShipment {
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub shipped_at: Option<String>,
    pub status: Option<String>,
}

/// WIT `item-option`.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOption {
    pub name: String,
    pub value: String,
}

/// WIT `order-item`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OrderItem {
    pub order_item_id: String,
    pub product_id: String,
    pub sku: Option<String>,
    pub asin: Option<String>,
    pub title: Option<String>,
    pub quantity: u32,
    pub quantity_shipped: u32,
    pub unit_price: Option<Money>,
    pub discounts: Vec<Discount>,
    pub weight: Option<Weight>,
    pub dimensions: Option<Dimensions>,
    pub image_url: Option<String>,
    pub options: Vec<ItemOption>,
    pub transparency_required: bool,
    pub serial_numbers_required: bool,
    pub shipping_constraints: Vec<&'static str>,
    pub ioss_number: Option<String>,
    pub warehouse_location: Option<String>,
    pub gift_message: Option<String>,
}

/// WIT `order`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Order {
    pub order_id: String,
    pub marketplace_id: String,
    pub status: &'static str,
    pub marketplace_status: String,
    pub fulfillment_channel: &'static str,
    pub ordered_at: String,
    pub updated_at: String,
    pub ship_by: Option<String>,
    pub deliver_by: Option<String>,
    pub customer: Option<Customer>,
    pub ship_to: Option<Address>,
    pub requested_service: Option<String>,
    pub payment_method: Option<String>,
    pub order_total: Option<Money>,
    pub item_subtotal: Option<Money>,
    pub shipping_paid: Option<Money>,
    pub tax_paid: Option<Money>,
    pub discounts: Vec<Discount>,
    pub is_gift: bool,
    pub gift_message: Option<String>,
    pub gift_wrap: Option<String>,
    pub notes_from_buyer: Option<String>,
    pub internal_notes: Option<String>,
    pub flags: OrderFlags,
    pub programs: Vec<String>,
    pub cancellation_request: Option<CancellationRequest>,
    pub shipments: Vec<AmazonShipment>,
    pub weight: Option<Weight>,
    pub items: Vec<OrderItem>,
}

impl From<&wit::OrderItem> for OrderItem {
    fn from(i: &wit::OrderItem) -> Self {
        Self {
            order_item_id: i.order_item_id.clone(),
            product_id: i.product_id.clone(),
            sku: i.sku.clone(),
            asin: i.asin.clone(),
            title: i.title.clone(),
            quantity: i.quantity,
            quantity_shipped: i.quantity_shipped,
            unit_price: money(&i.unit_price),
            discounts: discounts(&i.discounts),
            weight: weight(&i.weight),
            dimensions: dimensions(&i.dimensions),
            image_url: i.image_url.clone(),
            options: i
                .options
                .iter()
                .map(|o| ItemOption {
                    name: o.name.clone(),
                    value: o.value.clone(),
                })
                .collect(),
            transparency_required: i.transparency_required,
            serial_numbers_required: i.serial_numbers_required,
            shipping_constraints: i
                .shipping_constraints
                .iter()
                .map(|c| match c {
                    wit::ShippingConstraint::PalletDelivery => "pallet-delivery",
                    wit::ShippingConstraint::CashOnDelivery => "cash-on-delivery",
                    wit::ShippingConstraint::SignatureConfirmation => "signature-confirmation",
                    wit::ShippingConstraint::IdentityVerification => "identity-verification",
                    wit::ShippingConstraint::AgeVerification => "age-verification",
                })
                .collect(),
            ioss_number: i.ioss_number.clone(),
            warehouse_location: i.warehouse_location.clone(),
            gift_message: i.gift_message.clone(),
        }
    }
}

impl From<&wit::Order> for Order {
    fn from(o: &wit::Order) -> Self {
        Self {
            order_id: o.order_id.clone(),
            marketplace_id: o.marketplace_id.clone(),
            status: match o.status {
                wit::OrderStatus::AwaitingPayment => "awaiting-payment",
                wit::OrderStatus::AwaitingShipment => "awaiting-shipment",
                wit::OrderStatus::Shipped => "shipped",
                wit::OrderStatus::Cancelled => "cancelled",
                wit::OrderStatus::OnHold => "on-hold",
            },
            marketplace_status: o.marketplace_status.clone(),
            fulfillment_channel: match o.fulfillment_channel {
                wit::FulfillmentChannel::Merchant => "merchant",
                wit::FulfillmentChannel::Amazon => "amazon",
            },
            ordered_at: date(&o.ordered_at),
            updated_at: date(&o.updated_at),
            ship_by: o.ship_by.as_ref().map(date),
            deliver_by: o.deliver_by.as_ref().map(date),
            customer: o.customer.as_ref().map(|c| Customer {
                name: c.name.clone(),
                email: c.email.clone(),
                company: c.company.clone(),
                purchase_order_number: c.purchase_order_number.clone(),
            }),
            ship_to: o.ship_to.as_ref().map(|a| Address {
                name: a.name.clone(),
                company: a.company.clone(),
                street1: a.street1.clone(),
                street2: a.street2.clone(),
                street3: a.street3.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                postal_code: a.postal_code.clone(),
                country_code: a.country_code.clone(),
                phone: a.phone.clone(),
                residential: a.residential,
                pickup_point: a.pickup_point,
                latin_script: a.latin_script,
            }),
            requested_service: o.requested_service.clone(),
            payment_method: o.payment_method.clone(),
            order_total: money(&o.order_total),
            item_subtotal: money(&o.item_subtotal),
            shipping_paid: money(&o.shipping_paid),
            tax_paid: money(&o.tax_paid),
            discounts: discounts(&o.discounts),
            is_gift: o.is_gift,
            gift_message: o.gift_message.clone(),
            gift_wrap: o.gift_wrap.clone(),
            notes_from_buyer: o.notes_from_buyer.clone(),
            internal_notes: o.internal_notes.clone(),
            flags: OrderFlags {
                prime: o.flags.prime,
                premium: o.flags.premium,
                business: o.flags.business,
                easy_ship: o.flags.easy_ship,
                invoice_by_amazon: o.flags.invoice_by_amazon,
                pre_order: o.flags.pre_order,
                in_store_pickup: o.flags.in_store_pickup,
                replacement_for: o.flags.replacement_for.clone(),
                exchange_for: o.flags.exchange_for.clone(),
            },
            programs: o.programs.clone(),
            cancellation_request: o
                .cancellation_request
                .as_ref()
                .map(|c| CancellationRequest {
                    requested_by: c.requested_by.clone(),
                    reason: c.reason.clone(),
                }),
            shipments: o
                .shipments
                .iter()
                .map(|s| AmazonShipment {
                    tracking_number: s.tracking_number.clone(),
                    carrier: s.carrier.clone(),
                    service: s.service.clone(),
                    shipped_at: s.shipped_at.as_ref().map(date),
                    status: s.status.clone(),
                })
                .collect(),
            weight: weight(&o.weight),
            items: o.items.iter().map(Into::into).collect(),
        }
    }
}
