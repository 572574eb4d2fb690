//! Shipment confirmation on the simulated Amazon: Orders v0 `confirmShipment`, and
//! the Feeds API with `POST_ORDER_FULFILLMENT_DATA` (documents at pre-signed URLs
//! on a document host, feeds that take virtual time to process, and an XML
//! processing report per feed).
//!
//! Every confirmation that reaches Amazon, accepted or not, is kept as truth: a run
//! checks from it that each order got its tracking exactly once.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use quick_xml::events::Event;
use serde::Serialize;
use serde_json::{Value, json};

use amazon_marketplace::spapi::carriers::CARRIER_CODES;

use super::orders::error;
use super::world::{World, stamp};
use crate::amazon::{Request, Response};

/// Where feed documents live (Amazon's are S3 pre-signed URLs).
pub const DOCUMENT_HOST: &str = "tortuga-prod-na.s3-external-1.amazonaws.com";
/// How long a pre-signed URL is accepted.
const URL_LIFETIME: Duration = Duration::minutes(5);
/// A feed waits this long in Amazon's queue...
const QUEUED: Duration = Duration::seconds(30);
/// ...then takes this long, plus [`PER_MESSAGE`] for each message.
const PROCESSING: Duration = Duration::seconds(20);
const PER_MESSAGE: Duration = Duration::milliseconds(100);

/// One confirmation that reached Amazon.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Attempt {
    /// The tracking number it carried.
    pub tracking_number: String,
    /// Amazon took it.
    pub accepted: bool,
    /// Why Amazon refused it.
    pub refused_because: Option<String>,
    /// `confirmShipment`, or the feed id.
    pub via: String,
    /// When Amazon processed it.
    pub at: DateTime<Utc>,
}

struct Document {
    content_type: String,
    content: Option<Vec<u8>>,
    url_issued_at: DateTime<Utc>,
    /// The content is gzip: getFeedDocument says `compressionAlgorithm: GZIP`.
    gzip: bool,
}

struct SimFeed {
    feed_type: String,
    /// The marketplaces it is applied to: an order of another is not confirmed.
    marketplaces: Vec<String>,
    document_id: String,
    created: DateTime<Utc>,
    done_at: DateTime<Utc>,
    /// `DONE` or `FATAL` once processed, with the report's document id.
    outcome: Option<(&'static str, String)>,
}

/// Amazon's shipping side for one seller.
#[derive(Default)]
pub struct Shipping {
    documents: BTreeMap<String, Document>,
    feeds: BTreeMap<String, SimFeed>,
    serial: u64,
    /// Processing reports are stored gzip-compressed, as Amazon may store them.
    compress_reports: bool,
    /// Every confirmation per order, in order.
    pub attempts: BTreeMap<String, Vec<Attempt>>,
}

/// One package of a confirmation, as either path carries it.
struct Package {
    order_id: String,
    /// Amazon's carrier code, or the carrier's name with `Other`.
    carrier: String,
    /// `carrier` came as a code (not as the name of an Other carrier).
    carrier_is_code: bool,
    service: Option<String>,
    tracking_number: String,
    ship_time: String,
    items: Vec<(String, u64)>,
}

impl Shipping {
    /// From now on every processing report is stored gzip-compressed.
    pub fn compress_reports(&mut self) {
        self.compress_reports = true;
    }

