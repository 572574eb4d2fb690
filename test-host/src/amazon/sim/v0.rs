//! The deprecated Orders v0 reads (getOrders, getOrderItems, getOrderAddress,
//! getOrderBuyerInfo), for the benchmark's baseline only: the per-order pattern
//! other integrations use. The component never calls them. Answers carry what
//! the pattern needs (ids, items, the address, the buyer), in v0's shapes.

use serde_json::{Value, json};

use super::world::{World, stamp};
use crate::amazon::Response;

/// Orders per getOrders page.
const PAGE: usize = 100;

/// `GET /orders/v0/orders`: this store's orders updated since `LastUpdatedAfter`,
/// a page at a time (`NextToken` is the offset into that list).
pub fn get_orders(world: &World, query: &[(String, String)]) -> Response {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(after) =
        get("LastUpdatedAfter").and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
    else {
        return super::orders::error(400, "InvalidInput", "LastUpdatedAfter is required");
    };
    let offset: usize = get("NextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let orders: Vec<Value> = world
        .updated_since(&(after.to_utc(), String::new()), true)
        .filter(|o| o.channel == "AMAZON")
        .skip(offset)
        .take(PAGE + 1)
        .map(|o| {
            json!({
                "AmazonOrderId": o.id,
                "LastUpdateDate": stamp(o.updated),
                "PurchaseDate": stamp(o.created),
                "OrderStatus": o.status,
                "FulfillmentChannel": if o.fulfilled_by == "AMAZON" { "AFN" } else { "MFN" },
            })
        })
        .collect();
    let more = orders.len() > PAGE;
    let mut payload = json!({"Orders": orders.into_iter().take(PAGE).collect::<Vec<_>>()});
    if more {
        payload["NextToken"] = json!((offset + PAGE).to_string());
    }
    Response::json(200, &json!({"payload": payload}))
}

/// The per-order reads: `orderItems`, `address` or `buyerInfo`.
pub fn per_order(world: &World, operation: &str, order_id: &str) -> Response {
    let Some(order) = world.order(order_id) else {
        return super::orders::error(404, "NotFound", "the order was not found");
    };
    let payload = match operation {
        "getOrderItems" => json!({
            "AmazonOrderId": order_id,
            "OrderItems": order.json["orderItems"].as_array().into_iter().flatten().map(|i| json!({
                "OrderItemId": i["orderItemId"],
                "ASIN": i["product"]["asin"],
                "QuantityOrdered": i["quantityOrdered"],
            })).collect::<Vec<_>>(),
        }),
        "getOrderAddress" => json!({
            "AmazonOrderId": order_id,
            "ShippingAddress": order.json["recipient"]["deliveryAddress"],
        }),
        _ => json!({
            "AmazonOrderId": order_id,
            "BuyerEmail": order.json["buyer"]["buyerEmail"],
            "BuyerName": order.json["buyer"]["buyerName"],
        }),
    };
    Response::json(200, &json!({"payload": payload}))
}
