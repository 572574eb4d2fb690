//! WIT types to domain types and back. Every conversion is total: a WIT value
//! the domain cannot take is checked by the domain code, not here.

use chrono::{DateTime, TimeZone, Utc};

use super::bindings::wasi::clocks::wall_clock;
use super::wit;
use crate::{model, spapi::marketplaces::Region};

// ------------------------------------------------------------- conversions in

pub(super) fn datetime(at: wall_clock::Datetime) -> DateTime<Utc> {
    Utc.timestamp_opt(at.seconds as i64, at.nanoseconds)
        .single()
        .unwrap_or_default()
}

/// The connection as the domain has it.
pub(super) fn connection_settings(settings: wit::ConnectionSettings) -> model::ConnectionSettings {
    let wit::ConnectionSettings {
        credentials,
        region,
        sandbox,
        sources,
        read_sources_separately,
    } = settings;
    model::ConnectionSettings {
        credentials: model::Credentials {
            lwa_client_id: credentials.lwa_client_id,
            lwa_client_secret: credentials.lwa_client_secret,
            refresh_token: credentials.refresh_token,
            seller_id: credentials.seller_id,
        },
        region: region.map(|r| match r {
            wit::Region::NorthAmerica => Region::NorthAmerica,
            wit::Region::Europe => Region::Europe,
            wit::Region::FarEast => Region::FarEast,
        }),
        sandbox,
        sources: sources
            .into_iter()
            .map(|source| model::SourceSettings {
                marketplace_id: source.marketplace_id,
                product_identifier: match source.product_identifier {
                    wit::ProductIdentifier::Sku => model::ProductIdentifier::Sku,
                    wit::ProductIdentifier::Asin => model::ProductIdentifier::Asin,
                },
                import_fba_orders: source.import_fba_orders,
                japan_kanji_addresses: source.japan_kanji_addresses,
                carrier_codes: source.carrier_codes,
            })
            .collect(),
        read_sources_separately,
    }
}

impl From<wit::DeliveryEvent> for model::DeliveryEvent {
    fn from(event: wit::DeliveryEvent) -> Self {
        Self {
            label_id: event.label_id,
            order_id: event.order_id,
            delivered_at: datetime(event.delivered_at),
        }
    }
}

impl From<wit::LabelEvent> for model::LabelEvent {
    fn from(l: wit::LabelEvent) -> Self {
        Self {
            label_id: l.label_id,
            orders: l
                .orders
                .into_iter()
                .map(|o| model::LabelOrder {
                    order_id: o.order_id,
                    marketplace_id: o.marketplace_id,
                    items: o
                        .items
                        .into_iter()
                        .map(|i| model::LabelItem {
                            order_item_id: i.order_item_id,
                            quantity: i.quantity,
                        })
                        .collect(),
                })
                .collect(),
            carrier_code: l.carrier_code,
            carrier_name: l.carrier_name,
            service: l.service,
            tracking_number: l.tracking_number,
            ship_date: datetime(l.ship_date),
            created_at: datetime(l.created_at),
            carrier_fee: l.carrier_fee.map(money_in),
            automatic_tracking: l.automatic_tracking,
            batch_id: l.batch_id,
        }
    }
}

fn money_in(m: wit::Money) -> model::Money {
    model::Money {
        amount: m.amount,
        currency_code: m.currency_code,
    }
}

// ------------------------------------------------------------ conversions out

pub(super) fn wit_datetime(at: DateTime<Utc>) -> wall_clock::Datetime {
    wall_clock::Datetime {
        seconds: at.timestamp().max(0) as u64,
        nanoseconds: at.timestamp_subsec_nanos(),
    }
}

fn money(m: model::Money) -> wit::Money {
    wit::Money {
        amount: m.amount,
        currency_code: m.currency_code,
    }
}

impl From<model::Marketplace> for wit::Marketplace {
    fn from(m: model::Marketplace) -> Self {
        Self {
            id: m.id,
            name: m.name,
            country_code: m.country_code,
            currency_code: m.currency_code,
            language_code: m.language_code,
            domain: m.domain,
            has_suspended_listings: m.has_suspended_listings,
        }
    }
}

