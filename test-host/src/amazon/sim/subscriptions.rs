//! The Notifications API (v1) as Amazon serves it: destinations belong to the
//! application and are managed with a grantless token; subscriptions belong to
//! one seller's authorisation of the application and are made with the seller's
//! token (deleteSubscriptionById is grantless again). Shapes and codes follow
//! `notifications.json`: 404 for a subscription that is not there, 409 for one
//! made twice, 400 for a request the model forbids.

use serde_json::{Value, json};

use super::orders::error;
use crate::amazon::Response;

/// The notification types the simulator knows (of the model's many, the one the
/// component subscribes to, and one it does not).
const NOTIFICATION_TYPES: [&str; 2] = ["ORDER_CHANGE", "ANY_OFFER_CHANGED"];

/// One destination of an application.
#[derive(Debug, Clone)]
struct Destination {
    application: String,
    id: String,
    name: String,
    arn: String,
}

/// One subscription of a seller's authorisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribed {
    /// The application.
    pub application: String,
    /// The seller's authorisation (its refresh token in the simulator).
    pub seller: String,
    /// The notification type.
    pub notification_type: String,
    /// Amazon's id for it.
    pub id: String,
    /// The destination it delivers to.
    pub destination_id: String,
}

/// Every destination and subscription.
#[derive(Debug, Default)]
pub struct Subscriptions {
    destinations: Vec<Destination>,
    subscriptions: Vec<Subscribed>,
    serial: u64,
}

impl Subscriptions {
    /// The subscription to ORDER_CHANGE, if any seller has one.
    pub fn order_change(&self) -> Option<&Subscribed> {
        self.subscriptions
            .iter()
            .find(|s| s.notification_type == "ORDER_CHANGE")
    }

    fn next_id(&mut self, kind: &str) -> String {
        self.serial += 1;
        format!("{kind}-00000000-0000-4000-a000-{:012}", self.serial)
    }

    /// `getDestinations` for `application`.
    pub fn get_destinations(&self, application: &str) -> Response {
        let payload: Vec<Value> = self
            .destinations
            .iter()
            .filter(|d| d.application == application)
            .map(destination_json)
            .collect();
        Response::json(200, &json!({ "payload": payload }))
    }

    /// `createDestination` for `application`.
    pub fn create_destination(&mut self, application: &str, body: &[u8]) -> Response {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidInput", "The request body is not valid JSON.");
        };
        let name = body["name"].as_str().unwrap_or_default();
        let arn = body["resourceSpecification"]["sqs"]["arn"]
            .as_str()
            .unwrap_or_default();
        let parts: Vec<&str> = arn.split(':').collect();
        let arn_ok = arn.len() <= 1000
            && parts.len() >= 6
            && parts[..3] == ["arn", "aws", "sqs"]
            && parts[3..].iter().all(|p| !p.is_empty());
        if name.is_empty() || name.len() > 256 || !arn_ok {
            return error(
                400,
                "InvalidInput",
                "name and resourceSpecification.sqs.arn (arn:aws:sqs:...) are required",
            );
        }
        if self
            .destinations
            .iter()
            .any(|d| d.application == application && d.arn == arn)
        {
            return error(
                409,
                "Conflict",
                "A destination for this resource already exists.",
            );
        }
        let destination = Destination {
            application: application.to_owned(),
            id: self.next_id("destination"),
            name: name.to_owned(),
            arn: arn.to_owned(),
        };
        let payload = destination_json(&destination);
        self.destinations.push(destination);
        Response::json(200, &json!({ "payload": payload }))
    }

    /// `getSubscription` of `notification_type` for the seller's authorisation.
    pub fn get_subscription(
        &self,
        application: &str,
        seller: &str,
        notification_type: &str,
    ) -> Response {
        if !NOTIFICATION_TYPES.contains(&notification_type) {
            return error(400, "InvalidInput", "Unknown notificationType.");
        }
        match self.find(application, seller, notification_type) {
            Some(subscription) => {
                Response::json(200, &json!({ "payload": subscription_json(subscription) }))
            }
            None => error(404, "NotFound", "The subscription was not found."),
        }
    }

    /// `createSubscription` of `notification_type` for the seller's authorisation.
    pub fn create_subscription(
        &mut self,
        application: &str,
        seller: &str,
        notification_type: &str,
        body: &[u8],
    ) -> Response {
        if !NOTIFICATION_TYPES.contains(&notification_type) {
            return error(400, "InvalidInput", "Unknown notificationType.");
        }
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(400, "InvalidInput", "The request body is not valid JSON.");
        };
        let destination_id = body["destinationId"].as_str().unwrap_or_default();
        if body["payloadVersion"].as_str() != Some("1.0")
            || !self
                .destinations
                .iter()
                .any(|d| d.application == application && d.id == destination_id)
        {
            return error(
                400,
                "InvalidInput",
                "payloadVersion 1.0 and a destinationId of this application are required",
            );
        }
        if self.find(application, seller, notification_type).is_some() {
            return error(
                409,
                "Conflict",
                "A subscription of this type already exists.",
            );
        }
        let subscription = Subscribed {
            application: application.to_owned(),
            seller: seller.to_owned(),
            notification_type: notification_type.to_owned(),
            id: self.next_id("subscription"),
            destination_id: destination_id.to_owned(),
        };
        let payload = subscription_json(&subscription);
        self.subscriptions.push(subscription);
        Response::json(200, &json!({ "payload": payload }))
    }

    /// `deleteSubscriptionById` (grantless: any subscription of the application).
    pub fn delete_subscription(
        &mut self,
        application: &str,
        notification_type: &str,
        id: &str,
    ) -> Response {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|s| {
            !(s.application == application
                && s.notification_type == notification_type
                && s.id == id)
        });
        if self.subscriptions.len() == before {
            return error(404, "NotFound", "The subscription was not found.");
        }
        Response::json(200, &json!({}))
    }

    fn find(
        &self,
        application: &str,
        seller: &str,
        notification_type: &str,
    ) -> Option<&Subscribed> {
        self.subscriptions.iter().find(|s| {
            s.application == application
                && s.seller == seller
                && s.notification_type == notification_type
        })
    }
}

fn destination_json(destination: &Destination) -> Value {
    json!({
        "name": destination.name,
        "destinationId": destination.id,
        "resource": {"sqs": {"arn": destination.arn}},
    })
}

fn subscription_json(subscription: &Subscribed) -> Value {
    json!({
        "subscriptionId": subscription.id,
        "payloadVersion": "1.0",
        "destinationId": subscription.destination_id,
    })
}
