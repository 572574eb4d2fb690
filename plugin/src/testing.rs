//! A scripted [`Host`] for native tests: answers requests from a queue (checking
//! each is the one expected), keeps storage in a map, and has a settable clock.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, TimeZone, Utc};

use crate::host::{Host, HttpRequest, HttpResponse};
use crate::model::{ConnectionSettings, Credentials, ProductIdentifier, SourceSettings};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

struct Scripted {
    method: &'static str,
    path: String,
    response: HttpResponse,
    /// The request reaches Amazon but its answer is lost on the way back.
    lost: bool,
}

pub struct FakeHost {
    now: Cell<DateTime<Utc>>,
    pub store: RefCell<BTreeMap<String, Vec<u8>>>,
    script: RefCell<VecDeque<Scripted>>,
    pub sent: RefCell<Vec<Sent>>,
    pub failing_writes: Cell<bool>,
    /// When set, this many more writes succeed and every later one fails.
    pub writes_before_failure: Cell<Option<usize>>,
    /// Bytes read from and written to the store so far: what storage work costs.
    pub storage_bytes: Cell<usize>,
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

impl FakeHost {
    pub fn new() -> Self {
        Self {
            now: Cell::new(Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()),
            store: RefCell::default(),
            script: RefCell::default(),
            sent: RefCell::default(),
            failing_writes: Cell::new(false),
            writes_before_failure: Cell::new(None),
            storage_bytes: Cell::new(0),
        }
    }

    pub fn set_now(&self, now: DateTime<Utc>) {
        self.now.set(now);
    }

    /// Queues the answer to the next request, which must be `method` on a URL whose
    /// path (before any query) ends with `path`.
    pub fn expect(&self, method: &'static str, path: &str, status: u16, body: &str) -> &Self {
        self.expect_bytes(method, path, status, body.as_bytes())
    }

    /// Like [`Self::expect`], with a body that need not be text.
    pub fn expect_bytes(
        &self,
        method: &'static str,
        path: &str,
        status: u16,
        body: &[u8],
    ) -> &Self {
        let response = http::Response::builder()
            .status(status)
            .header("x-amzn-RequestId", "test-request-id")
            .body(body.to_vec())
            .unwrap();
        self.script.borrow_mut().push_back(Scripted {
            method,
            path: path.to_owned(),
            response,
            lost: false,
        });
        self
    }

    /// Like [`Self::expect`], but the answer never arrives (the connection drops
    /// after the request was sent).
    pub fn expect_lost(&self, method: &'static str, path: &str) -> &Self {
        self.expect(method, path, 200, "");
        if let Some(last) = self.script.borrow_mut().back_mut() {
            last.lost = true;
        }
        self
    }

    /// Adds a header to the answer queued last.
    pub fn header(&self, name: &'static str, value: &'static str) -> &Self {
        if let Some(last) = self.script.borrow_mut().back_mut() {
            last.response
                .headers_mut()
                .insert(name, http::HeaderValue::from_static(value));
        }
        self
    }

    pub fn expect_token(&self) -> &Self {
        self.expect(
            "POST",
            "/auth/o2/token",
            200,
            r#"{"access_token":"Atza|test","token_type":"bearer","expires_in":3600}"#,
        )
    }

    /// The component's view of `plan`'s bucket now says it is out of tokens.
    pub fn empty_bucket(&self, plan: &crate::spapi::UsagePlan) {
        let store = crate::host::Store::new(self);
        let mut bucket = crate::spapi::pacing::load(&store, plan, self.now());
        bucket.empty(self.now());
        crate::spapi::pacing::save(&store, plan, &bucket).unwrap();
    }

    pub fn unanswered(&self) -> usize {
        self.script.borrow().len()
    }

    pub fn key_exists(&self, key: &str) -> bool {
        self.store.borrow().contains_key(key)
    }
}

impl Host for FakeHost {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let uri = request.uri().to_string();
        self.sent.borrow_mut().push(Sent {
            method: request.method().to_string(),
            uri: uri.clone(),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: String::from_utf8_lossy(request.body()).into_owned(),
        });
        let next = self
            .script
            .borrow_mut()
            .pop_front()
            .ok_or_else(|| format!("unscripted request {} {uri}", request.method()))?;
        if next.method != request.method() || !request.uri().path().ends_with(&next.path) {
            return Err(format!(
                "expected {} ...{}, got {} {uri}",
                next.method,
                next.path,
                request.method()
            ));
        }
        if next.lost {
            return Err("connection reset by peer".into());
        }
        Ok(next.response)
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.get()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let value = self.store.borrow().get(key).cloned();
        let read = value.as_ref().map_or(0, Vec::len);
        self.storage_bytes
            .set(self.storage_bytes.get() + key.len() + read);
        Ok(value)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        if self.failing_writes.get() {
            return Err("database or disk is full".into());
        }
        if let Some(left) = self.writes_before_failure.get() {
            if left == 0 {
                return Err("database or disk is full".into());
            }
            self.writes_before_failure.set(Some(left - 1));
        }
        self.storage_bytes
            .set(self.storage_bytes.get() + key.len() + value.len());
        self.store
            .borrow_mut()
            .insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        self.store.borrow_mut().remove(key);
        Ok(())
    }
}

/// A connection with the US store as its one source.
pub fn us_settings() -> ConnectionSettings {
    ConnectionSettings {
        credentials: Credentials {
            lwa_client_id: "amzn1.application-oa2-client.test".into(),
            lwa_client_secret: "test-secret-value".into(),
            refresh_token: "Atzr|test-refresh-value".into(),
            seller_id: "A3SELLER".into(),
        },
        region: None,
        sandbox: false,
        sources: vec![SourceSettings {
            marketplace_id: "ATVPDKIKX0DER".into(),
            product_identifier: ProductIdentifier::Sku,
            import_fba_orders: false,
            japan_kanji_addresses: false,
            carrier_codes: Vec::new(),
        }],
        read_sources_separately: false,
    }
}

/// An ORDER_CHANGE body as Amazon's schema has it (US, merchant-fulfilled,
/// Unshipped), for `order_id` changed at `changed`.
pub fn order_change(order_id: &str, changed: &str) -> String {
    format!(
        r#"{{"NotificationVersion":"1.0","NotificationType":"ORDER_CHANGE","PayloadVersion":"1.0",
        "EventTime":"2026-11-20T15:00:01.000Z",
        "Payload":{{"OrderChangeNotification":{{"NotificationLevel":"OrderLevel",
          "SellerId":"A3SELLER","AmazonOrderId":"{order_id}","OrderChangeType":"OrderStatusChange",
          "OrderChangeTrigger":{{"TimeOfOrderChange":"{changed}","ChangeReason":"Order status changed"}},
          "Summary":{{"MarketplaceId":"ATVPDKIKX0DER","OrderStatus":"Unshipped",
            "PurchaseDate":"2026-11-20T14:00:00.000Z","DestinationPostalCode":"48110",
            "FulfillmentType":"MFN","OrderType":"StandardOrder",
            "OrderItems":[{{"OrderItemId":"OIID1","SellerSKU":"SKU1","SupplySourceId":"s","Quantity":1}}]}}}}}},
        "NotificationMetadata":{{"ApplicationId":"amzn1.sp.solution.x","SubscriptionId":"sub-1",
          "PublishTime":"2026-11-20T15:00:01.000Z","NotificationId":"n-{order_id}-{changed}"}}}}"#
    )
}
