//! Amazon's order (Orders API 2026-01-01) to the host's order.
//!
//! Every value is Amazon's, as Amazon wrote it: amounts keep their digits, unknown
//! program values are kept, an unknown status becomes `on-hold` with Amazon's own
//! status beside it. Amazon-fulfilled orders carry no buyer data at all.

use chrono::{DateTime, Utc};

use crate::model::{
    Address, AmazonShipment, CancellationRequest, Customer, Discount, FulfillmentChannel,
    ItemOption, Order, OrderFlags, OrderItem, OrderStatus, ProductIdentifier, ShippingConstraint,
};
use crate::spapi::orders::{
    AssociatedOrder, Breakdown, Buyer, CustomerAddress, GiftOption, OrderPayment, Package,
    Recipient, WireOrder, WireOrderItem,
};

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
    let merchant = channel == FulfillmentChannel::Merchant;
    let marketplace_status = fulfillment.fulfillment_status.clone();
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

    // A request only matters while the order can still be shipped.
    let open = matches!(
        marketplace_status.as_str(),
        "PENDING" | "PENDING_AVAILABILITY" | "UNSHIPPED" | "PARTIALLY_SHIPPED"
    );
    let cancellation_request = wire
        .order_items
        .iter()
        .filter_map(|i| i.cancellation.as_ref()?.cancellation_request.as_ref())
        .next()
        .filter(|_| open)
        .map(|r| CancellationRequest {
            requested_by: r.requester.clone().unwrap_or_else(|| "UNKNOWN".into()),
            reason: r.cancel_reason.clone().filter(|t| !t.trim().is_empty()),
        });
    let status = status_for(&marketplace_status, channel, cancellation_request.is_some());

    let (is_gift, gift_wrap) = gift_options(&wire.order_items);
    let items = wire
        .order_items
        .into_iter()
        .map(|item| map_item(item, channel, options))
        .collect::<Result<Vec<_>, _>>()?;
    let gift_messages: Vec<&str> = items
        .iter()
        .filter_map(|i| i.gift_message.as_deref())
        .collect();
    let gift_message = (!gift_messages.is_empty()).then(|| gift_messages.join("\n"));

    // Amazon sends no buyer PII for FBA orders; drop anything that slipped through so
    // an FBA order can never carry any.
    let (customer, ship_to, notes_from_buyer) = if merchant {
        buyer_data(wire.buyer, wire.recipient)
    } else {
        (None, None, None)
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
    let flags = flags(&wire.programs, &wire.associated_orders);
    let payment_methods = payment_methods(wire.payment);

    Ok(Order {
        ordered_at: time(&wire.created_time, "createdTime")?,
        updated_at: time(&wire.last_updated_time, "lastUpdatedTime")?,
        marketplace_id: wire.sales_channel.marketplace_id.unwrap_or_default(),
        internal_notes: internal_notes(&flags, cancellation_request.as_ref()),
        payment_method: (!payment_methods.is_empty()).then(|| payment_methods.join(", ")),
        shipments: wire
            .packages
            .into_iter()
            .map(map_package)
            .collect::<Result<_, _>>()?,
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
        item_subtotal: subtotal("ITEM"),
        shipping_paid: subtotal("SHIPPING"),
        tax_paid: subtotal("TAX"),
        // Amazon's order-level DISCOUNT already totals the items' discounts.
        discounts: discounts_in(&breakdowns),
        is_gift,
        gift_message: gift_message.filter(|_| merchant),
        gift_wrap,
        notes_from_buyer,
        flags,
        programs: wire.programs,
        cancellation_request,
        weight: None,
        items,
    })
}

