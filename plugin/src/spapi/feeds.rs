//! Feeds API 2021-06-30 for batch shipment confirmation: the wire types, the
//! `POST_ORDER_FULFILLMENT_DATA` document (Amazon's `OrderFulfillment` XML envelope)
//! and the processing report read back from it.
//!
//! The XML is written by hand around `quick_xml::escape` (the document is a fixed
//! shape, and the writer would only add size to the component); the report is read
//! with quick-xml's pull parser, leniently: only the elements this component relies
//! on are looked at, anything else is skipped.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

use crate::spapi::shipments::PackageDetail;

/// The feed type that confirms shipments.
pub const ORDER_FULFILLMENT_FEED: &str = "POST_ORDER_FULFILLMENT_DATA";
/// The Content-Type declared to createFeedDocument and sent, byte for byte, with the
/// upload (any difference makes the pre-signed URL answer 403).
pub const DOCUMENT_CONTENT_TYPE: &str = "text/xml; charset=UTF-8";
/// `POST` createFeedDocument.
pub const DOCUMENTS_PATH: &str = "/feeds/2021-06-30/documents";
/// `POST` createFeed, `GET` getFeeds.
pub const FEEDS_PATH: &str = "/feeds/2021-06-30/feeds";

/// `GET` getFeed.
pub fn feed_path(feed_id: &str) -> String {
    format!("{FEEDS_PATH}/{feed_id}")
}

/// `GET` getFeedDocument.
pub fn document_path(document_id: &str) -> String {
    format!("{DOCUMENTS_PATH}/{document_id}")
}

/// `CreateFeedDocumentSpecification`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedDocument<'a> {
    /// What the upload's Content-Type will be.
    pub content_type: &'a str,
}

/// `CreateFeedDocumentResponse` and `FeedDocument`: where to put or get a document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedDocument {
    /// The document's id.
    pub feed_document_id: String,
    /// A pre-signed URL, valid for five minutes.
    pub url: String,
    /// `GZIP` when the document is compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_algorithm: Option<String>,
}

/// `CreateFeedSpecification`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeed<'a> {
    /// [`ORDER_FULFILLMENT_FEED`].
    pub feed_type: &'a str,
    /// The marketplace of the feed's orders (Amazon takes 1 to 25).
    pub marketplace_ids: [&'a str; 1],
    /// The uploaded document.
    pub input_feed_document_id: &'a str,
}

/// `CreateFeedResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedResponse {
    /// Amazon's feed id.
    pub feed_id: String,
}

/// `Feed`, as far as this component reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feed {
    /// Amazon's feed id.
    pub feed_id: String,
    /// `IN_QUEUE`, `IN_PROGRESS`, `DONE`, `FATAL` or `CANCELLED`.
    pub processing_status: String,
    /// The processing report, once there is one.
    #[serde(default)]
    pub result_feed_document_id: Option<String>,
    /// When Amazon received it.
    #[serde(default)]
    pub created_time: Option<String>,
    /// The marketplaces it is applied to.
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
}

/// `GetFeedsResponse`.
#[derive(Debug, Deserialize)]
pub struct GetFeedsResponse {
    /// The feeds, newest first.
    #[serde(default)]
    pub feeds: Vec<Feed>,
}

/// One message of the document: an order's shipment.
pub struct FulfillmentMessage<'a> {
    /// `MessageID`: a positive number, unique in the document; the report names
    /// results by it.
    pub message_id: u32,
    /// Amazon order id.
    pub order_id: &'a str,
    /// The package, as confirmShipment would send it.
    pub package: &'a PackageDetail,
}

