//! Amazon's order (Orders API 2026-01-01) to the host's order.

use chrono::{DateTime, Utc};

use crate::model::{
    Address, Customer, Discount, FulfillmentChannel, ItemOption, Order, OrderItem, OrderStatus,
    ProductIdentifier,
};
use crate::spapi::orders::{Breakdown, WireOrder, WireOrderItem};

/// How the store wants orders shaped.
#[derive(Debug, Clone, Copy)]
pub struct MappingOptions {
    /// SKU or ASIN as product id.
    pub product_identifier: ProductIdentifier,
}

/// Maps one order. `Err` carries a reason without buyer data; the caller skips the
/// order and keeps going.
pub fn map_order(wire: WireOrder, options: MappingOptions) -> Result<Order, String> {
    let fulfillment = wire
        .fulfillment
        .as_ref()
        .ok_or("no fulfillment data (includedData=FULFILLMENT missing)")?;
    let channel = match fulfillment.fulfilled_by.as_deref() {
        Some("AMAZON") => FulfillmentChannel::Amazon,
        _ => FulfillmentChannel::Merchant,
    };
    let marketplace_status = fulfillment.fulfillment_status.clone();
    let status = status_for(&marketplace_status, channel)?;
    let ship_by = optional_time(
        fulfillment
            .ship_by_window
            .as_ref()
            .and_then(|w| w.latest_date_time.as_deref()),
        "shipByWindow.latestDateTime",
    )?;
    let deliver_by = optional_time(
        fulfillment
            .deliver_by_window
            .as_ref()
            .and_then(|w| w.latest_date_time.as_deref()),
        "deliverByWindow.latestDateTime",
    )?;
    let requested_service = fulfillment.fulfillment_service_level.clone();

    let items = wire
        .order_items
        .into_iter()
        .map(|item| map_item(item, options))
        .collect::<Result<Vec<_>, _>>()?;
    let gift_messages: Vec<&str> = items
        .iter()
        .filter_map(|i| i.gift_message.as_deref())
        .collect();
    let is_gift = !gift_messages.is_empty();
    let gift_message = is_gift.then(|| gift_messages.join("\n"));

    // Amazon sends no buyer PII for FBA orders; drop anything that slipped through so
    // an FBA order can never carry any.
    let (customer, ship_to, notes_from_buyer) = match channel {
        FulfillmentChannel::Amazon => (None, None, None),
        FulfillmentChannel::Merchant => {
            let customer = wire.buyer.map(|b| Customer {
                name: b.buyer_name,
                email: b.buyer_email,
                company: b.buyer_company_name,
                purchase_order_number: b.buyer_purchase_order_number,
            });
            let (ship_to, notes) = match wire.recipient {
                Some(recipient) => {
                    let notes = recipient.delivery_preference.and_then(|p| {
                        let parts: Vec<String> = [
                            p.address_instruction,
                            p.drop_off_location.map(|d| format!("Drop-off: {d}")),
                        ]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.trim().is_empty())
                        .collect();
                        (!parts.is_empty()).then(|| parts.join("\n"))
                    });
                    (recipient.delivery_address.map(map_address), notes)
                }
                None => (None, None),
            };
            (customer, ship_to, notes)
        }
    };

    let (order_total, breakdowns) = match wire.proceeds {
        Some(p) => (p.grand_total.map(Into::into), p.breakdowns),
        None => (None, Vec::new()),
    };
    let subtotal = |kind: &str| {
        breakdowns
            .iter()
            .find(|b| b.kind == kind)
            .map(|b| crate::model::Money::from(&b.subtotal))
    };
    let shipping_paid = subtotal("SHIPPING");
    let tax_paid = subtotal("TAX");
    let discounts = discounts_in(&breakdowns);

    Ok(Order {
        ordered_at: time(&wire.created_time, "createdTime")?,
        updated_at: time(&wire.last_updated_time, "lastUpdatedTime")?,
        marketplace_id: wire.sales_channel.marketplace_id.unwrap_or_default(),
        internal_notes: internal_notes(&wire.programs, &wire.associated_orders),
        payment_method: wire.payment.and_then(|p| {
            p.payment_executions
                .into_iter()
                .find_map(|e| e.payment_method)
        }),
        order_id: wire.order_id,
        status,
        marketplace_status,
        fulfillment_channel: channel,
        ship_by,
        deliver_by,
        customer,
        ship_to,
        requested_service,
        order_total,
        shipping_paid,
        tax_paid,
        discounts,
        is_gift,
        gift_message,
        notes_from_buyer,
        weight: None,
        items,
    })
}

