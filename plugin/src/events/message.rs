//! One ORDER_CHANGE message body, read by Amazon's schema
//! (`OrderChangeNotification.json`, payload version 1.0) as far as the component
//! relies on it: leniently (fields it does not use may be anything), and checked
//! where it decides something. A body is untrusted input from the host's queue:
//! a reason never quotes it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::spapi::strict;

/// The largest body taken: SQS's own message limit.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the component reads of one notification.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderChange {
    /// The seller the change belongs to.
    pub seller_id: String,
    /// The order that changed.
    pub order_id: String,
    /// Amazon's `TimeOfOrderChange`: the order's version.
    pub changed_at: DateTime<Utc>,
    /// The order's marketplace.
    pub marketplace_id: String,
    /// Amazon's status after the change (v0 spelling, e.g. "Shipped"), if sent.
    pub order_status: Option<String>,
    /// "AFN" (fulfilled by Amazon) or "MFN", if sent.
    pub fulfillment_type: Option<String>,
    /// The subscription that delivered it.
    pub subscription_id: Option<String>,
}

/// Reads one body, or says why it cannot (never quoting it).
pub fn parse(body: &str) -> Result<OrderChange, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "the body is {} bytes, more than SQS's {MAX_BODY_BYTES}",
            body.len()
        ));
    }
    // Read as a tree: the component already decodes JSON trees, and a struct per
    // level of the schema would cost the component kilobytes each.
    let body: Value =
        strict::from_slice(body.as_bytes()).map_err(|e| format!("not a notification: {e}"))?;
    if !body.is_object() {
        return Err("not a notification: not a JSON object".into());
    }
    const CHANGE: &str = "/Payload/OrderChangeNotification";
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str);
    if text("/NotificationType") != Some("ORDER_CHANGE") {
        return Err("not an ORDER_CHANGE notification".into());
    }
    let present = |pointer: &str| {
        text(pointer)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                let field = pointer.trim_start_matches(CHANGE).trim_start_matches('/');
                format!("it has no {}", field.replace('/', "."))
            })
    };
    present("/NotificationMetadata/NotificationId")?;
    if !body.pointer(CHANGE).is_some_and(Value::is_object) {
        return Err("it has no Payload.OrderChangeNotification".into());
    }
    let order_id = present(&format!("{CHANGE}/AmazonOrderId"))?;
    if !is_order_id(&order_id) {
        return Err("its AmazonOrderId is not an Amazon order id".into());
    }
    let changed_text = present(&format!("{CHANGE}/OrderChangeTrigger/TimeOfOrderChange"))?;
    let changed_at = DateTime::parse_from_rfc3339(&changed_text)
        .map_err(|_| "its TimeOfOrderChange is not an ISO 8601 date-time".to_owned())?
        .with_timezone(&Utc);
    let summary = |field: &str| text(&format!("{CHANGE}/Summary/{field}")).map(str::to_owned);
    Ok(OrderChange {
        seller_id: present(&format!("{CHANGE}/SellerId"))?,
        order_id,
        changed_at,
        marketplace_id: present(&format!("{CHANGE}/Summary/MarketplaceId"))?,
        order_status: summary("OrderStatus"),
        fulfillment_type: summary("FulfillmentType"),
        subscription_id: text("/NotificationMetadata/SubscriptionId").map(str::to_owned),
    })
}

/// Amazon order ids are "3-7-7" digits; a little leeway, but nothing that could
/// pass for a path or a key of another concern.
fn is_order_id(id: &str) -> bool {
    id.len() <= 40 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::order_change as example;

    #[test]
    fn reads_amazon_s_example() {
        let change = parse(&example("902-1106328-1059050", "2026-11-20T15:00:00.284Z")).unwrap();
        assert_eq!(change.order_id, "902-1106328-1059050");
        assert_eq!(change.seller_id, "A3SELLER");
        assert_eq!(change.marketplace_id, "ATVPDKIKX0DER");
        assert_eq!(change.order_status.as_deref(), Some("Unshipped"));
        assert_eq!(change.fulfillment_type.as_deref(), Some("MFN"));
        assert_eq!(change.changed_at.timestamp_subsec_millis(), 284);
    }

    #[test]
    fn the_schema_s_own_example_parses() {
        let schema = include_str!(
            "../../../../shared/amazon-models/schemas/notifications/OrderChangeNotification.json"
        );
        let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
        let example = schema["examples"][0].to_string();
        let change = parse(&example).unwrap();
        assert_eq!(change.order_id, "903-8868176-2219830");
    }

    #[test]
    fn every_refusal_names_what_is_missing_and_quotes_nothing() {
        let good = example("902-1106328-1059050", "2026-11-20T15:00:00Z");
        let cases = [
            ("Simulated Buyer {".to_owned(), "not a notification"),
            ("[1,2]".to_owned(), "not a notification"),
            (
                good.replace("\"ORDER_CHANGE\"", "\"ANY_OFFER_CHANGED\""),
                "not an ORDER_CHANGE",
            ),
            (
                good.replace("902-1106328-1059050", "../outbox/x Simulated Buyer"),
                "not an Amazon order id",
            ),
            (
                good.replace("2026-11-20T15:00:00Z", "yesterday Simulated Buyer"),
                "not an ISO 8601",
            ),
            (
                good.replace("\"SellerId\":\"A3SELLER\",", ""),
                "no SellerId",
            ),
            (
                good.replace("NotificationId", "Id"),
                "no NotificationMetadata",
            ),
            (
                format!("{}{}", good, " ".repeat(MAX_BODY_BYTES)),
                "more than SQS",
            ),
        ];
        for (body, expected) in cases {
            let reason = parse(&body).unwrap_err();
            assert!(reason.contains(expected), "{reason} for {expected}");
            assert!(!reason.contains("Simulated"), "{reason}");
        }
    }
}