impl From<model::Connection> for wit::ConnectionInfo {
    fn from(c: model::Connection) -> Self {
        Self {
            seller_id: c.seller_id,
            sources: c
                .sources
                .into_iter()
                .map(|s| wit::SourceInfo {
                    store_name: s.store_name,
                    marketplace: s.marketplace.into(),
                })
                .collect(),
            marketplaces: c.marketplaces.into_iter().map(Into::into).collect(),
            selling_plan: match c.selling_plan {
                model::SellingPlan::Professional => wit::SellingPlan::Professional,
                model::SellingPlan::Unverified => wit::SellingPlan::Unverified,
            },
            capabilities: wit::Capabilities {
                marketplace_emails_buyer: c.capabilities.marketplace_emails_buyer,
                single_shipment_update: c.capabilities.single_shipment_update,
                pii_redaction: c.capabilities.pii_redaction,
                contact_details_are_relays: c.capabilities.contact_details_are_relays,
            },
        }
    }
}

fn discount(d: model::Discount) -> wit::Discount {
    wit::Discount {
        promotion_id: d.promotion_id,
        amount: d.amount.map(money),
    }
}

fn dimensions(d: model::Dimensions) -> wit::Dimensions {
    wit::Dimensions {
        length: d.length,
        width: d.width,
        height: d.height,
        unit: match d.unit {
            model::LengthUnit::Millimeters => wit::LengthUnit::Millimeters,
            model::LengthUnit::Centimeters => wit::LengthUnit::Centimeters,
            model::LengthUnit::Meters => wit::LengthUnit::Meters,
            model::LengthUnit::Inches => wit::LengthUnit::Inches,
            model::LengthUnit::Feet => wit::LengthUnit::Feet,
        },
    }
}

fn weight(w: model::Weight) -> wit::Weight {
    wit::Weight {
        value: w.value,
        unit: match w.unit {
            model::WeightUnit::Grams => wit::WeightUnit::Grams,
            model::WeightUnit::Kilograms => wit::WeightUnit::Kilograms,
            model::WeightUnit::Ounces => wit::WeightUnit::Ounces,
            model::WeightUnit::Pounds => wit::WeightUnit::Pounds,
        },
    }
}

impl From<model::OrderItem> for wit::OrderItem {
    fn from(i: model::OrderItem) -> Self {
        Self {
            order_item_id: i.order_item_id,
            product_id: i.product_id,
            sku: i.sku,
            asin: i.asin,
            title: i.title,
            quantity: i.quantity,
            quantity_shipped: i.quantity_shipped,
            unit_price: i.unit_price.map(money),
            discounts: i.discounts.into_iter().map(discount).collect(),
            weight: i.weight.map(weight),
            dimensions: i.dimensions.map(dimensions),
            image_url: i.image_url,
            options: i
                .options
                .into_iter()
                .map(|o| wit::ItemOption {
                    name: o.name,
                    value: o.value,
                })
                .collect(),
            transparency_required: i.transparency_required,
            serial_numbers_required: i.serial_numbers_required,
            shipping_constraints: i
                .shipping_constraints
                .into_iter()
                .map(|c| match c {
                    model::ShippingConstraint::PalletDelivery => {
                        wit::ShippingConstraint::PalletDelivery
                    }
                    model::ShippingConstraint::CashOnDelivery => {
                        wit::ShippingConstraint::CashOnDelivery
                    }
                    model::ShippingConstraint::SignatureConfirmation => {
                        wit::ShippingConstraint::SignatureConfirmation
                    }
                    model::ShippingConstraint::IdentityVerification => {
                        wit::ShippingConstraint::IdentityVerification
                    }
                    model::ShippingConstraint::AgeVerification => {
                        wit::ShippingConstraint::AgeVerification
                    }
                })
                .collect(),
            ioss_number: i.ioss_number,
            warehouse_location: i.warehouse_location,
            gift_message: i.gift_message,
        }
    }
}