/// The `OrderFulfillment` envelope for `seller_id`'s messages.
pub fn fulfillment_document(seller_id: &str, messages: &[FulfillmentMessage<'_>]) -> String {
    use quick_xml::escape::escape;
    let mut xml = String::with_capacity(200 + messages.len() * 600);
    xml.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    xml.push_str(r#"<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">"#);
    xml.push_str("<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>");
    xml.push_str(&escape(seller_id));
    xml.push_str("</MerchantIdentifier></Header><MessageType>OrderFulfillment</MessageType>");
    for message in messages {
        let package = message.package;
        let element = |xml: &mut String, name: &str, value: &str| {
            xml.push('<');
            xml.push_str(name);
            xml.push('>');
            xml.push_str(&escape(value));
            xml.push_str("</");
            xml.push_str(name);
            xml.push('>');
        };
        xml.push_str("<Message>");
        element(&mut xml, "MessageID", &message.message_id.to_string());
        xml.push_str("<OrderFulfillment>");
        element(&mut xml, "AmazonOrderID", message.order_id);
        element(&mut xml, "FulfillmentDate", &package.ship_date);
        xml.push_str("<FulfillmentData>");
        // The schema takes a code from Amazon's list or, for any other carrier, a name.
        match &package.carrier_name {
            Some(name) if package.carrier_code == "Other" => {
                element(&mut xml, "CarrierName", name);
            }
            _ => element(&mut xml, "CarrierCode", &package.carrier_code),
        }
        if let Some(method) = &package.shipping_method {
            element(&mut xml, "ShippingMethod", method);
        }
        element(&mut xml, "ShipperTrackingNumber", &package.tracking_number);
        xml.push_str("</FulfillmentData>");
        for item in &package.order_items {
            xml.push_str("<Item>");
            element(&mut xml, "AmazonOrderItemCode", &item.order_item_id);
            element(&mut xml, "Quantity", &item.quantity.to_string());
            xml.push_str("</Item>");
        }
        xml.push_str("</OrderFulfillment></Message>");
    }
    xml.push_str("</AmazonEnvelope>");
    xml
}

/// Amazon's verdict on one message that did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageError {
    /// `ResultMessageCode`, e.g. "18028".
    pub code: String,
    /// `ResultDescription`.
    pub description: String,
}

/// What the processing report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingReport {
    /// `StatusCode`: "Complete" when every message was looked at.
    pub status: String,
    /// `MessagesProcessed`.
    pub processed: u32,
    /// Messages with an `Error` result, by `MessageID` (a warning is no error:
    /// the message was applied).
    pub errors: BTreeMap<u32, MessageError>,
}

impl ProcessingReport {
    /// True when every message of the document was processed, so a message without
    /// an error result was applied.
    pub fn covers(&self, messages: usize) -> bool {
        self.status.eq_ignore_ascii_case("Complete") && self.processed as usize >= messages
    }
}

