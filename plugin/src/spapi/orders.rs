//! Orders API 2026-01-01 wire types (searchOrders). Only what the mapping reads is
//! declared; everything is optional except what Amazon's model marks required and
//! the mapping cannot do without.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::model::Money;

/// `GET /orders/2026-01-01/orders`.
pub const SEARCH_PATH: &str = "/orders/2026-01-01/orders";

/// The page size the component asks for, Amazon's maximum for searchOrders.
pub const MAX_RESULTS_PER_PAGE: usize = 100;

/// searchOrders response. Orders stay raw JSON text here, so that one malformed
/// order is skipped instead of failing the page, and amounts keep Amazon's digits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersResponse {
    /// The page's orders: objects, at most [`MAX_RESULTS_PER_PAGE`] (checked while
    /// the page is read, so a page of a million entries is refused, not held).
    #[serde(deserialize_with = "page_of_orders")]
    pub orders: Vec<Box<RawValue>>,
    /// Present when another page follows: an object (a list here would read as a
    /// last page, ending the window early).
    #[serde(default, deserialize_with = "super::strict::object")]
    pub pagination: Option<Pagination>,
    /// Upper bound of the lastUpdated window Amazon applied.
    #[serde(default)]
    pub last_updated_before: Option<String>,
}

/// Paging.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Token for the next page; expires after 24 h.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// Orders 2026 `Order`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrder {
    pub order_id: String,
    pub created_time: String,
    pub last_updated_time: String,
    #[serde(default)]
    pub programs: Vec<String>,
    #[serde(default)]
    pub associated_orders: Vec<AssociatedOrder>,
    pub sales_channel: SalesChannel,
    #[serde(default)]
    pub buyer: Option<Buyer>,
    #[serde(default)]
    pub recipient: Option<Recipient>,
    #[serde(default)]
    pub proceeds: Option<OrderProceeds>,
    #[serde(default)]
    pub payment: Option<OrderPayment>,
    #[serde(default)]
    pub fulfillment: Option<OrderFulfillment>,
    pub order_items: Vec<WireOrderItem>,
    #[serde(default)]
    pub packages: Vec<Package>,
}

