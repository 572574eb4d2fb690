//! Domain types, one for each WIT record. Plain Rust so the logic is testable
//! natively; the wasm adapter converts them to and from the generated bindings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::spapi::marketplaces::{self, Region};

/// The text written in place of redacted buyer data.
pub const REDACTED: &str = "REDACTED (Amazon)";

/// A decimal amount exactly as Amazon sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// Decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency_code: String,
}

/// The seller's secrets, passed on every call and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// LWA client id.
    pub lwa_client_id: String,
    /// LWA client secret.
    pub lwa_client_secret: String,
    /// LWA refresh token.
    pub refresh_token: String,
    /// Seller id.
    pub seller_id: String,
}

impl std::fmt::Debug for Credentials {
    // Secrets never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("lwa_client_id", &self.lwa_client_id)
            .field("seller_id", &self.seller_id)
            .finish_non_exhaustive()
    }
}

/// SKU or ASIN as the item's product identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductIdentifier {
    /// The seller SKU (falls back to the ASIN).
    Sku,
    /// The ASIN.
    Asin,
}

/// One order source of a connection: a marketplace and the settings of its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSettings {
    /// The marketplace.
    pub marketplace_id: String,
    /// SKU or ASIN.
    pub product_identifier: ProductIdentifier,
    /// Import FBA orders (as shipped).
    pub import_fba_orders: bool,
    /// Japanese kanji addresses enabled.
    pub japan_kanji_addresses: bool,
    /// The marketplace's carrier codes in Seller Central; empty for Amazon's list.
    pub carrier_codes: Vec<String>,
}

/// One seller account in one region and its order sources: the unit Amazon's rate
/// limits apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Secrets.
    pub credentials: Credentials,
    /// Explicit region; derived from the first source's marketplace when `None`.
    pub region: Option<Region>,
    /// Use Amazon's sandbox.
    pub sandbox: bool,
    /// The order sources, at least one.
    pub sources: Vec<SourceSettings>,
    /// Read each source in windows of its own, in turn, instead of all in one (for
    /// sellers Amazon answers badly when one call names several marketplaces).
    pub read_sources_separately: bool,
}

impl ConnectionSettings {
    /// The source in `marketplace_id`, if it is one.
    pub fn source(&self, marketplace_id: &str) -> Option<&SourceSettings> {
        self.sources
            .iter()
            .find(|s| s.marketplace_id == marketplace_id)
    }

    /// A connection that can read orders: valid, and Amazon.co.jp (which sends
    /// kanji addresses) only as a source the host opted into kanji for.
    pub fn validate_for_orders(&self) -> Result<Region, Error> {
        let region = self.validate()?;
        if self
            .sources
            .iter()
            .any(|s| s.marketplace_id == marketplaces::JAPAN && !s.japan_kanji_addresses)
        {
            return Err(Error::KanjiAddressesRequired);
        }
        Ok(region)
    }

    /// Checks what every export relies on and resolves the region: the
    /// credentials, at least one source, no marketplace twice, all in one region.
    /// A source that disagrees with a given region names the region; one that
    /// disagrees with the region of the first source names itself.
    pub fn validate(&self) -> Result<Region, Error> {
        let credentials = &self.credentials;
        let required = [
            ("lwa-client-id", &credentials.lwa_client_id),
            ("lwa-client-secret", &credentials.lwa_client_secret),
            ("refresh-token", &credentials.refresh_token),
            ("seller-id", &credentials.seller_id),
        ];
        for (name, value) in required {
            if value.trim().is_empty() {
                return Err(Error::invalid(
                    format!("settings.credentials.{name}"),
                    "must not be empty",
                ));
            }
        }
        if self.sources.is_empty() {
            return Err(Error::invalid(
                "settings.sources",
                "a connection needs an order source",
            ));
        }
        let field = |index: usize| format!("settings.sources[{index}].marketplace-id");
        for (index, source) in self.sources.iter().enumerate() {
            let id = &source.marketplace_id;
            if id.trim().is_empty() {
                return Err(Error::invalid(field(index), "must not be empty"));
            }
            if self.sources[..index]
                .iter()
                .any(|s| &s.marketplace_id == id)
            {
                return Err(Error::invalid(
                    field(index),
                    "the marketplace is an order source twice",
                ));
            }
        }
        let first = &self.sources[0].marketplace_id;
        let Some(region) = self.region.or(marketplaces::region_of(first)) else {
            return Err(Error::invalid(
                "settings.region",
                format!("marketplace {first} is not one this version knows; give the region"),
            ));
        };
        for (index, source) in self.sources.iter().enumerate() {
            let id = &source.marketplace_id;
            if let Some(its) = marketplaces::region_of(id).filter(|its| *its != region) {
                let field = match self.region {
                    Some(_) => "settings.region".to_owned(),
                    None => field(index),
                };
                return Err(Error::invalid(
                    field,
                    format!("marketplace {id} is in {its:?}, not {region:?}"),
                ));
            }
        }
        Ok(region)
    }
}