/// Whether any item is a gift, and the first gift-wrap level Amazon names.
fn gift_options(items: &[WireOrderItem]) -> (bool, Option<String>) {
    fn gift_option(item: &WireOrderItem) -> Option<&GiftOption> {
        item.fulfillment
            .as_ref()
            .and_then(|f| f.packing.as_ref())
            .and_then(|p| p.gift_option.as_ref())
    }
    let gift_wrap = items
        .iter()
        .filter_map(gift_option)
        .find_map(|g| g.gift_wrap_level.clone().filter(|l| !l.is_empty()));
    (items.iter().any(|i| gift_option(i).is_some()), gift_wrap)
}

/// The buyer, the delivery address and the buyer's delivery notes of a
/// merchant-fulfilled order.
fn buyer_data(
    buyer: Option<Buyer>,
    recipient: Option<Recipient>,
) -> (Option<Customer>, Option<Address>, Option<String>) {
    let customer = buyer.map(|b| Customer {
        name: b.buyer_name,
        email: b.buyer_email,
        company: b.buyer_company_name,
        purchase_order_number: b.buyer_purchase_order_number,
    });
    let Some(recipient) = recipient else {
        return (customer, None, None);
    };
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
    (customer, recipient.delivery_address.map(map_address), notes)
}

/// Amazon's payment methods, each once, in the order Amazon lists them.
fn payment_methods(payment: Option<OrderPayment>) -> Vec<String> {
    payment
        .map(|p| p.payment_executions)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.payment_method.filter(|m| !m.is_empty()))
        .fold(Vec::new(), |mut methods, method| {
            if !methods.contains(&method) {
                methods.push(method);
            }
            methods
        })
}

/// Amazon's fulfillment status in the host's terms.
///
/// Amazon-fulfilled orders import as shipped once paid: Amazon ships them, the host
/// only records them (the seed's rule). A merchant-fulfilled order the buyer asked to
/// cancel is held so nobody ships it. A status this version does not know needs a
/// person: on hold, with Amazon's status beside it.
fn status_for(
    amazon: &str,
    channel: FulfillmentChannel,
    cancellation_requested: bool,
) -> OrderStatus {
    match (amazon, channel) {
        ("CANCELLED", _) => OrderStatus::Cancelled,
        ("UNFULFILLABLE", _) => OrderStatus::OnHold,
        ("PENDING" | "PENDING_AVAILABILITY", _) => OrderStatus::AwaitingPayment,
        ("UNSHIPPED" | "PARTIALLY_SHIPPED" | "SHIPPED", FulfillmentChannel::Amazon) => {
            OrderStatus::Shipped
        }
        ("UNSHIPPED" | "PARTIALLY_SHIPPED", FulfillmentChannel::Merchant)
            if cancellation_requested =>
        {
            OrderStatus::OnHold
        }
        ("UNSHIPPED" | "PARTIALLY_SHIPPED", FulfillmentChannel::Merchant) => {
            OrderStatus::AwaitingShipment
        }
        ("SHIPPED", FulfillmentChannel::Merchant) => OrderStatus::Shipped,
        _ => OrderStatus::OnHold,
    }
}