    fn next_id(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// Applies one package to the world and keeps the attempt.
    fn confirm(
        &mut self,
        world: &mut World,
        package: Package,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        // Amazon's list, as the component knows it: one truth for both.
        if package.carrier_is_code && !CARRIER_CODES.contains(&package.carrier.as_str()) {
            return Err(format!(
                "The CarrierCode value must match the options listed in Seller Central exactly: {}",
                package.carrier
            ));
        }
        let json = json!({
            "packageReferenceId": "1",
            "createdTime": stamp(now),
            "packageStatus": {"status": "SHIPPED"},
            "carrier": package.carrier,
            "shipTime": package.ship_time,
            "shippingService": package.service,
            "trackingNumber": package.tracking_number,
            "packageItems": package.items.iter().map(|(id, q)| json!({"orderItemId": id, "quantity": q})).collect::<Vec<_>>(),
        });
        let result = world.ship(&package.order_id, json, &package.items, now);
        self.attempts
            .entry(package.order_id)
            .or_default()
            .push(Attempt {
                tracking_number: package.tracking_number,
                accepted: result.is_ok(),
                refused_because: result.as_ref().err().cloned(),
                via: via.to_owned(),
                at: now,
            });
        result
    }

    /// `POST /orders/v0/orders/{orderId}/shipmentConfirmation`.
    pub fn confirm_shipment(
        &mut self,
        world: &mut World,
        order_id: &str,
        body: &[u8],
        marketplace: &str,
        now: DateTime<Utc>,
    ) -> Response {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidInput", "the body is not JSON");
        };
        if body["marketplaceId"] != marketplace {
            return error(400, "InvalidInput", "marketplaceId is not the order's");
        }
        let detail = &body["packageDetail"];
        let text = |name: &str| detail[name].as_str().map(str::to_owned);
        if !text("packageReferenceId")
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        {
            return error(
                400,
                "InvalidInput",
                "PackageReferenceId: is invalid, must be a positive numeric value.",
            );
        }
        let (carrier, carrier_is_code) = match (text("carrierCode"), text("carrierName")) {
            (Some(code), Some(name)) if code == "Other" => (name, false),
            (Some(code), _) if code != "Other" && !code.is_empty() => (code, true),
            _ => {
                return error(
                    400,
                    "InvalidInput",
                    "a carrier code, or Other with a carrier name, is required",
                );
            }
        };
        let (Some(tracking_number), Some(ship_time)) = (text("trackingNumber"), text("shipDate"))
        else {
            return error(
                400,
                "InvalidInput",
                "trackingNumber and shipDate are required",
            );
        };
        let Some(items) = detail["orderItems"].as_array().map(|items| {
            items
                .iter()
                .map(|i| {
                    (
                        i["orderItemId"].as_str().unwrap_or_default().to_owned(),
                        i["quantity"].as_u64().unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>()
        }) else {
            return error(400, "InvalidInput", "orderItems must be an array");
        };
        if world.order(order_id).is_none() {
            return error(404, "NotFound", format!("order {order_id} was not found"));
        }
        let package = Package {
            order_id: order_id.to_owned(),
            carrier,
            carrier_is_code,
            service: text("shippingMethod"),
            tracking_number,
            ship_time,
            items,
        };
        match self.confirm(world, package, "confirmShipment", now) {
            Ok(()) => Response {
                status: 204,
                headers: Vec::new(),
                body: Vec::new(),
            },
            Err(reason) => error(400, "InvalidInput", reason),
        }
    }

    fn document_url(&mut self, id: &str) -> String {
        let signature = self.next_id();
        format!(
            "https://{DOCUMENT_HOST}/{id}?X-Amz-Expires=300&X-Amz-Signature=sim{signature:016x}"
        )
    }

    /// `POST /feeds/2021-06-30/documents`.
    pub fn create_feed_document(&mut self, body: &[u8], now: DateTime<Utc>) -> Response {
        let content_type = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|b| b["contentType"].as_str().map(str::to_owned));
        let Some(content_type) = content_type.filter(|c| !c.is_empty()) else {
            return json_error(400, "400", "Invalid input");
        };
        let id = format!("amzn1.tortuga.4.na.sim{:08}", self.next_id());
        self.documents.insert(
            id.clone(),
            Document {
                content_type,
                content: None,
                url_issued_at: now,
                gzip: false,
            },
        );
        let url = self.document_url(&id);
        Response::json(201, &json!({"feedDocumentId": id, "url": url}))
    }

    /// A request to the document host: the upload (PUT) of an input document, or
    /// the download (GET) of a report.
    pub fn document_host(
        &mut self,
        request: &Request,
        url: &url::Url,
        now: DateTime<Utc>,
    ) -> Response {
        let id = url.path().trim_start_matches('/');
        let Some(document) = self.documents.get_mut(id) else {
            return s3_error(404, "NoSuchKey", "The specified key does not exist.");
        };
        if now > document.url_issued_at + URL_LIFETIME {
            return s3_error(403, "AccessDenied", "Request has expired");
        }
        match request.method.as_str() {
            "PUT" if document.content.is_none() => {
                if request.header("content-type") != Some(document.content_type.as_str()) {
                    return s3_error(
                        403,
                        "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided.",
                    );
                }
                document.content = Some(request.body.clone());
                Response {
                    status: 200,
                    headers: Vec::new(),
                    body: Vec::new(),
                }
            }
            "GET" if document.content.is_some() => Response {
                status: 200,
                headers: vec![("content-type".into(), document.content_type.clone())],
                body: document.content.clone().unwrap_or_default(),
            },
            _ => s3_error(403, "AccessDenied", "Access Denied"),
        }
    }

    /// `POST /feeds/2021-06-30/feeds` from a seller who sells in `sold_in` (the
    /// marketplaces of the endpoint's region).
    pub fn create_feed(&mut self, body: &[u8], sold_in: &[String], now: DateTime<Utc>) -> Response {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return json_error(400, "InvalidInput", "the body is not JSON");
        };
        let feed_type = body["feedType"].as_str().unwrap_or_default().to_owned();
        let marketplaces: Vec<String> = body["marketplaceIds"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m.as_str().unwrap_or_default().to_owned())
            .collect();
        if feed_type.is_empty() || marketplaces.is_empty() || marketplaces.len() > 25 {
            return json_error(
                400,
                "InvalidInput",
                "feedType and 1 to 25 marketplaceIds are required",
            );
        }
        if !marketplaces
            .iter()
            .all(|m| sold_in.iter().any(|id| m == id))
        {
            return json_error(
                400,
                "InvalidInput",
                "the seller does not sell in that marketplace",
            );
        }
        let document_id = body["inputFeedDocumentId"].as_str().unwrap_or_default();
        let Some(document) = self.documents.get(document_id) else {
            return json_error(400, "InvalidInput", "inputFeedDocumentId was not found");
        };
        let messages = document.content.as_deref().map(count_messages).unwrap_or(0);
        let id = format!("{}", 50_000 + self.next_id());
        self.feeds.insert(
            id.clone(),
            SimFeed {
                feed_type,
                marketplaces,
                document_id: document_id.to_owned(),
                created: now,
                done_at: now + QUEUED + PROCESSING + PER_MESSAGE * messages as i32,
                outcome: None,
            },
        );
        Response::json(202, &json!({"feedId": id}))
    }

    fn feed_json(&self, id: &str, feed: &SimFeed, now: DateTime<Utc>) -> Value {
        let mut value = json!({
            "feedId": id,
            "feedType": feed.feed_type,
            "marketplaceIds": feed.marketplaces,
            "createdTime": stamp(feed.created),
        });
        match &feed.outcome {
            Some((status, report)) => {
                value["processingStatus"] = json!(status);
                value["processingStartTime"] = json!(stamp(feed.created + QUEUED));
                value["processingEndTime"] = json!(stamp(feed.done_at));
                value["resultFeedDocumentId"] = json!(report);
            }
            None if now < feed.created + QUEUED => value["processingStatus"] = json!("IN_QUEUE"),
            None => {
                value["processingStatus"] = json!("IN_PROGRESS");
                value["processingStartTime"] = json!(stamp(feed.created + QUEUED));
            }
        }
        value
    }

    /// `GET /feeds/2021-06-30/feeds/{feedId}`.
    pub fn get_feed(&self, id: &str, now: DateTime<Utc>) -> Response {
        match self.feeds.get(id) {
            Some(feed) => Response::json(200, &self.feed_json(id, feed, now)),
            None => json_error(404, "NotFound", "the feed was not found"),
        }
    }

    /// `GET /feeds/2021-06-30/feeds`, newest first.
    pub fn get_feeds(&self, query: &[(String, String)], now: DateTime<Utc>) -> Response {
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(types) = get("feedTypes") else {
            return json_error(
                400,
                "InvalidInput",
                "feedTypes is required without nextToken",
            );
        };
        let since = match get("createdSince").map(DateTime::parse_from_rfc3339) {
            Some(Ok(at)) => Some(at.to_utc()),
            Some(Err(_)) => {
                return json_error(400, "InvalidInput", "createdSince is not a date-time");
            }
            None => None,
        };
        let mut feeds: Vec<Value> = self
            .feeds
            .iter()
            .filter(|(_, f)| types.split(',').any(|t| t == f.feed_type))
            .filter(|(_, f)| since.is_none_or(|since| f.created >= since))
            .filter(|(_, f)| {
                get("marketplaceIds").is_none_or(|ids| {
                    ids.split(',')
                        .any(|id| f.marketplaces.iter().any(|m| m == id))
                })
            })
            .map(|(id, f)| self.feed_json(id, f, now))
            .collect();
        feeds.reverse();
        Response::json(200, &json!({"feeds": feeds}))
    }

    /// `GET /feeds/2021-06-30/documents/{feedDocumentId}`: a fresh URL to read it.
    pub fn get_feed_document(&mut self, id: &str, now: DateTime<Utc>) -> Response {
        let Some(document) = self.documents.get_mut(id) else {
            return json_error(404, "NotFound", "the document was not found");
        };
        document.url_issued_at = now;
        let gzip = document.gzip;
        let url = self.document_url(id);
        let mut answer = json!({"feedDocumentId": id, "url": url});
        if gzip {
            answer["compressionAlgorithm"] = json!("GZIP");
        }
        Response::json(200, &answer)
    }

    /// Processes the feeds whose time has come: each message is a confirmation, and
    /// the report says which were refused.
    pub fn process_due(&mut self, world: &mut World, now: DateTime<Utc>) {
        let due: Vec<String> = self
            .feeds
            .iter()
            .filter(|(_, f)| f.outcome.is_none() && f.done_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let document_id = self.feeds[&id].document_id.clone();
            let content = self
                .documents
                .get(&document_id)
                .and_then(|d| d.content.clone());
            let parsed = content
                .as_deref()
                .ok_or("the input document was never uploaded".to_owned())
                .and_then(parse_document);
            let (status, report) = match parsed {
                Err(reason) => ("FATAL", fatal_report(&reason)),
                Ok(messages) => {
                    let mut errors = Vec::new();
                    let total = messages.len();
                    let applied_to = self.feeds[&id].marketplaces.clone();
                    for (message_id, package) in messages {
                        let marketplace = world
                            .order(&package.order_id)
                            .map(|o| o.marketplace.clone());
                        let confirmed = match marketplace {
                            Some(m) if !applied_to.contains(&m) => Err(format!(
                                "order {} is not in the marketplaces this feed is applied to",
                                package.order_id
                            )),
                            _ => self.confirm(world, package, &id, now),
                        };
                        if let Err(reason) = confirmed {
                            errors.push((message_id, reason));
                        }
                    }
                    ("DONE", report(total, &errors))
                }
            };
            let report_id = format!("amzn1.tortuga.4.na.sim{:08}", self.next_id());
            let content = if self.compress_reports {
                gzip(report.as_bytes())
            } else {
                report.into_bytes()
            };
            self.documents.insert(
                report_id.clone(),
                Document {
                    content_type: "text/xml".into(),
                    content: Some(content),
                    url_issued_at: now,
                    gzip: self.compress_reports,
                },
            );
            if let Some(feed) = self.feeds.get_mut(&id) {
                feed.done_at = now;
                feed.outcome = Some((status, report_id));
            }
        }
    }
}

/// `bytes` as one gzip member.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

fn json_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"errors": [{"code": code, "message": message, "details": ""}]}),
    )
}