impl From<model::Order> for wit::Order {
    fn from(o: model::Order) -> Self {
        Self {
            order_id: o.order_id,
            marketplace_id: o.marketplace_id,
            status: match o.status {
                model::OrderStatus::AwaitingPayment => wit::OrderStatus::AwaitingPayment,
                model::OrderStatus::AwaitingShipment => wit::OrderStatus::AwaitingShipment,
                model::OrderStatus::Shipped => wit::OrderStatus::Shipped,
                model::OrderStatus::Cancelled => wit::OrderStatus::Cancelled,
                model::OrderStatus::OnHold => wit::OrderStatus::OnHold,
            },
            marketplace_status: o.marketplace_status,
            fulfillment_channel: match o.fulfillment_channel {
                model::FulfillmentChannel::Merchant => wit::FulfillmentChannel::Merchant,
                model::FulfillmentChannel::Amazon => wit::FulfillmentChannel::Amazon,
            },
            ordered_at: wit_datetime(o.ordered_at),
            updated_at: wit_datetime(o.updated_at),
            ship_by: o.ship_by.map(wit_datetime),
            deliver_by: o.deliver_by.map(wit_datetime),
            customer: o.customer.map(|c| wit::Customer {
                name: c.name,
                email: c.email,
                company: c.company,
                purchase_order_number: c.purchase_order_number,
            }),
            ship_to: o.ship_to.map(|a| wit::Address {
                name: a.name,
                company: a.company,
                street1: a.street1,
                street2: a.street2,
                street3: a.street3,
                city: a.city,
                state: a.state,
                postal_code: a.postal_code,
                country_code: a.country_code,
                phone: a.phone,
                residential: a.residential,
                pickup_point: a.pickup_point,
                latin_script: a.latin_script,
            }),
            requested_service: o.requested_service,
            payment_method: o.payment_method,
            order_total: o.order_total.map(money),
            item_subtotal: o.item_subtotal.map(money),
            shipping_paid: o.shipping_paid.map(money),
            tax_paid: o.tax_paid.map(money),
            discounts: o.discounts.into_iter().map(discount).collect(),
            is_gift: o.is_gift,
            gift_message: o.gift_message,
            gift_wrap: o.gift_wrap,
            notes_from_buyer: o.notes_from_buyer,
            internal_notes: o.internal_notes,
            flags: wit::OrderFlags {
                prime: o.flags.prime,
                premium: o.flags.premium,
                business: o.flags.business,
                easy_ship: o.flags.easy_ship,
                invoice_by_amazon: o.flags.invoice_by_amazon,
                pre_order: o.flags.pre_order,
                in_store_pickup: o.flags.in_store_pickup,
                replacement_for: o.flags.replacement_for,
                exchange_for: o.flags.exchange_for,
            },
            programs: o.programs,
            cancellation_request: o.cancellation_request.map(|c| wit::CancellationRequest {
                requested_by: c.requested_by,
                reason: c.reason,
            }),
            shipments: o
                .shipments
                .into_iter()
                .map(|p| wit::AmazonShipment {
                    tracking_number: p.tracking_number,
                    carrier: p.carrier,
                    service: p.service,
                    shipped_at: p.shipped_at.map(wit_datetime),
                    status: p.status,
                })
                .collect(),
            weight: o.weight.map(weight),
            items: o.items.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<model::ImportBatch> for wit::ImportBatch {
    fn from(b: model::ImportBatch) -> Self {
        Self {
            orders: b.orders.into_iter().map(Into::into).collect(),
            skipped: b
                .skipped
                .into_iter()
                .map(|s| wit::SkippedOrder {
                    order_id: s.order_id,
                    reason: match s.reason {
                        model::SkipReason::Unreadable => wit::SkipReason::Unreadable,
                        model::SkipReason::GivenUp => wit::SkipReason::GivenUp,
                        model::SkipReason::OtherMarketplace => wit::SkipReason::OtherMarketplace,
                        model::SkipReason::NonAmazonSalesChannel => {
                            wit::SkipReason::NonAmazonSalesChannel
                        }
                        model::SkipReason::AmazonFulfilled => wit::SkipReason::AmazonFulfilled,
                    },
                    detail: s.detail,
                    will_retry: s.will_retry,
                })
                .collect(),
            products: b
                .products
                .into_iter()
                .map(|p| wit::ProductInfo {
                    asin: p.asin,
                    weight: p.weight.map(weight),
                    dimensions: p.dimensions.map(dimensions),
                    image_url: p.image_url,
                })
                .collect(),
            checkpoint: b.checkpoint,
            more: b.more,
            next_call_after: wit_datetime(b.next_call_after),
        }
    }
}

impl From<model::NotificationOutcome> for wit::NotificationOutcome {
    fn from(n: model::NotificationOutcome) -> Self {
        Self {
            label_id: n.label_id,
            order_id: n.order_id,
            outcome: match n.outcome {
                model::NotificationResult::Sent => wit::NotificationResult::Sent,
                model::NotificationResult::SentInFeed(feed_id) => {
                    wit::NotificationResult::SentInFeed(feed_id)
                }
                model::NotificationResult::InFeed(submission) => {
                    wit::NotificationResult::InFeed(wit::FeedSubmission {
                        feed_id: submission.feed_id,
                        check_after: wit_datetime(submission.check_after),
                    })
                }
                model::NotificationResult::Queued(at) => {
                    wit::NotificationResult::Queued(wit_datetime(at))
                }
                model::NotificationResult::NotSent(reason) => {
                    wit::NotificationResult::NotSent(match reason {
                        model::NotSentReason::AlreadyNotified => {
                            wit::NotSentReason::AlreadyNotified
                        }
                        model::NotSentReason::EarlierUpdateQueued(label) => {
                            wit::NotSentReason::EarlierUpdateQueued(label)
                        }
                        model::NotSentReason::StorageFailed(reason) => {
                            wit::NotSentReason::StorageFailed(reason)
                        }
                        model::NotSentReason::Rejected(e) => {
                            wit::NotSentReason::Rejected(amazon_error(e))
                        }
                        model::NotSentReason::InvalidLabel { field, reason } => {
                            wit::NotSentReason::InvalidLabel(wit::InvalidInput { field, reason })
                        }
                    })
                }
            },
        }
    }
}

impl From<model::RedactionDirective> for wit::RedactionDirective {
    fn from(d: model::RedactionDirective) -> Self {
        Self {
            id: d.id,
            target: match d.target {
                model::RedactionTarget::Order(id) => wit::RedactionTarget::Order(id),
                model::RedactionTarget::Label(id) => wit::RedactionTarget::Label(id),
                model::RedactionTarget::CustomerOfOrder(id) => {
                    wit::RedactionTarget::CustomerOfOrder(id)
                }
            },
            fields: d
                .fields
                .into_iter()
                .map(|f| match f {
                    model::PiiField::CustomerName => wit::PiiField::CustomerName,
                    model::PiiField::CompanyName => wit::PiiField::CompanyName,
                    model::PiiField::StreetAddress => wit::PiiField::StreetAddress,
                    model::PiiField::City => wit::PiiField::City,
                    model::PiiField::State => wit::PiiField::State,
                    model::PiiField::PostalCode => wit::PiiField::PostalCode,
                    model::PiiField::Phone => wit::PiiField::Phone,
                    model::PiiField::Email => wit::PiiField::Email,
                    model::PiiField::GiftMessage => wit::PiiField::GiftMessage,
                    model::PiiField::Customization => wit::PiiField::Customization,
                    model::PiiField::PurchaseOrderNumber => wit::PiiField::PurchaseOrderNumber,
                    model::PiiField::Username => wit::PiiField::Username,
                    model::PiiField::NotesFromBuyer => wit::PiiField::NotesFromBuyer,
                })
                .collect(),
            replacement: d.replacement,
            rule: match d.rule {
                model::RedactionRule::UnshippedAfterImport => {
                    wit::RedactionRule::UnshippedAfterImport
                }
                model::RedactionRule::TrackedShipment => wit::RedactionRule::TrackedShipment,
                model::RedactionRule::UntrackedShipment => wit::RedactionRule::UntrackedShipment,
            },
            due_at: wit_datetime(d.due_at),
        }
    }
}

fn amazon_error(e: crate::AmazonError) -> wit::AmazonError {
    wit::AmazonError {
        operation: e.operation,
        status: e.status,
        code: e.code,
        message: e.message,
        request_id: e.request_id,
    }
}

impl From<crate::Error> for wit::Error {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        match e {
            E::ReauthorizationRequired(a) => Self::ReauthorizationRequired(amazon_error(a)),
            E::AccessDenied(a) => Self::AccessDenied(amazon_error(a)),
            E::NotProfessionalSeller => Self::NotProfessionalSeller,
            E::MarketplaceNotParticipating {
                requested,
                participating,
            } => Self::MarketplaceNotParticipating(wit::NotParticipating {
                requested,
                participating,
            }),
            E::KanjiAddressesRequired => Self::KanjiAddressesRequired,
            E::Throttled { retry_at } => Self::Throttled(wit_datetime(retry_at)),
            E::InvalidInput { field, reason } => {
                Self::InvalidInput(wit::InvalidInput { field, reason })
            }
            E::Amazon(a) => Self::Amazon(amazon_error(a)),
            E::MalformedResponse { operation, detail } => {
                Self::MalformedResponse(wit::MalformedResponse { operation, detail })
            }
            E::Transport(message) => Self::Transport(message),
            E::Storage(message) => Self::Storage(message),
        }
    }
}

impl From<crate::events::MessageOutcome> for wit::MessageOutcome {
    fn from(outcome: crate::events::MessageOutcome) -> Self {
        use crate::events::MessageOutcome as Domain;
        match outcome {
            Domain::Taken => Self::Taken,
            Domain::Duplicate => Self::Duplicate,
            Domain::NotForThisConnection => Self::NotForThisConnection,
            Domain::Malformed(reason) => Self::Malformed(reason),
        }
    }
}