fn map_item(
    wire: WireOrderItem,
    channel: FulfillmentChannel,
    options: MappingOptions,
) -> Result<OrderItem, String> {
    let merchant = channel == FulfillmentChannel::Merchant;
    let product = wire.product;
    let asin = product.asin.filter(|a| !a.is_empty());
    let sku = product.seller_sku.filter(|s| !s.is_empty());
    let (chosen, other) = match options.product_identifier {
        ProductIdentifier::Sku => (&sku, &asin),
        ProductIdentifier::Asin => (&asin, &sku),
    };
    let product_id = chosen
        .as_ref()
        .or(other.as_ref())
        .cloned()
        .unwrap_or_else(|| wire.order_item_id.clone());
    let mut item_options = Vec::new();
    let mut option = |name: &str, value: String| {
        item_options.push(ItemOption {
            name: name.into(),
            value,
        })
    };
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
            option("Condition", text);
        }
        if let Some(note) = condition.condition_note.filter(|n| !n.trim().is_empty()) {
            option("Condition note", note);
        }
    }
    // Amazon Custom: the buyer's customization, behind a URL Amazon sends. It shows
    // the buyer's own text and images, so it is PII (`pii-field::customization`).
    if merchant
        && let Some(url) = product
            .customization
            .and_then(|c| c.customized_url)
            .filter(|u| !u.is_empty())
    {
        option("Customization", url);
    }
    let fulfillment = wire.fulfillment;
    let packing = fulfillment.as_ref().and_then(|f| f.packing.as_ref());
    let gift = packing.and_then(|p| p.gift_option.as_ref());
    if let Some(level) = gift
        .and_then(|g| g.gift_wrap_level.clone())
        .filter(|l| !l.is_empty())
    {
        option("Gift wrap", title_case(&level));
    }
    let gift_message = gift
        .and_then(|g| g.gift_message.clone())
        .filter(|m| merchant && !m.trim().is_empty());
    let serial_numbers_required = packing
        .and_then(|p| p.serial_number_requirement.as_ref())
        .and_then(|r| r.requirement_type.as_deref())
        == Some("REQUIRED");
    let shipping = fulfillment.as_ref().and_then(|f| f.shipping.as_ref());
    let shipping_constraints = shipping
        .and_then(|s| s.shipping_constraints.as_ref())
        .map(|c| {
            [
                (&c.pallet_delivery, ShippingConstraint::PalletDelivery),
                (&c.cash_on_delivery, ShippingConstraint::CashOnDelivery),
                (
                    &c.signature_confirmation,
                    ShippingConstraint::SignatureConfirmation,
                ),
                (
                    &c.recipient_identity_verification,
                    ShippingConstraint::IdentityVerification,
                ),
                (
                    &c.recipient_age_verification,
                    ShippingConstraint::AgeVerification,
                ),
            ]
            .into_iter()
            .filter(|(value, _)| value.as_deref() == Some("MANDATORY"))
            .map(|(_, constraint)| constraint)
            .collect()
        })
        .unwrap_or_default();
    let ioss_number = shipping
        .and_then(|s| s.international_shipping.as_ref())
        .and_then(|i| i.ioss_number.clone())
        .filter(|n| !n.is_empty());
    let quantity_shipped = fulfillment
        .as_ref()
        .and_then(|f| f.quantity_fulfilled)
        .unwrap_or(0);

    let amounts = wire
        .proceeds
        .map(|p| discounts_in(&p.breakdowns))
        .unwrap_or_default();
    let promotions: Vec<String> = wire
        .promotion
        .map(|p| p.breakdowns)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| b.promotion_id.filter(|id| !id.is_empty()))
        .collect();
    Ok(OrderItem {
        order_item_id: wire.order_item_id,
        product_id,
        sku,
        asin,
        title: product.title,
        quantity: wire.quantity_ordered,
        quantity_shipped,
        unit_price: product.price.and_then(|p| p.unit_price).map(Into::into),
        discounts: tie_promotions(amounts, promotions),
        weight: None,
        dimensions: None,
        image_url: None,
        options: item_options,
        transparency_required: wire.programs.iter().any(|p| p == "TRANSPARENCY"),
        serial_numbers_required,
        shipping_constraints,
        ioss_number,
        warehouse_location: None,
        gift_message,
    })
}