fn s3_error(status: u16, code: &str, message: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/xml".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>").into_bytes(),
    }
}

fn count_messages(content: &[u8]) -> usize {
    String::from_utf8_lossy(content)
        .matches("<Message>")
        .count()
}

/// The messages of an `OrderFulfillment` envelope, by `MessageID`.
fn parse_document(content: &[u8]) -> Result<Vec<(u32, Package)>, String> {
    let text = std::str::from_utf8(content).map_err(|_| "the document is not UTF-8".to_owned())?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut value = String::new();
    let mut message_type = None;
    let mut messages = Vec::new();
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut items: Vec<(String, u64)> = Vec::new();
    let mut item: (String, u64) = Default::default();
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("the XML is ill-formed: {e}"))?
        {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                if path.is_empty() && name != "AmazonEnvelope" {
                    return Err(format!("the root element is {name}, not AmazonEnvelope"));
                }
                if name == "Message" {
                    fields.clear();
                    items.clear();
                }
                path.push(name);
                value.clear();
            }
            Event::Text(t) => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let entity = format!("&{};", r.xml10_content());
                value.push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().cloned().unwrap_or_default();
                let text = value.trim().to_owned();
                match (parent.as_str(), name.as_str()) {
                    ("AmazonEnvelope", "MessageType") => message_type = Some(text),
                    ("Item", "AmazonOrderItemCode") => item.0 = text,
                    ("Item", "Quantity") => item.1 = text.parse().unwrap_or(0),
                    ("OrderFulfillment", "Item") => items.push(std::mem::take(&mut item)),
                    ("AmazonEnvelope", "Message") => {
                        let get = |k: &str| fields.get(k).cloned();
                        let message_id = get("MessageID")
                            .and_then(|m| m.parse().ok())
                            .ok_or("a message has no MessageID")?;
                        let carrier_is_code = get("CarrierCode").is_some();
                        let carrier = get("CarrierCode")
                            .or(get("CarrierName"))
                            .ok_or("a message has no carrier")?;
                        messages.push((
                            message_id,
                            Package {
                                order_id: get("AmazonOrderID")
                                    .ok_or("a message has no AmazonOrderID")?,
                                carrier,
                                carrier_is_code,
                                service: get("ShippingMethod"),
                                tracking_number: get("ShipperTrackingNumber")
                                    .ok_or("a message has no tracking number")?,
                                ship_time: get("FulfillmentDate")
                                    .ok_or("a message has no FulfillmentDate")?,
                                items: std::mem::take(&mut items),
                            },
                        ));
                    }
                    (_, field) if path.iter().any(|p| p == "Message") => {
                        fields.insert(field.to_owned(), text);
                    }
                    _ => {}
                }
                value.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if message_type.as_deref() != Some("OrderFulfillment") {
        return Err("MessageType is not OrderFulfillment".into());
    }
    Ok(messages)
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AmazonEnvelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"amzn-envelope.xsd\"><Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>SIMULATED</MerchantIdentifier></Header><MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport>{body}</ProcessingReport></Message></AmazonEnvelope>"
    )
}

fn report(total: usize, errors: &[(u32, String)]) -> String {
    let results: String = errors
        .iter()
        .map(|(id, reason)| {
            format!(
                "<Result><MessageID>{id}</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode><ResultDescription>{}</ResultDescription></Result>",
                quick_xml::escape::escape(reason.as_str())
            )
        })
        .collect();
    envelope(&format!(
        "<DocumentTransactionID>1</DocumentTransactionID><StatusCode>Complete</StatusCode><ProcessingSummary><MessagesProcessed>{total}</MessagesProcessed><MessagesSuccessful>{}</MessagesSuccessful><MessagesWithError>{}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>{results}",
        total - errors.len(),
        errors.len()
    ))
}

fn fatal_report(reason: &str) -> String {
    envelope(&format!(
        "<DocumentTransactionID>1</DocumentTransactionID><StatusCode>Complete</StatusCode><ProcessingSummary><MessagesProcessed>0</MessagesProcessed><MessagesSuccessful>0</MessagesSuccessful><MessagesWithError>1</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary><Result><MessageID>0</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>5001</ResultMessageCode><ResultDescription>{}</ResultDescription></Result>",
        quick_xml::escape::escape(reason)
    ))
}
