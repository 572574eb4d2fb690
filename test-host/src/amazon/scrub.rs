//! What a recording must not keep, replaced on the way into a HAR file:
//! credentials (access, refresh and restricted-data tokens, the client secret,
//! the LWA form's secret fields, the signature of a pre-signed URL) and every
//! buyer value, found at the paths Amazon's models give the buyer's fields
//! (`fixtures/pii-paths.json`, made from the models by `fixtures/pii_paths.py`).
//!
//! A value becomes the same placeholder wherever it recurs in the file, so a URL
//! Amazon handed out matches the request that uses it, and an order read twice
//! reads the same: the recording replays strictly.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

/// What replaces a credential (replay ignores credential values).
pub const REDACTED: &str = "(redacted)";
/// Login with Amazon's form fields that hold credentials.
const SECRET_FORM_FIELDS: [&str; 3] = ["client_secret", "refresh_token", "code"];
/// JSON members that hold credentials (LWA's answer, the Tokens API's).
const SECRET_MEMBERS: [&str; 4] = [
    "access_token",
    "refresh_token",
    "client_secret",
    "restrictedDataToken",
];
/// Headers that hold credentials.
const SECRET_HEADERS: [&str; 3] = [
    "x-amz-access-token",
    "authorization",
    "x-amz-security-token",
];
/// Query parameters of a pre-signed URL that are credentials for its lifetime.
const SIGNATURE_PARAMETERS: [&str; 3] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
];

/// Where buyer values sit in Amazon's answers: member names from the root,
/// arrays left out.
const PII_PATHS: &str = include_str!("../../../fixtures/pii-paths.json");

/// Replaces secrets and buyer values, consistently across one recording.
pub struct Scrubber {
    pii_paths: BTreeSet<String>,
    /// Each original value and its placeholder.
    placeholders: HashMap<String, String>,
    /// How many placeholders each field has handed out.
    serials: BTreeMap<String, usize>,
}

impl Default for Scrubber {
    fn default() -> Self {
        Self::new()
    }
}

impl Scrubber {
    /// A scrubber with nothing replaced yet.
    pub fn new() -> Self {
        let pii_paths: Vec<String> =
            serde_json::from_str(PII_PATHS).expect("fixtures/pii-paths.json is a list of paths");
        Self {
            pii_paths: pii_paths.into_iter().collect(),
            placeholders: HashMap::new(),
            serials: BTreeMap::new(),
        }
    }

    /// Each original value replaced so far, with its placeholder.
    pub fn placeholders(&self) -> &HashMap<String, String> {
        &self.placeholders
    }