/// A marketplace the seller participates in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marketplace {
    /// Marketplace id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO country code.
    pub country_code: String,
    /// Default currency.
    pub currency_code: Option<String>,
    /// Default language.
    pub language_code: Option<String>,
    /// Storefront domain.
    pub domain: String,
    /// Listings inactive.
    pub has_suspended_listings: bool,
}

/// A verified order source: its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// Store name in the marketplace.
    pub store_name: String,
    /// The order source's marketplace.
    pub marketplace: Marketplace,
}

/// How the host must treat Amazon orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Amazon emails buyers about shipments.
    pub marketplace_emails_buyer: bool,
    /// One shipment update per order.
    pub single_shipment_update: bool,
    /// The component schedules PII redaction.
    pub pii_redaction: bool,
    /// Emails and phones are Amazon relays.
    pub contact_details_are_relays: bool,
}

impl Capabilities {
    /// What this version of the component does.
    pub const AMAZON: Self = Self {
        marketplace_emails_buyer: true,
        single_shipment_update: true,
        pii_redaction: true,
        contact_details_are_relays: true,
    };
}

/// What Amazon said about the selling plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SellingPlan {
    /// Confirmed Professional.
    Professional,
    /// Amazon did not say.
    Unverified,
}

/// The result of `connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Seller id.
    pub seller_id: String,
    /// Each order source's store, in the settings' order.
    pub sources: Vec<StoreInfo>,
    /// All participating marketplaces.
    pub marketplaces: Vec<Marketplace>,
    /// The selling plan check.
    pub selling_plan: SellingPlan,
    /// Capability flags.
    pub capabilities: Capabilities,
}

/// Order status in the host's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Pending.
    AwaitingPayment,
    /// Unshipped or partially shipped.
    AwaitingShipment,
    /// Shipped.
    Shipped,
    /// Cancelled.
    Cancelled,
    /// Unfulfillable.
    OnHold,
}

/// Who fulfils the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfillmentChannel {
    /// MFN.
    Merchant,
    /// AFN (FBA).
    Amazon,
}

/// A postal address; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Name.
    pub name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street line 1.
    pub street1: Option<String>,
    /// Street line 2.
    pub street2: Option<String>,
    /// Street line 3.
    pub street3: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country code.
    pub country_code: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Residential or not.
    pub residential: Option<bool>,
    /// A pickup point.
    pub pickup_point: bool,
    /// Every field in Latin script.
    pub latin_script: bool,
}

/// The buyer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    /// Name.
    pub name: Option<String>,
    /// Relay email.
    pub email: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// PO number.
    pub purchase_order_number: Option<String>,
}

/// Units for a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightUnit {
    /// g
    Grams,
    /// kg
    Kilograms,
    /// oz
    Ounces,
    /// lb
    Pounds,
}

/// A weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weight {
    /// Amount of `unit`, decimal text.
    pub value: String,
    /// Unit.
    pub unit: WeightUnit,
}

/// Units for dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// mm
    Millimeters,
    /// cm
    Centimeters,
    /// m
    Meters,
    /// in
    Inches,
    /// ft
    Feet,
}

/// A package's size, decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimensions {
    /// Length.
    pub length: String,
    /// Width.
    pub width: String,
    /// Height.
    pub height: String,
    /// Unit of all three.
    pub unit: LengthUnit,
}

/// Catalog info for one ASIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInfo {
    /// ASIN.
    pub asin: String,
    /// Weight of one unit.
    pub weight: Option<Weight>,
    /// Size of one unit.
    pub dimensions: Option<Dimensions>,
    /// Main image.
    pub image_url: Option<String>,
}

/// A name/value detail shown with an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOption {
    /// Label.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    /// Promotion id.
    pub promotion_id: Option<String>,
    /// Amount off.
    pub amount: Option<Money>,
}

/// A delivery condition Amazon requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShippingConstraint {
    /// Pallet delivery.
    PalletDelivery,
    /// Cash on delivery.
    CashOnDelivery,
    /// Signature.
    SignatureConfirmation,
    /// Identity check.
    IdentityVerification,
    /// Age check.
    AgeVerification,
}