/// An item's discount amounts with its promotion ids. One promotion and one amount
/// belong together; otherwise Amazon does not say which amount is whose, so the
/// amounts come without an id and each id on its own.
fn tie_promotions(mut amounts: Vec<Discount>, promotions: Vec<String>) -> Vec<Discount> {
    if let ([amount], [promotion]) = (amounts.as_mut_slice(), promotions.as_slice()) {
        amount.promotion_id = Some(promotion.clone());
        return amounts;
    }
    amounts.extend(promotions.into_iter().map(|id| Discount {
        promotion_id: Some(id),
        amount: None,
    }));
    amounts
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

fn map_address(wire: CustomerAddress) -> Address {
    let latin_script = [
        &wire.name,
        &wire.company_name,
        &wire.address_line1,
        &wire.address_line2,
        &wire.address_line3,
        &wire.city,
        &wire.state_or_region,
        &wire.postal_code,
    ]
    .into_iter()
    .flatten()
    .all(|text| is_latin(text));
    let kind = wire.address_type.as_deref();
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
        residential: match kind {
            Some("RESIDENTIAL") => Some(true),
            Some("COMMERCIAL" | "PICKUP_POINT") => Some(false),
            _ => None,
        },
        pickup_point: kind == Some("PICKUP_POINT"),
        latin_script,
    }
}

/// True when every letter is Latin script (ASCII, the Latin-1 supplement and the
/// Latin extensions), as carriers' label printers expect.
pub fn is_latin(text: &str) -> bool {
    text.chars().all(|c| {
        !c.is_alphabetic()
            || matches!(c as u32, 0x0000..=0x024F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF)
    })
}

fn map_package(wire: Package) -> Result<AmazonShipment, String> {
    Ok(AmazonShipment {
        shipped_at: optional_time(wire.ship_time.as_deref(), "packages.shipTime")?,
        tracking_number: wire.tracking_number.filter(|t| !t.is_empty()),
        carrier: wire.carrier,
        service: wire.shipping_service,
        status: wire.package_status.and_then(|s| s.status),
    })
}

fn flags(programs: &[String], associated: &[AssociatedOrder]) -> OrderFlags {
    let has = |program: &str| programs.iter().any(|p| p == program);
    let associated_id = |kind: &str| {
        associated
            .iter()
            .find(|a| a.association_type.as_deref() == Some(kind))
            .and_then(|a| a.order_id.clone())
    };
    OrderFlags {
        prime: has("PRIME"),
        premium: has("PREMIUM"),
        business: has("AMAZON_BUSINESS"),
        easy_ship: has("AMAZON_EASY_SHIP"),
        invoice_by_amazon: has("INVOICE_BY_AMAZON"),
        pre_order: has("PREORDER"),
        in_store_pickup: has("IN_STORE_PICK_UP"),
        replacement_for: associated_id("REPLACEMENT_ORIGINAL_ID"),
        exchange_for: associated_id("EXCHANGE_ORIGINAL_ID"),
    }
}

