//! `subscribe`: points the seller's ORDER_CHANGE notifications at the host's SQS
//! queue. The destination belongs to the application (grantless calls with the
//! application's own token), the subscription to the seller (the seller's token);
//! each is looked for before it is made, so calling again makes nothing twice.

use serde_json::{Value, json};

use crate::error::Error;
use crate::host::{Host, Store};
use crate::keys::EVENTS_SUBSCRIPTION;
use crate::model::ConnectionSettings;
use crate::spapi::{Operation, SpApi, decode, lwa::Grant};

/// The notification type and payload version the component reads.
const ORDER_CHANGE_PATH: &str = "/notifications/v1/subscriptions/ORDER_CHANGE";
const PAYLOAD_VERSION: &str = "1.0";
/// The name the component gives a destination it creates.
const DESTINATION_NAME: &str = "amazon-marketplace-order-events";

/// The connection's ORDER_CHANGE subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Amazon's subscription id.
    pub subscription_id: String,
    /// The destination it delivers to.
    pub destination_id: String,
    /// Made by this call (false: Amazon had it).
    pub created: bool,
}

/// One call: the destination for `queue_arn`, then the subscription.
pub fn subscribe(
    host: &dyn Host,
    settings: &ConnectionSettings,
    queue_arn: &str,
) -> Result<Subscription, Error> {
    settings.validate()?;
    check_arn(queue_arn)?;
    let application = SpApi::authorize_as(host, settings, Grant::Notifications)?;
    let destination_id = destination_for(&application, queue_arn)?;
    let seller = SpApi::authorize(host, settings)?;
    let existing = seller.get::<Value>(
        Operation::GET_SUBSCRIPTION,
        ORDER_CHANGE_PATH,
        &[("payloadVersion", PAYLOAD_VERSION.to_owned())],
    );
    let (payload, created) = match existing {
        Ok(answer) => (answer, false),
        // Amazon answers 404 when the seller has no subscription of the type.
        Err(Error::Amazon(e)) if e.status == 404 => {
            let body = json!({"payloadVersion": PAYLOAD_VERSION, "destinationId": destination_id});
            let response =
                seller.post_json(Operation::CREATE_SUBSCRIPTION, ORDER_CHANGE_PATH, &body)?;
            (decode::<Value>("createSubscription", &response)?, true)
        }
        Err(e) => return Err(e),
    };
    let operation = if created {
        "createSubscription"
    } else {
        "getSubscription"
    };
    let field = |name: &str| {
        payload
            .pointer(&format!("/payload/{name}"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Error::malformed(operation, format!("the payload has no {name}")))
    };
    let subscription = Subscription {
        subscription_id: field("subscriptionId")?,
        destination_id: field("destinationId")?,
        created,
    };
    Store::new(host).save(EVENTS_SUBSCRIPTION, &subscription.subscription_id)?;
    log::info!(
        "ORDER_CHANGE subscription {} ({})",
        subscription.subscription_id,
        if created { "created" } else { "found" }
    );
    Ok(subscription)
}

/// The application's destination for the queue: found among its destinations,
/// or created.
fn destination_for(application: &SpApi<'_>, queue_arn: &str) -> Result<String, Error> {
    let list: Value = application.get(
        Operation::GET_DESTINATIONS,
        "/notifications/v1/destinations",
        &[],
    )?;
    let Some(destinations) = list.get("payload").and_then(Value::as_array) else {
        return Err(Error::malformed(
            "getDestinations",
            "the payload is not a list of destinations",
        ));
    };
    let found = destinations.iter().find_map(|d| {
        (d.pointer("/resource/sqs/arn").and_then(Value::as_str) == Some(queue_arn))
            .then(|| d.get("destinationId").and_then(Value::as_str))
            .flatten()
    });
    if let Some(id) = found {
        return Ok(id.to_owned());
    }
    let body =
        json!({"name": DESTINATION_NAME, "resourceSpecification": {"sqs": {"arn": queue_arn}}});
    let response = application.post_json(
        Operation::CREATE_DESTINATION,
        "/notifications/v1/destinations",
        &body,
    )?;
    let created: Value = decode("createDestination", &response)?;
    created
        .pointer("/payload/destinationId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::malformed("createDestination", "the payload has no destinationId"))
}

/// An SQS queue ARN, as Amazon's model has it: `arn:aws:sqs:{region}:{account}:{name}`.
fn check_arn(arn: &str) -> Result<(), Error> {
    let parts: Vec<&str> = arn.split(':').collect();
    let well_formed = arn.len() <= 1000
        && parts.len() == 6
        && parts[..3] == ["arn", "aws", "sqs"]
        && parts[3..]
            .iter()
            .all(|p| !p.is_empty() && !p.contains(char::is_whitespace));
    if well_formed {
        Ok(())
    } else {
        Err(Error::invalid(
            "queue-arn",
            "not an Amazon SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeHost, us_settings};

    const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:order-events";

    #[test]
    fn a_destination_and_a_subscription_are_made_once_then_found() {
        let host = FakeHost::new();
        host.expect("POST", "/auth/o2/token", 200, r#"{"access_token":"Atza|app","expires_in":3600}"#)
            .expect("GET", "/notifications/v1/destinations", 200, r#"{"payload":[]}"#)
            .expect(
                "POST",
                "/notifications/v1/destinations",
                200,
                r#"{"payload":{"name":"n","destinationId":"dest-1","resource":{"sqs":{"arn":"x"}}}}"#,
            )
            .expect_token()
            .expect("GET", ORDER_CHANGE_PATH, 404, r#"{"errors":[{"code":"NotFound","message":"none"}]}"#)
            .expect(
                "POST",
                ORDER_CHANGE_PATH,
                200,
                r#"{"payload":{"subscriptionId":"sub-1","payloadVersion":"1.0","destinationId":"dest-1"}}"#,
            );
        let made = subscribe(&host, &us_settings(), ARN).unwrap();
        assert_eq!(made.subscription_id, "sub-1");
        assert!(made.created);
        let sent = host.sent.borrow().clone();
        assert!(sent[0].body.contains("grant_type=client_credentials"));
        assert!(
            sent[0]
                .body
                .contains("scope=sellingpartnerapi%3A%3Anotifications")
        );
        assert!(!sent[0].body.contains("refresh_token"), "a grantless token");
        assert!(sent[2].body.contains(ARN));
        assert!(sent[5].body.contains("\"destinationId\":\"dest-1\""));

        // Again: both are found, nothing is made twice, and the tokens are cached.
        let destinations = format!(
            r#"{{"payload":[{{"name":"n","destinationId":"dest-1","resource":{{"sqs":{{"arn":"{ARN}"}}}}}}]}}"#
        );
        host.expect("GET", "/notifications/v1/destinations", 200, &destinations)
            .expect(
                "GET",
                ORDER_CHANGE_PATH,
                200,
                r#"{"payload":{"subscriptionId":"sub-1","payloadVersion":"1.0","destinationId":"dest-1"}}"#,
            );
        let found = subscribe(&host, &us_settings(), ARN).unwrap();
        assert_eq!(found.subscription_id, "sub-1");
        assert!(!found.created);
        assert_eq!(host.unanswered(), 0);
    }

    #[test]
    fn a_bad_arn_is_refused_before_any_call_and_a_refusal_is_typed() {
        let host = FakeHost::new();
        for arn in [
            "",
            "arn:aws:sns:us-east-1:1:t",
            "arn:aws:sqs:us-east-1:1",
            "arn:aws:sqs:a:b:c d",
        ] {
            let refused = subscribe(&host, &us_settings(), arn).unwrap_err();
            assert!(
                matches!(&refused, Error::InvalidInput { field, .. } if field == "queue-arn"),
                "{arn}: {refused:?}"
            );
        }
        assert!(host.sent.borrow().is_empty());
        host.expect("POST", "/auth/o2/token", 200, r#"{"access_token":"Atza|app","expires_in":3600}"#)
            .expect(
                "GET",
                "/notifications/v1/destinations",
                403,
                r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#,
            );
        let denied = subscribe(&host, &us_settings(), ARN).unwrap_err();
        assert!(matches!(denied, Error::AccessDenied(_)), "{denied:?}");
    }
}