/// Amazon's fulfillment status in the host's terms. FBA orders import as shipped
/// (or cancelled): the host never ships them.
fn status_for(amazon: &str, channel: FulfillmentChannel) -> Result<OrderStatus, String> {
    let status = match amazon {
        "PENDING" | "PENDING_AVAILABILITY" => OrderStatus::AwaitingPayment,
        "UNSHIPPED" | "PARTIALLY_SHIPPED" => OrderStatus::AwaitingShipment,
        "SHIPPED" => OrderStatus::Shipped,
        "CANCELLED" => OrderStatus::Cancelled,
        "UNFULFILLABLE" => OrderStatus::OnHold,
        other => return Err(format!("unknown fulfillmentStatus {other:?}")),
    };
    Ok(match (channel, status) {
        (FulfillmentChannel::Amazon, OrderStatus::Cancelled) => OrderStatus::Cancelled,
        (FulfillmentChannel::Amazon, _) => OrderStatus::Shipped,
        (FulfillmentChannel::Merchant, status) => status,
    })
}

fn map_item(wire: WireOrderItem, options: MappingOptions) -> Result<OrderItem, String> {
    let product = wire.product;
    let asin = product
        .asin
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("item {} has no ASIN", wire.order_item_id))?;
    let sku = product.seller_sku.filter(|s| !s.is_empty());
    let product_id = match (options.product_identifier, &sku) {
        (ProductIdentifier::Sku, Some(sku)) => sku.clone(),
        _ => asin.clone(),
    };
    let mut item_options = Vec::new();
    if let Some(condition) = product.condition {
        let text = [condition.condition_type, condition.condition_subtype]
            .into_iter()
            .flatten()
            .map(|c| title_case(&c))
            .collect::<Vec<_>>();
        let text = match text.as_slice() {
            [kind, sub] if kind == sub => kind.clone(),
            parts => parts.join(" - "),
        };
        if !text.is_empty() {
            item_options.push(ItemOption {
                name: "Condition".into(),
                value: text,
            });
        }
        if let Some(note) = condition.condition_note.filter(|n| !n.trim().is_empty()) {
            item_options.push(ItemOption {
                name: "Condition note".into(),
                value: note,
            });
        }
    }
    // Amazon Custom: the customization lives behind a buyer-specific URL (PII), so
    // only the fact is imported, as ShipStation does.
    if product.customization.is_some() {
        item_options.push(ItemOption {
            name: "Amazon Custom".into(),
            value: "customization details are in Seller Central".into(),
        });
    }
    let mut discounts = wire
        .proceeds
        .map(|p| discounts_in(&p.breakdowns))
        .unwrap_or_default();
    if let Some(promotion) = wire.promotion {
        discounts.extend(promotion.breakdowns.into_iter().filter_map(|b| {
            b.promotion_id.map(|id| Discount {
                promotion_id: Some(id),
                amount: None,
            })
        }));
    }
    let fulfillment = wire.fulfillment;
    let quantity_shipped = fulfillment
        .as_ref()
        .and_then(|f| f.quantity_fulfilled)
        .unwrap_or(0);
    let gift_message = fulfillment
        .and_then(|f| f.packing)
        .and_then(|p| p.gift_option)
        .and_then(|g| g.gift_message)
        .filter(|m| !m.trim().is_empty());
    Ok(OrderItem {
        order_item_id: wire.order_item_id,
        product_id,
        sku,
        asin,
        title: product.title,
        quantity: wire.quantity_ordered,
        quantity_shipped,
        unit_price: product.price.and_then(|p| p.unit_price).map(Into::into),
        discounts,
        weight: None,
        image_url: None,
        options: item_options,
        warehouse_location: None,
        gift_message,
    })
}

fn discounts_in(breakdowns: &[Breakdown]) -> Vec<Discount> {
    breakdowns
        .iter()
        .filter(|b| b.kind == "DISCOUNT")
        .map(|b| Discount {
            promotion_id: None,
            amount: Some((&b.subtotal).into()),
        })
        .collect()
}

fn map_address(wire: crate::spapi::orders::CustomerAddress) -> Address {
    Address {
        name: wire.name,
        company: wire.company_name,
        street1: wire.address_line1,
        street2: wire.address_line2.filter(|s| !s.is_empty()),
        street3: wire.address_line3.filter(|s| !s.is_empty()),
        city: wire.city,
        state: wire.state_or_region,
        postal_code: wire.postal_code,
        country_code: wire.country_code,
        phone: wire.phone,
        residential: wire.address_type.map(|t| t == "RESIDENTIAL"),
    }
}