/// Reads a processing report. `Err` says why it is not one (the caller then asks
/// Amazon about each order instead of trusting it).
pub fn parse_processing_report(xml: &str) -> Result<ProcessingReport, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut status = None;
    let mut processed = None;
    let mut errors = BTreeMap::new();
    // The result being read: MessageID, ResultCode, ResultMessageCode, ResultDescription.
    let mut result: [Option<String>; 4] = Default::default();
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                if name == "Result" {
                    result = Default::default();
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => {
                let entity = format!("&{};", r.xml10_content());
                text.push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or_default();
                let value = text.trim().to_owned();
                match (parent, name.as_str()) {
                    ("ProcessingReport", "StatusCode") => status = Some(value),
                    ("ProcessingSummary", "MessagesProcessed") => {
                        processed = Some(value.parse::<u32>().map_err(|_| {
                            format!("MessagesProcessed is not a count: {value:.40}")
                        })?);
                    }
                    ("Result", "MessageID") => result[0] = Some(value),
                    ("Result", "ResultCode") => result[1] = Some(value),
                    ("Result", "ResultMessageCode") => result[2] = Some(value),
                    ("Result", "ResultDescription") => result[3] = Some(value),
                    ("ProcessingReport", "Result") => {
                        let [id, code, message_code, description] = std::mem::take(&mut result);
                        if code
                            .as_deref()
                            .is_some_and(|c| c.eq_ignore_ascii_case("Error"))
                        {
                            let id = id
                                .and_then(|id| id.parse::<u32>().ok())
                                .ok_or("an error result names no MessageID")?;
                            errors.insert(
                                id,
                                MessageError {
                                    code: message_code.unwrap_or_default(),
                                    description: description.unwrap_or_default(),
                                },
                            );
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(ProcessingReport {
        status: status.ok_or("the report has no StatusCode")?,
        processed: processed.ok_or("the report has no MessagesProcessed")?,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::shipments::ConfirmItem;

    fn package(carrier: &str, name: Option<&str>) -> PackageDetail {
        PackageDetail {
            package_reference_id: "1".into(),
            carrier_code: carrier.into(),
            carrier_name: name.map(str::to_owned),
            shipping_method: Some("Ground & Home".into()),
            tracking_number: "1Z<999>".into(),
            ship_date: "2026-11-21T10:00:00.000Z".into(),
            order_items: vec![
                ConfirmItem {
                    order_item_id: "111".into(),
                    quantity: 1,
                },
                ConfirmItem {
                    order_item_id: "112".into(),
                    quantity: 2,
                },
            ],
        }
    }

    #[test]
    fn the_document_is_amazon_s_envelope_with_escaped_values() {
        let ups = package("UPS", None);
        let acme = package("Other", Some("Acme & Sons"));
        let xml = fulfillment_document(
            "A2SELLER",
            &[
                FulfillmentMessage {
                    message_id: 1,
                    order_id: "111-0000001-0000001",
                    package: &ups,
                },
                FulfillmentMessage {
                    message_id: 2,
                    order_id: "111-0000002-0000002",
                    package: &acme,
                },
            ],
        );
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope"#));
        assert!(xml.contains("<MerchantIdentifier>A2SELLER</MerchantIdentifier>"));
        assert!(xml.contains("<MessageType>OrderFulfillment</MessageType>"));
        assert!(xml.contains("<MessageID>1</MessageID><OrderFulfillment><AmazonOrderID>111-0000001-0000001</AmazonOrderID><FulfillmentDate>2026-11-21T10:00:00.000Z</FulfillmentDate><FulfillmentData><CarrierCode>UPS</CarrierCode><ShippingMethod>Ground &amp; Home</ShippingMethod><ShipperTrackingNumber>1Z&lt;999&gt;</ShipperTrackingNumber></FulfillmentData><Item><AmazonOrderItemCode>111</AmazonOrderItemCode><Quantity>1</Quantity></Item><Item><AmazonOrderItemCode>112</AmazonOrderItemCode><Quantity>2</Quantity></Item></OrderFulfillment>"));
        assert!(xml.contains("<CarrierName>Acme &amp; Sons</CarrierName>"));
        assert!(!xml.contains("<CarrierCode>Other"));
        // Well-formed: quick-xml reads it to the end.
        let mut reader = quick_xml::Reader::from_str(&xml);
        while !matches!(reader.read_event().unwrap(), Event::Eof) {}
    }

    const REPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A2SELLER</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message>
    <MessageID>1</MessageID>
    <ProcessingReport>
      <DocumentTransactionID>50001</DocumentTransactionID>
      <StatusCode>Complete</StatusCode>
      <ProcessingSummary>
        <MessagesProcessed>3</MessagesProcessed>
        <MessagesSuccessful>2</MessagesSuccessful>
        <MessagesWithError>1</MessagesWithError>
        <MessagesWithWarning>1</MessagesWithWarning>
      </ProcessingSummary>
      <Result>
        <MessageID>2</MessageID>
        <ResultCode>Error</ResultCode>
        <ResultMessageCode>18028</ResultMessageCode>
        <ResultDescription>The data you submitted is incomplete &amp; invalid.</ResultDescription>
      </Result>
      <Result>
        <MessageID>3</MessageID>
        <ResultCode>Warning</ResultCode>
        <ResultMessageCode>5000</ResultMessageCode>
        <ResultDescription>Noted.</ResultDescription>
      </Result>
    </ProcessingReport>
  </Message>
</AmazonEnvelope>"#;

    #[test]
    fn the_report_names_each_message_that_failed() {
        let report = parse_processing_report(REPORT).unwrap();
        assert!(report.covers(3));
        assert!(!report.covers(4));
        assert_eq!(
            report.errors,
            BTreeMap::from([(
                2,
                MessageError {
                    code: "18028".into(),
                    description: "The data you submitted is incomplete & invalid.".into()
                }
            )])
        );
    }

    #[test]
    fn a_report_that_is_not_one_is_an_error_not_a_success() {
        for bad in [
            "",
            "<AmazonEnvelope>",
            "<html>Access Denied</html>",
            &REPORT.replace("<MessagesProcessed>3</MessagesProcessed>", ""),
            &REPORT.replace("<MessageID>2</MessageID>", ""),
            &REPORT.replace(">3</MessagesProcessed>", ">lots</MessagesProcessed>"),
        ] {
            assert!(parse_processing_report(bad).is_err(), "{bad:.60}");
        }
        let incomplete = REPORT.replace("Complete", "Incomplete");
        assert!(!parse_processing_report(&incomplete).unwrap().covers(3));
    }
}
