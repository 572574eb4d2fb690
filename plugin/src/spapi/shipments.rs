//! Orders v0 confirmShipment (not deprecated): the body as Amazon's model and
//! sandbox example give it.

use serde::{Deserialize, Serialize};

/// `POST /orders/v0/orders/{orderId}/shipmentConfirmation`.
pub fn confirm_path(order_id: &str) -> String {
    format!("/orders/v0/orders/{order_id}/shipmentConfirmation")
}

/// `ConfirmShipmentRequest`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentRequest {
    /// The order's marketplace.
    pub marketplace_id: String,
    /// The package.
    pub package_detail: PackageDetail,
}

/// `PackageDetail`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDetail {
    /// A digit string: Amazon rejects a JSON number and non-numeric text.
    pub package_reference_id: String,
    /// Carrier code from Amazon's list, or "Other".
    pub carrier_code: String,
    /// Required with "Other".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    /// Service name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    /// Tracking number.
    pub tracking_number: String,
    /// ISO 8601 date-time.
    pub ship_date: String,
    /// Always an array, even for one item.
    pub order_items: Vec<ConfirmItem>,
}

/// `ConfirmShipmentOrderItem`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmItem {
    /// Amazon order item id.
    pub order_item_id: String,
    /// Quantity in this package.
    pub quantity: u32,
}