fn internal_notes(
    flags: &OrderFlags,
    cancellation: Option<&CancellationRequest>,
) -> Option<String> {
    let mut notes: Vec<String> = [
        (flags.prime, "Amazon Prime"),
        (flags.business, "Amazon Business"),
        (flags.premium, "Premium shipping"),
        (
            flags.easy_ship,
            "Amazon Easy Ship: Amazon arranges the carrier",
        ),
        (flags.invoice_by_amazon, "Invoice by Amazon"),
        (flags.pre_order, "Pre-order"),
        (flags.in_store_pickup, "In-store pickup"),
    ]
    .into_iter()
    .filter(|(set, _)| *set)
    .map(|(_, note)| note.to_owned())
    .collect();
    if let Some(id) = &flags.replacement_for {
        notes.push(format!("Replacement for order {id}"));
    }
    if let Some(id) = &flags.exchange_for {
        notes.push(format!("Exchange for order {id}"));
    }
    if let Some(request) = cancellation {
        let reason = request
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        notes.push(format!(
            "Cancellation requested by {}{reason}",
            request.requested_by
        ));
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

    /// Orders are decoded from their JSON text, as the import does.
    fn wire(json: serde_json::Value) -> WireOrder {
        serde_json::from_str(&json.to_string()).unwrap()
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
    fn an_unknown_status_is_held_and_bad_dates_are_reasons_not_panics() {
        let mut json = merchant_order();
        json["fulfillment"]["fulfillmentStatus"] = "TELEPORTED".into();
        let order = map_order(wire(json), SKU).unwrap();
        assert_eq!(order.status, OrderStatus::OnHold);
        assert_eq!(order.marketplace_status, "TELEPORTED");
        let mut json = merchant_order();
        json["createdTime"] = "yesterday".into();
        assert!(
            map_order(wire(json), SKU)
                .unwrap_err()
                .contains("createdTime")
        );
    }

    #[test]
    fn amounts_keep_amazon_s_digits_and_refuse_anything_else() {
        let mut json = merchant_order();
        json["proceeds"]["grandTotal"]["amount"] = "49.90".into();
        let text = json
            .to_string()
            .replace(r#""amount":"24.99""#, r#""amount":24.90"#);
        let order = map_order(serde_json::from_str(&text).unwrap(), SKU).unwrap();
        assert_eq!(order.order_total.unwrap().amount, "49.90");
        assert_eq!(
            order.items[0].unit_price.as_ref().unwrap().amount,
            "24.90",
            "a bare number keeps its digits"
        );

        for bad in [r#""1e3""#, r#""12,50""#, "1e3", r#""""#, r#""-""#] {
            let text = json
                .to_string()
                .replace(r#""amount":"49.90""#, &format!(r#""amount":{bad}"#));
            assert!(
                serde_json::from_str::<WireOrder>(&text).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn every_status_maps_for_both_channels() {
        use FulfillmentChannel::{Amazon, Merchant};
        use OrderStatus::*;
        let table = [
            ("PENDING", Merchant, AwaitingPayment),
            ("PENDING_AVAILABILITY", Merchant, AwaitingPayment),
            ("UNSHIPPED", Merchant, AwaitingShipment),
            ("PARTIALLY_SHIPPED", Merchant, AwaitingShipment),
            ("SHIPPED", Merchant, Shipped),
            ("CANCELLED", Merchant, Cancelled),
            ("UNFULFILLABLE", Merchant, OnHold),
            ("PENDING", Amazon, AwaitingPayment),
            ("PENDING_AVAILABILITY", Amazon, AwaitingPayment),
            ("UNSHIPPED", Amazon, Shipped),
            ("PARTIALLY_SHIPPED", Amazon, Shipped),
            ("SHIPPED", Amazon, Shipped),
            ("CANCELLED", Amazon, Cancelled),
            ("UNFULFILLABLE", Amazon, OnHold),
        ];
        for (amazon, channel, expected) in table {
            assert_eq!(
                status_for(amazon, channel, false),
                expected,
                "{amazon} {channel:?}"
            );
        }
        assert_eq!(status_for("UNSHIPPED", Merchant, true), OnHold);
        assert_eq!(status_for("SHIPPED", Merchant, true), Shipped);
    }

    #[test]
    fn a_buyer_s_cancellation_request_holds_the_order_until_amazon_cancels_it() {
        let mut json = merchant_order();
        json["orderItems"][0]["cancellation"] = serde_json::json!({
            "cancellationRequest": {"requester": "BUYER", "cancelReason": "Ordered by mistake"}});
        let order = map_order(wire(json.clone()), SKU).unwrap();
        assert_eq!(order.status, OrderStatus::OnHold);
        let request = order.cancellation_request.unwrap();
        assert_eq!(
            (request.requested_by.as_str(), request.reason.as_deref()),
            ("BUYER", Some("Ordered by mistake"))
        );
        assert!(
            order
                .internal_notes
                .unwrap()
                .contains("Cancellation requested by BUYER")
        );

        json["fulfillment"]["fulfillmentStatus"] = "CANCELLED".into();
        let cancelled = map_order(wire(json), SKU).unwrap();
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert!(cancelled.cancellation_request.is_none());
    }

    #[test]
    fn gift_wrap_alone_makes_a_gift_and_fba_orders_carry_no_message() {
        let mut json = merchant_order();
        json["orderItems"][0]["fulfillment"]["packing"]["giftOption"] =
            serde_json::json!({"giftWrapLevel": "PREMIUM"});
        let order = map_order(wire(json.clone()), SKU).unwrap();
        assert!(order.is_gift);
        assert_eq!(order.gift_message, None);
        assert_eq!(order.gift_wrap.as_deref(), Some("PREMIUM"));
        assert!(
            order.items[0]
                .options
                .iter()
                .any(|o| o.name == "Gift wrap" && o.value == "Premium")
        );

        let mut fba = merchant_order();
        fba["fulfillment"]["fulfilledBy"] = "AMAZON".into();
        let order = map_order(wire(fba), SKU).unwrap();
        assert!(order.is_gift);
        assert_eq!(order.gift_message, None);
        assert_eq!(order.items[0].gift_message, None);
    }

    #[test]
    fn programs_become_typed_flags_and_unknown_ones_are_kept() {
        let mut json = merchant_order();
        json["programs"] = serde_json::json!([
            "PRIME",
            "AMAZON_EASY_SHIP",
            "INVOICE_BY_AMAZON",
            "AMAZON_BUSINESS",
            "NEXT_BIG_THING"
        ]);
        json["associatedOrders"] = serde_json::json!([{"orderId": "111-0000000-0000001", "associationType": "EXCHANGE_ORIGINAL_ID"}]);
        json["buyer"]["buyerPurchaseOrderNumber"] = "PO-1".into();
        let order = map_order(wire(json), SKU).unwrap();
        assert!(
            order.flags.prime
                && order.flags.easy_ship
                && order.flags.invoice_by_amazon
                && order.flags.business
        );
        assert!(!order.flags.premium && !order.flags.pre_order);
        assert_eq!(
            order.flags.exchange_for.as_deref(),
            Some("111-0000000-0000001")
        );
        assert_eq!(
            order.programs.last().map(String::as_str),
            Some("NEXT_BIG_THING")
        );
        assert_eq!(
            order.customer.unwrap().purchase_order_number.as_deref(),
            Some("PO-1")
        );
    }

    #[test]
    fn item_requirements_are_typed() {
        let mut json = merchant_order();
        let item = &mut json["orderItems"][0];
        item["programs"] = serde_json::json!(["TRANSPARENCY"]);
        item["fulfillment"]["packing"]["serialNumberRequirement"] =
            serde_json::json!({"requirementType": "REQUIRED"});
        item["fulfillment"]["shipping"] = serde_json::json!({
            "shippingConstraints": {"signatureConfirmation": "MANDATORY", "recipientAgeVerification": "MANDATORY"},
            "internationalShipping": {"iossNumber": "IM0000000000"}});
        item["product"]["customization"] =
            serde_json::json!({"customizedUrl": "https://example.invalid/custom/1"});
        let order = map_order(wire(json), SKU).unwrap();
        let item = &order.items[0];
        assert!(item.transparency_required && item.serial_numbers_required);
        assert_eq!(
            item.shipping_constraints,
            [
                ShippingConstraint::SignatureConfirmation,
                ShippingConstraint::AgeVerification
            ]
        );
        assert_eq!(item.ioss_number.as_deref(), Some("IM0000000000"));
        assert!(item.options.iter().any(|o| o.name == "Customization" && o.value == "https://example.invalid/custom/1"));
    }

    #[test]
    fn pickup_points_and_non_latin_addresses_are_marked() {
        let mut json = merchant_order();
        json["recipient"]["deliveryAddress"]["addressType"] = "PICKUP_POINT".into();
        let address = map_order(wire(json.clone()), SKU).unwrap().ship_to.unwrap();
        assert!(address.pickup_point && address.latin_script);
        assert_eq!(address.residential, Some(false));

        for (city, latin) in [
            ("東京都港区", false),
            ("Москва", false),
            ("São Paulo", true),
            ("Łódź", true),
            ("القاهرة", false),
        ] {
            json["recipient"]["deliveryAddress"]["city"] = city.into();
            let address = map_order(wire(json.clone()), SKU).unwrap().ship_to.unwrap();
            assert_eq!(address.latin_script, latin, "{city}");
            assert_eq!(
                address.city.as_deref(),
                Some(city),
                "kept exactly as Amazon sent it"
            );
        }
    }

    #[test]
    fn discounts_are_counted_once_and_promotions_tied_to_their_amounts() {
        let mut json = merchant_order();
        json["proceeds"]["breakdowns"] = serde_json::json!([
            {"type": "ITEM", "subtotal": {"amount": "49.98", "currencyCode": "USD"}},
            {"type": "DISCOUNT", "subtotal": {"amount": "-5.00", "currencyCode": "USD"}}]);
        json["orderItems"][0]["proceeds"] = serde_json::json!({"breakdowns": [
            {"type": "DISCOUNT", "subtotal": {"amount": "-5.00", "currencyCode": "USD"}}]});
        json["orderItems"][0]["promotion"] =
            serde_json::json!({"breakdowns": [{"promotionId": "PROMO-1"}]});
        let order = map_order(wire(json), SKU).unwrap();
        assert_eq!(
            order.discounts.len(),
            1,
            "Amazon's order DISCOUNT already totals the items'"
        );
        assert_eq!(order.item_subtotal.unwrap().amount, "49.98");
        let item = &order.items[0].discounts;
        assert_eq!(item.len(), 1);
        assert_eq!(item[0].promotion_id.as_deref(), Some("PROMO-1"));
        assert_eq!(item[0].amount.as_ref().unwrap().amount, "-5.00");
    }

    #[test]
    fn payments_and_amazon_s_packages_are_read_in_full() {
        let mut json = merchant_order();
        json["payment"] = serde_json::json!({"paymentExecutions": [
            {"paymentMethod": "GC"}, {"paymentMethod": "CreditCard"}, {"paymentMethod": "GC"}]});
        json["fulfillment"]["fulfillmentStatus"] = "SHIPPED".into();
        json["packages"] = serde_json::json!([{"packageReferenceId": "1", "carrier": "UPS", "trackingNumber": "1Z999",
            "shippingService": "UPS Ground", "shipTime": "2026-11-20T12:00:00Z", "packageStatus": {"status": "IN_TRANSIT"}}]);
        let order = map_order(wire(json), SKU).unwrap();
        assert_eq!(order.payment_method.as_deref(), Some("GC, CreditCard"));
        assert_eq!(order.status, OrderStatus::Shipped);
        let shipment = &order.shipments[0];
        assert_eq!(shipment.tracking_number.as_deref(), Some("1Z999"));
        assert_eq!(shipment.status.as_deref(), Some("IN_TRANSIT"));
        assert_eq!(
            shipment.shipped_at.unwrap().to_rfc3339(),
            "2026-11-20T12:00:00+00:00"
        );
    }

    #[test]
    fn an_item_without_an_asin_still_imports() {
        let mut json = merchant_order();
        json["orderItems"][0]["product"]
            .as_object_mut()
            .unwrap()
            .remove("asin");
        let asin = MappingOptions {
            product_identifier: ProductIdentifier::Asin,
        };
        let order = map_order(wire(json.clone()), asin).unwrap();
        assert_eq!(order.items[0].asin, None);
        assert_eq!(
            order.items[0].product_id, "ECHO-DOT",
            "the SKU when there is no ASIN"
        );
        json["orderItems"][0]["product"]
            .as_object_mut()
            .unwrap()
            .remove("sellerSku");
        let order = map_order(wire(json), SKU).unwrap();
        assert_eq!(
            order.items[0].product_id, "79039765272157",
            "the order item id when neither"
        );
    }
}