    /// The header's value as the recording keeps it.
    pub fn header(&mut self, name: &str, value: &str) -> String {
        if SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            REDACTED.into()
        } else {
            value.to_owned()
        }
    }

    /// The URL with a pre-signed URL's credentials replaced.
    pub fn url(&mut self, url: &str) -> String {
        let Ok(mut parsed) = url::Url::parse(url) else {
            return url.to_owned();
        };
        if !parsed
            .query_pairs()
            .any(|(k, _)| SIGNATURE_PARAMETERS.contains(&k.as_ref()))
        {
            return url.to_owned();
        }
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let value = if SIGNATURE_PARAMETERS.contains(&k.as_ref()) {
                    self.placeholder(&k, &v)
                } else {
                    v.into_owned()
                };
                (k.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
        parsed.to_string()
    }

    /// A form body with its secret fields replaced.
    pub fn form(&mut self, text: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(text.as_bytes()).map(|(k, v)| {
                let value = if SECRET_FORM_FIELDS.contains(&k.as_ref()) {
                    REDACTED.into()
                } else {
                    v
                };
                (k, value)
            }))
            .finish()
    }

    /// A text body as the recording keeps it: JSON scrubbed member by member,
    /// anything else as it is.
    pub fn text(&mut self, body: &str) -> String {
        match serde_json::from_str::<Value>(body) {
            Ok(mut value @ (Value::Object(_) | Value::Array(_))) => {
                self.json(&mut value, &mut Vec::new());
                value.to_string()
            }
            _ => body.to_owned(),
        }
    }

    fn json(&mut self, value: &mut Value, path: &mut Vec<String>) {
        match value {
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    path.push(key.clone());
                    if SECRET_MEMBERS.contains(&key.as_str()) {
                        *member = Value::String(REDACTED.into());
                    } else if self.pii_paths.contains(&path.join(".")) {
                        self.buyer_value(key, member);
                    } else {
                        self.json(member, path);
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.json(item, path);
                }
            }
            // Amazon hands out pre-signed URLs in answers (feed documents).
            Value::String(text) if text.starts_with("https://") => {
                *text = self.url(text);
            }
            _ => {}
        }
    }

    /// Every string under a buyer field becomes its placeholder.
    fn buyer_value(&mut self, field: &str, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.placeholder(field, text),
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    self.buyer_value(key, member);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.buyer_value(field, item);
                }
            }
            _ => {}
        }
    }

    /// The placeholder of `original`, the same wherever it recurs.
    fn placeholder(&mut self, field: &str, original: &str) -> String {
        if original.is_empty() {
            return String::new();
        }
        if let Some(known) = self.placeholders.get(original) {
            return known.clone();
        }
        let serial = self.serials.entry(field.to_owned()).or_default();
        *serial += 1;
        let placeholder = format!("redacted-{field}-{serial}");
        self.placeholders
            .insert(original.to_owned(), placeholder.clone());
        placeholder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyer_values_become_placeholders_the_same_wherever_they_recur() {
        let mut scrubber = Scrubber::new();
        let page = r#"{"orders":[{"orderId":"111-1","buyer":{"buyerName":"Ada Lovelace","buyerEmail":"ada@marketplace.amazon.com"},
            "recipient":{"deliveryAddress":{"name":"Ada Lovelace","addressLine1":"1 Analytical Way","city":"London","postalCode":"N1 9GU","extendedFields":{"streetName":"Analytical Way"}}},
            "orderItems":[{"product":{"title":"Lamp","customization":{"customizedUrl":"https://www.amazon.com/custom/1"}},
            "fulfillment":{"packing":{"giftOption":{"giftMessage":"For you"}}}}]}]}"#;
        let text = scrubber.text(page);
        for original in [
            "Ada Lovelace",
            "ada@",
            "1 Analytical Way",
            "N1 9GU",
            "Analytical Way",
            "custom/1",
            "For you",
        ] {
            assert!(!text.contains(original), "{original}: {text}");
        }
        // What is not the buyer's stays: the order, the city, the product.
        for kept in ["111-1", "London", "Lamp"] {
            assert!(text.contains(kept), "{kept}: {text}");
        }
        let value: Value = serde_json::from_str(&text).unwrap();
        let order = &value["orders"][0];
        assert_eq!(
            order["buyer"]["buyerName"], order["recipient"]["deliveryAddress"]["name"],
            "one value, one placeholder"
        );
        assert_ne!(order["buyer"]["buyerName"], order["buyer"]["buyerEmail"]);
        // The same value in a later answer reads the same.
        let again = scrubber.text(r#"{"order":{"buyer":{"buyerName":"Ada Lovelace"}}}"#);
        assert!(again.contains(order["buyer"]["buyerName"].as_str().unwrap()));
    }

    #[test]
    fn credentials_and_signatures_never_stay() {
        let mut scrubber = Scrubber::new();
        let token = scrubber.text(
            r#"{"access_token":"Atza|secret","refresh_token":"Atzr|secret","expires_in":3600}"#,
        );
        assert!(
            !token.contains("secret") && token.contains("3600"),
            "{token}"
        );
        let form = scrubber.form(
            "grant_type=refresh_token&refresh_token=Atzr%7Cs&client_id=app&client_secret=shh",
        );
        assert!(!form.contains("Atzr") && !form.contains("shh") && form.contains("client_id=app"));
        assert_eq!(scrubber.header("X-Amz-Access-Token", "Atza|t"), REDACTED);
        assert_eq!(scrubber.header("user-agent", "ua"), "ua");
        // Amazon's error codes are not LWA's authorization code.
        let refused = scrubber.text(r#"{"errors":[{"code":"InvalidInput","message":"m"}]}"#);
        assert!(refused.contains("InvalidInput"), "{refused}");
        let url = "https://tortuga-prod-na.s3-external-1.amazonaws.com/doc?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123";
        let answer = scrubber.text(&format!(r#"{{"feedDocumentId":"d","url":"{url}"}}"#));
        assert!(
            !answer.contains("abc123") && !answer.contains("AKIA"),
            "{answer}"
        );
        // The request that uses the URL later matches the scrubbed answer.
        let request = scrubber.url(url);
        assert!(answer.contains(&request), "{answer} / {request}");
        assert!(request.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    }

    #[test]
    fn every_path_is_one_amazon_s_models_define() {
        let scrubber = Scrubber::new();
        assert!(scrubber.pii_paths.len() > 50);
        assert!(scrubber.pii_paths.contains("orders.buyer.buyerName"));
        assert!(
            scrubber
                .pii_paths
                .contains("payload.Orders.ShippingAddress.Name")
        );
        assert!(!scrubber.pii_paths.contains("orders.orderId"));
    }
}