/// A package Amazon knows of (`includedData=PACKAGES`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub shipping_service: Option<String>,
    #[serde(default)]
    pub ship_time: Option<String>,
    #[serde(default)]
    pub package_status: Option<PackageStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociatedOrder {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub association_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannel {
    #[serde(default)]
    pub marketplace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    #[serde(default)]
    pub buyer_name: Option<String>,
    #[serde(default)]
    pub buyer_email: Option<String>,
    #[serde(default)]
    pub buyer_company_name: Option<String>,
    #[serde(default)]
    pub buyer_purchase_order_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    #[serde(default)]
    pub delivery_address: Option<CustomerAddress>,
    #[serde(default)]
    pub delivery_preference: Option<DeliveryPreference>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAddress {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub address_line3: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state_or_region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPreference {
    #[serde(default)]
    pub drop_off_location: Option<String>,
    #[serde(default)]
    pub address_instruction: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProceeds {
    #[serde(default)]
    pub grand_total: Option<WireMoney>,
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
}

/// A typed subtotal (order or item proceeds).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    #[serde(rename = "type")]
    pub kind: String,
    pub subtotal: WireMoney,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPayment {
    #[serde(default)]
    pub payment_executions: Vec<PaymentExecution>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentExecution {
    #[serde(default)]
    pub payment_method: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    pub fulfillment_status: String,
    #[serde(default)]
    pub fulfilled_by: Option<String>,
    #[serde(default)]
    pub fulfillment_service_level: Option<String>,
    #[serde(default)]
    pub ship_by_window: Option<DateTimeRange>,
    #[serde(default)]
    pub deliver_by_window: Option<DateTimeRange>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeRange {
    #[serde(default)]
    pub latest_date_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireOrderItem {
    pub order_item_id: String,
    pub quantity_ordered: u32,
    pub product: ItemProduct,
    #[serde(default)]
    pub proceeds: Option<ItemProceeds>,
    #[serde(default)]
    pub promotion: Option<ItemPromotion>,
    #[serde(default)]
    pub fulfillment: Option<ItemFulfillment>,
    #[serde(default)]
    pub programs: Vec<String>,
    #[serde(default)]
    pub cancellation: Option<ItemCancellation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCancellation {
    #[serde(default)]
    pub cancellation_request: Option<CancellationRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancellationRequest {
    #[serde(default)]
    pub requester: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProduct {
    #[serde(default)]
    pub asin: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub condition: Option<ItemCondition>,
    #[serde(default)]
    pub price: Option<ItemPrice>,
    #[serde(default)]
    pub customization: Option<ItemCustomization>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCustomization {
    #[serde(default)]
    pub customized_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCondition {
    #[serde(default)]
    pub condition_type: Option<String>,
    #[serde(default)]
    pub condition_subtype: Option<String>,
    #[serde(default)]
    pub condition_note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPrice {
    #[serde(default)]
    pub unit_price: Option<WireMoney>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProceeds {
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPromotion {
    #[serde(default)]
    pub breakdowns: Vec<PromotionBreakdown>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotionBreakdown {
    #[serde(default)]
    pub promotion_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFulfillment {
    #[serde(default)]
    pub quantity_fulfilled: Option<u32>,
    #[serde(default)]
    pub packing: Option<ItemPacking>,
    #[serde(default)]
    pub shipping: Option<ItemShipping>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemShipping {
    #[serde(default)]
    pub shipping_constraints: Option<ShippingConstraints>,
    #[serde(default)]
    pub international_shipping: Option<InternationalShipping>,
}

/// Each is "MANDATORY" when it applies.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingConstraints {
    #[serde(default)]
    pub pallet_delivery: Option<String>,
    #[serde(default)]
    pub cash_on_delivery: Option<String>,
    #[serde(default)]
    pub signature_confirmation: Option<String>,
    #[serde(default)]
    pub recipient_identity_verification: Option<String>,
    #[serde(default)]
    pub recipient_age_verification: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InternationalShipping {
    #[serde(default)]
    pub ioss_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPacking {
    #[serde(default)]
    pub gift_option: Option<GiftOption>,
    #[serde(default)]
    pub serial_number_requirement: Option<SerialNumberRequirement>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SerialNumberRequirement {
    #[serde(default)]
    pub requirement_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftOption {
    #[serde(default)]
    pub gift_message: Option<String>,
    #[serde(default)]
    pub gift_wrap_level: Option<String>,
}

/// Orders 2026 `Money`. The model types `amount` as a decimal string; a bare JSON
/// number is accepted too, and both keep Amazon's digits exactly ("49.90" and
/// 49.90 both stay "49.90"). Anything but a plain decimal is refused.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMoney {
    #[serde(deserialize_with = "decimal_text")]
    pub amount: String,
    pub currency_code: String,
}

impl From<WireMoney> for Money {
    fn from(wire: WireMoney) -> Self {
        Money {
            amount: wire.amount,
            currency_code: wire.currency_code,
        }
    }
}

impl From<&WireMoney> for Money {
    fn from(wire: &WireMoney) -> Self {
        Money {
            amount: wire.amount.clone(),
            currency_code: wire.currency_code.clone(),
        }
    }
}

/// The `orders` list of a page: each an object, no more than were asked for.
fn page_of_orders<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Box<RawValue>>, D::Error> {
    struct Orders;
    impl<'de> serde::de::Visitor<'de> for Orders {
        type Value = Vec<Box<RawValue>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_RESULTS_PER_PAGE} orders")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut orders = Vec::new();
            while let Some(order) = seq.next_element::<Box<RawValue>>()? {
                if orders.len() == MAX_RESULTS_PER_PAGE {
                    return Err(A::Error::custom(format!(
                        "more than the {MAX_RESULTS_PER_PAGE} orders a page may hold"
                    )));
                }
                if !order.get().starts_with('{') {
                    return Err(A::Error::custom("an order that is not an object"));
                }
                orders.push(order);
            }
            Ok(orders)
        }
    }
    deserializer.deserialize_seq(Orders)
}

/// Reads the amount as the text Amazon wrote. Works only on JSON text (orders are
/// decoded from their raw text for this reason): a parsed number has lost its digits.
fn decimal_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let raw = <&RawValue>::deserialize(deserializer)?;
    let text = raw.get();
    let digits = if text.starts_with('"') {
        serde_json::from_slice::<String>(text.as_bytes()).map_err(D::Error::custom)?
    } else {
        text.to_owned()
    };
    if crate::decimal::is_plain_decimal(&digits) {
        Ok(digits)
    } else {
        Err(D::Error::custom("an amount is not a plain decimal"))
    }
}

/// `GET /orders/2026-01-01/orders/{orderId}`.
pub fn get_order_path(order_id: &str) -> String {
    // Amazon order ids are digits and dashes; anything else is encoded so it cannot
    // change the path.
    let encoded: String = form_urlencoded::byte_serialize(order_id.as_bytes()).collect();
    format!("{SEARCH_PATH}/{encoded}")
}

/// getOrder response. The order stays raw JSON text, as in searchOrders.
#[derive(Debug, Deserialize)]
pub struct GetOrderResponse {
    /// The order.
    pub order: Box<RawValue>,
}