/// One order line.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// Amazon order item id.
    pub order_item_id: String,
    /// SKU or ASIN per the store setting.
    pub product_id: String,
    /// Seller SKU.
    pub sku: Option<String>,
    /// ASIN.
    pub asin: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Quantity ordered.
    pub quantity: u32,
    /// Quantity shipped.
    pub quantity_shipped: u32,
    /// Unit price.
    pub unit_price: Option<Money>,
    /// Item discounts.
    pub discounts: Vec<Discount>,
    /// Catalog weight.
    pub weight: Option<Weight>,
    /// Catalog size.
    pub dimensions: Option<Dimensions>,
    /// Catalog image.
    pub image_url: Option<String>,
    /// Condition and similar.
    pub options: Vec<ItemOption>,
    /// Transparency codes must be scanned.
    pub transparency_required: bool,
    /// Serial numbers must be recorded.
    pub serial_numbers_required: bool,
    /// Delivery conditions.
    pub shipping_constraints: Vec<ShippingConstraint>,
    /// IOSS number.
    pub ioss_number: Option<String>,
    /// Always `None` from Amazon.
    pub warehouse_location: Option<String>,
    /// Gift message.
    pub gift_message: Option<String>,
}

/// Typed facts about an order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFlags {
    /// Prime.
    pub prime: bool,
    /// Premium shipping.
    pub premium: bool,
    /// Amazon Business.
    pub business: bool,
    /// Easy Ship.
    pub easy_ship: bool,
    /// Invoice by Amazon.
    pub invoice_by_amazon: bool,
    /// Pre-order.
    pub pre_order: bool,
    /// In-store pickup.
    pub in_store_pickup: bool,
    /// Replacement for this order.
    pub replacement_for: Option<String>,
    /// Exchange for this order.
    pub exchange_for: Option<String>,
}

/// A pending cancellation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancellationRequest {
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: Option<String>,
}

/// A shipment Amazon knows of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmazonShipment {
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// Carrier.
    pub carrier: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Shipped at.
    pub shipped_at: Option<DateTime<Utc>>,
    /// Package status.
    pub status: Option<String>,
}

/// An order for the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Amazon order id.
    pub order_id: String,
    /// Marketplace.
    pub marketplace_id: String,
    /// Host status.
    pub status: OrderStatus,
    /// Amazon status.
    pub marketplace_status: String,
    /// MFN or AFN.
    pub fulfillment_channel: FulfillmentChannel,
    /// Placed at.
    pub ordered_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
    /// Latest ship date.
    pub ship_by: Option<DateTime<Utc>>,
    /// Latest delivery date.
    pub deliver_by: Option<DateTime<Utc>>,
    /// Buyer.
    pub customer: Option<Customer>,
    /// Ship-to address.
    pub ship_to: Option<Address>,
    /// Requested service.
    pub requested_service: Option<String>,
    /// Payment method.
    pub payment_method: Option<String>,
    /// Grand total.
    pub order_total: Option<Money>,
    /// Items before shipping, tax and discounts.
    pub item_subtotal: Option<Money>,
    /// Shipping paid.
    pub shipping_paid: Option<Money>,
    /// Tax paid.
    pub tax_paid: Option<Money>,
    /// Order discounts.
    pub discounts: Vec<Discount>,
    /// Any item is a gift.
    pub is_gift: bool,
    /// Gift message(s).
    pub gift_message: Option<String>,
    /// Gift wrap level.
    pub gift_wrap: Option<String>,
    /// Buyer's delivery instructions.
    pub notes_from_buyer: Option<String>,
    /// Notes for the shipper.
    pub internal_notes: Option<String>,
    /// Typed facts.
    pub flags: OrderFlags,
    /// Amazon's programs as sent.
    pub programs: Vec<String>,
    /// A pending cancellation request.
    pub cancellation_request: Option<CancellationRequest>,
    /// Shipments Amazon knows of.
    pub shipments: Vec<AmazonShipment>,
    /// Total weight.
    pub weight: Option<Weight>,
    /// Lines.
    pub items: Vec<OrderItem>,
}

/// Why an order Amazon sent is not in a batch's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Could not be read or mapped; fetched again later.
    Unreadable,
    /// Retried and still unreadable; no longer tried.
    GivenUp,
    /// Placed in another marketplace.
    OtherMarketplace,
    /// Not an Amazon sale (NON_AMAZON sales channel).
    NonAmazonSalesChannel,
    /// Fulfilled by Amazon while FBA import is off.
    AmazonFulfilled,
}

/// An order not imported by a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedOrder {
    /// Order id or "(unknown)".
    pub order_id: String,
    /// Why.
    pub reason: SkipReason,
    /// Details, without buyer data.
    pub detail: String,
    /// The component fetches it again later.
    pub will_retry: bool,
}

/// One import call's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportBatch {
    /// Orders to upsert.
    pub orders: Vec<Order>,
    /// Orders not imported, with reasons.
    pub skipped: Vec<SkippedOrder>,
    /// Catalog info for items delivered earlier without it.
    pub products: Vec<ProductInfo>,
    /// The position after this batch, to store with it.
    pub checkpoint: String,
    /// More pages wait.
    pub more: bool,
    /// When to call again.
    pub next_call_after: DateTime<Utc>,
}