fn internal_notes(
    programs: &[String],
    associated: &[crate::spapi::orders::AssociatedOrder],
) -> Option<String> {
    let mut notes: Vec<String> = programs
        .iter()
        .filter_map(|p| match p.as_str() {
            "PRIME" => Some("Amazon Prime".to_owned()),
            "AMAZON_BUSINESS" => Some("Amazon Business".to_owned()),
            "PREMIUM" => Some("Premium shipping".to_owned()),
            "PREORDER" => Some("Pre-order".to_owned()),
            "IN_STORE_PICK_UP" => Some("In-store pickup".to_owned()),
            _ => None,
        })
        .collect();
    for order in associated {
        if let (Some("REPLACEMENT_ORIGINAL_ID"), Some(id)) =
            (order.association_type.as_deref(), order.order_id.as_deref())
        {
            notes.push(format!("Replacement for order {id}"));
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

fn title_case(code: &str) -> String {
    code.split('_')
        .map(|word| {
            let lower = word.to_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn time(text: &str, field: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{field} is not an ISO 8601 date-time"))
}

fn optional_time(text: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, String> {
    text.map(|t| time(t, field)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKU: MappingOptions = MappingOptions {
        product_identifier: ProductIdentifier::Sku,
    };

    fn wire(json: serde_json::Value) -> WireOrder {
        serde_json::from_value(json).unwrap()
    }

    fn merchant_order() -> serde_json::Value {
        serde_json::json!({
            "orderId": "902-1106328-1059050",
            "createdTime": "2026-11-20T10:30:00Z",
            "lastUpdatedTime": "2026-11-20T14:45:00Z",
            "programs": ["PRIME"],
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
            "buyer": {"buyerName": "Sample Buyer", "buyerEmail": "relay@marketplace.amazon.com"},
            "recipient": {"deliveryAddress": {"name": "Sample Buyer", "addressLine1": "1 Example Way",
                "city": "Seattle", "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US",
                "addressType": "RESIDENTIAL"}},
            "proceeds": {"grandTotal": {"amount": "54.99", "currencyCode": "USD"},
                "breakdowns": [{"type": "SHIPPING", "subtotal": {"amount": "5.00", "currencyCode": "USD"}}]},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT",
                "fulfillmentServiceLevel": "STANDARD",
                "shipByWindow": {"earliestDateTime": "2026-11-21T00:00:00Z", "latestDateTime": "2026-11-22T23:59:59Z"}},
            "orderItems": [{"orderItemId": "79039765272157", "quantityOrdered": 2,
                "product": {"asin": "B08N5WRWNW", "sellerSku": "ECHO-DOT", "title": "Echo Dot",
                    "condition": {"conditionType": "USED", "conditionSubtype": "LIKE_NEW"},
                    "price": {"unitPrice": {"amount": "24.99", "currencyCode": "USD"}}},
                "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 2,
                    "packing": {"giftOption": {"giftMessage": "Happy birthday"}}}}]
        })
    }

    #[test]
    fn merchant_order_awaits_shipment_with_ship_by_date_and_items() {
        let order = map_order(wire(merchant_order()), SKU).unwrap();
        assert_eq!(order.status, OrderStatus::AwaitingShipment);
        assert_eq!(order.marketplace_status, "UNSHIPPED");
        assert_eq!(
            order.ship_by.unwrap().to_rfc3339(),
            "2026-11-22T23:59:59+00:00"
        );
        assert_eq!(order.items[0].product_id, "ECHO-DOT");
        assert_eq!(order.items[0].quantity, 2);
        assert_eq!(order.items[0].unit_price.as_ref().unwrap().amount, "24.99");
        assert_eq!(order.items[0].options[0].value, "Used - Like New");
        assert_eq!(order.shipping_paid.unwrap().amount, "5.00");
        assert!(order.is_gift);
        assert_eq!(order.internal_notes.as_deref(), Some("Amazon Prime"));
        assert_eq!(order.ship_to.unwrap().residential, Some(true));
        assert_eq!(
            order.customer.unwrap().name.as_deref(),
            Some("Sample Buyer")
        );
    }

    #[test]
    fn asin_setting_uses_the_asin() {
        let asin = MappingOptions {
            product_identifier: ProductIdentifier::Asin,
        };
        let order = map_order(wire(merchant_order()), asin).unwrap();
        assert_eq!(order.items[0].product_id, "B08N5WRWNW");
    }

    #[test]
    fn fba_orders_import_as_shipped_without_pii() {
        let mut json = merchant_order();
        json["fulfillment"]["fulfilledBy"] = "AMAZON".into();
        let order = map_order(wire(json), SKU).unwrap();
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.fulfillment_channel, FulfillmentChannel::Amazon);
        assert!(order.customer.is_none() && order.ship_to.is_none());
    }

    #[test]
    fn unknown_status_and_bad_dates_are_reasons_not_panics() {
        let mut json = merchant_order();
        json["fulfillment"]["fulfillmentStatus"] = "TELEPORTED".into();
        assert!(
            map_order(wire(json), SKU)
                .unwrap_err()
                .contains("TELEPORTED")
        );
        let mut json = merchant_order();
        json["createdTime"] = "yesterday".into();
        assert!(
            map_order(wire(json), SKU)
                .unwrap_err()
                .contains("createdTime")
        );
    }
}