/// An item quantity in a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelItem {
    /// Amazon order item id.
    pub order_item_id: String,
    /// Quantity.
    pub quantity: u32,
}

/// One order in a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOrder {
    /// Amazon order id.
    pub order_id: String,
    /// The order's marketplace, when the host names it.
    pub marketplace_id: Option<String>,
    /// Its items in the package.
    pub items: Vec<LabelItem>,
}

/// A label the host created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelEvent {
    /// Host label id.
    pub label_id: String,
    /// Orders in the package.
    pub orders: Vec<LabelOrder>,
    /// Amazon carrier code.
    pub carrier_code: String,
    /// Carrier name.
    pub carrier_name: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Tracking number.
    pub tracking_number: String,
    /// Ship date.
    pub ship_date: DateTime<Utc>,
    /// Label created at.
    pub created_at: DateTime<Utc>,
    /// Label cost.
    pub carrier_fee: Option<Money>,
    /// Carrier reports delivery.
    pub automatic_tracking: bool,
    /// Host batch id.
    pub batch_id: Option<String>,
}

/// Why a shipment update was not sent.
#[derive(Debug, Clone, PartialEq)]
pub enum NotSentReason {
    /// Amazon already has tracking for the order.
    AlreadyNotified,
    /// An earlier label's update (this label id) is queued for the order.
    EarlierUpdateQueued(String),
    /// The component's storage failed, so the update was not sent.
    StorageFailed(String),
    /// Amazon refused it.
    Rejected(crate::error::AmazonError),
    /// The label lacks something Amazon needs.
    InvalidLabel {
        /// Path of the field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// A carrier delivered a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// The host's label id.
    pub label_id: String,
    /// An Amazon order in the package.
    pub order_id: String,
    /// When it was delivered.
    pub delivered_at: DateTime<Utc>,
}

/// What one `send-queued-notifications` call did.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationReport {
    /// Outcomes of the updates it sent or gave up.
    pub outcomes: Vec<NotificationOutcome>,
    /// Updates still queued.
    pub pending: u32,
    /// When the next one is due.
    pub next_call_after: Option<DateTime<Utc>>,
}

/// What happened to one order's update.
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationResult {
    /// Accepted by Amazon (confirmShipment).
    Sent,
    /// Accepted by Amazon in this feed's processing report.
    SentInFeed(String),
    /// Not at Amazon yet; kept and sent from this time on.
    Queued(DateTime<Utc>),
    /// In a feed Amazon is processing.
    InFeed(FeedSubmission),
    /// Not sent.
    NotSent(NotSentReason),
}

/// A feed Amazon is processing.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSubmission {
    /// Amazon's feed id.
    pub feed_id: String,
    /// When the component next looks at it.
    pub check_after: DateTime<Utc>,
}

/// The outcome for one (label, order).
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationOutcome {
    /// Host label id.
    pub label_id: String,
    /// Amazon order id.
    pub order_id: String,
    /// What happened.
    pub outcome: NotificationResult,
}

/// What a directive redacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedactionTarget {
    /// An order record.
    Order(String),
    /// A label.
    Label(String),
    /// The customer record of an order's buyer.
    CustomerOfOrder(String),
}

/// A piece of buyer PII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiField {
    /// Name.
    CustomerName,
    /// Company.
    CompanyName,
    /// Street lines.
    StreetAddress,
    /// City (labels only).
    City,
    /// State (labels only).
    State,
    /// Postal code (labels only).
    PostalCode,
    /// Phone.
    Phone,
    /// Email.
    Email,
    /// Gift message.
    GiftMessage,
    /// Amazon Custom customization URL.
    Customization,
    /// Business purchase order number.
    PurchaseOrderNumber,
    /// Username.
    Username,
    /// Buyer's delivery notes.
    NotesFromBuyer,
}

/// The retention rule behind a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedactionRule {
    /// 14 days after import, not shipped.
    UnshippedAfterImport,
    /// Shipped with automatic tracking.
    TrackedShipment,
    /// Shipped without automatic tracking.
    UntrackedShipment,
}

/// One redaction the host must apply now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionDirective {
    /// Stable id, for acknowledgement.
    pub id: String,
    /// The record.
    pub target: RedactionTarget,
    /// Fields to overwrite.
    pub fields: Vec<PiiField>,
    /// Always [`REDACTED`].
    pub replacement: String,
    /// Rule that made it due.
    pub rule: RedactionRule,
    /// When it became due.
    pub due_at: DateTime<Utc>,
}
