//! `connect`: verify the seller and the chosen order sources (marketplaces).

use crate::error::Error;
use crate::host::Host;
use crate::model::{
    Capabilities, Connection, ConnectionSettings, Marketplace, SellingPlan, StoreInfo,
};
use crate::spapi::sellers::{
    ACCOUNT_PATH, AccountResponse, PARTICIPATIONS_PATH, Participation, ParticipationsResponse,
};
use crate::spapi::{Operation, SpApi};

/// Verifies credentials, every source's marketplace participation and (where
/// Amazon allows) the selling plan, and describes each source's store.
pub fn connect(host: &dyn Host, settings: &ConnectionSettings) -> Result<Connection, Error> {
    // A settings problem is reported before any Amazon call is spent on it.
    settings.validate_for_orders()?;
    let api = SpApi::authorize(host, settings)?;

    let response: ParticipationsResponse = api.get(
        Operation::MARKETPLACE_PARTICIPATIONS,
        PARTICIPATIONS_PATH,
        &[],
    )?;
    let participations = response.payload.ok_or_else(|| {
        Error::malformed(Operation::MARKETPLACE_PARTICIPATIONS.name, "no payload")
    })?;
    let is_source = |id: &str| settings.sources.iter().any(|s| s.marketplace_id == id);
    let mut stores = Vec::new();
    let mut marketplaces = Vec::new();
    for participation in participations {
        if !participation.participation.is_participating {
            continue;
        }
        let id = participation.marketplace.id.clone();
        let (store_name, marketplace) = match to_marketplace(participation) {
            Ok(found) => found,
            // Another marketplace Amazon describes incompletely is left out of the
            // list; only the sources' own must be complete.
            Err(e) if !is_source(&id) => {
                log::warn!("marketplace {id} left out: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        if is_source(&marketplace.id) {
            stores.push(StoreInfo {
                store_name,
                marketplace: marketplace.clone(),
            });
        }
        marketplaces.push(marketplace);
    }
    let mut sources = Vec::new();
    for source in &settings.sources {
        let found = stores
            .iter()
            .find(|s| s.marketplace.id == source.marketplace_id);
        let Some(store) = found else {
            return Err(Error::MarketplaceNotParticipating {
                requested: source.marketplace_id.clone(),
                participating: marketplaces.into_iter().map(|m| m.id).collect(),
            });
        };
        sources.push(store.clone());
    }

    let selling_plan = selling_plan(&api)?;
    log::info!(
        "connected seller to {} order sources ({} marketplaces)",
        sources.len(),
        marketplaces.len()
    );
    Ok(Connection {
        seller_id: settings.credentials.seller_id.clone(),
        sources,
        marketplaces,
        selling_plan,
        capabilities: Capabilities::AMAZON,
    })
}

/// Reads the selling plan from getAccount. The app may lack access to account
/// details (403/404): then the plan is `Unverified`, not an error.
fn selling_plan(api: &SpApi<'_>) -> Result<SellingPlan, Error> {
    let account: AccountResponse = match api.get(Operation::ACCOUNT, ACCOUNT_PATH, &[]) {
        Ok(account) => account,
        Err(Error::AccessDenied(_)) => return Ok(SellingPlan::Unverified),
        Err(Error::Amazon(e)) if e.status == 404 => return Ok(SellingPlan::Unverified),
        Err(e) => return Err(e),
    };
    match account.payload.and_then(|a| a.selling_plan).as_deref() {
        Some("PROFESSIONAL") => Ok(SellingPlan::Professional),
        Some("INDIVIDUAL") => Err(Error::NotProfessionalSeller),
        _ => Ok(SellingPlan::Unverified),
    }
}

/// Checks the fields the host relies on: id, name, country and domain.
fn to_marketplace(participation: Participation) -> Result<(String, Marketplace), Error> {
    let operation = Operation::MARKETPLACE_PARTICIPATIONS.name;
    let wire = participation.marketplace;
    let required = |value: Option<String>, field: &str| {
        value.filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::malformed(operation, format!("marketplace {} has no {field}", wire.id))
        })
    };
    let marketplace = Marketplace {
        name: required(wire.name.clone(), "name")?,
        country_code: required(wire.country_code.clone(), "countryCode")?,
        domain: required(wire.domain_name.clone(), "domainName")?,
        currency_code: wire.default_currency_code.clone(),
        language_code: wire.default_language_code.clone(),
        has_suspended_listings: participation.participation.has_suspended_listings,
        id: wire.id,
    };
    let store_name = participation.store_name.unwrap_or_default();
    Ok((store_name, marketplace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spapi::marketplaces::Region;
    use crate::testing::{FakeHost, us_settings};

    const US_AND_CA: &str = r#"{"payload":[
        {"marketplace":{"id":"ATVPDKIKX0DER","countryCode":"US","name":"Amazon.com","defaultCurrencyCode":"USD","defaultLanguageCode":"en_US","domainName":"www.amazon.com"},
         "storeName":"Shop","participation":{"isParticipating":true,"hasSuspendedListings":false}},
        {"marketplace":{"id":"A2EUQ1WTGCTBG2","countryCode":"CA","name":"Amazon.ca","defaultCurrencyCode":"CAD","defaultLanguageCode":"en_CA","domainName":"www.amazon.ca"},
         "storeName":"Shop CA","participation":{"isParticipating":true,"hasSuspendedListings":false}},
        {"marketplace":{"id":"A1AM78C64UM0Y8","countryCode":"MX","name":"Amazon.com.mx","domainName":"www.amazon.com.mx"},
         "storeName":"Shop MX","participation":{"isParticipating":false,"hasSuspendedListings":false}}]}"#;

    fn account(plan: &str) -> String {
        format!(r#"{{"payload":{{"sellingPlan":"{plan}","marketplaceParticipationList":[]}}}}"#)
    }

    trait ExpectConnect {
        /// Scripts getMarketplaceParticipations: US and CA, MX not participating.
        fn expect_participations(&self) -> &Self;

        /// Scripts the two Sellers calls of a connect: US and CA participations, then
        /// an account on `plan`.
        fn expect_connect(&self, plan: &str) -> &Self;
    }

    impl ExpectConnect for FakeHost {
        fn expect_participations(&self) -> &Self {
            self.expect(
                "GET",
                "/sellers/v1/marketplaceParticipations",
                200,
                US_AND_CA,
            )
        }

        fn expect_connect(&self, plan: &str) -> &Self {
            self.expect(
                "GET",
                "/sellers/v1/marketplaceParticipations",
                200,
                US_AND_CA,
            )
            .expect("GET", "/sellers/v1/account", 200, &account(plan))
        }
    }

    #[test]
    fn connects_each_unified_marketplace_as_its_own_store() {
        let host = FakeHost::new();
        host.expect_token().expect_connect("PROFESSIONAL");
        let mut settings = us_settings();
        settings.sources[0].marketplace_id = "A2EUQ1WTGCTBG2".into();
        let connection = connect(&host, &settings).unwrap();
        assert_eq!(connection.sources[0].store_name, "Shop CA");
        assert_eq!(
            connection.sources[0].marketplace.currency_code.as_deref(),
            Some("CAD")
        );
        let ids: Vec<_> = connection
            .marketplaces
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
            "non-participating MX is left out"
        );
        assert_eq!(connection.selling_plan, SellingPlan::Professional);
        assert!(connection.capabilities.marketplace_emails_buyer);
        assert_eq!(host.unanswered(), 0);
    }

    /// A connection of the US store and `others`, each a source like the US one.
    fn with_sources(others: &[&str]) -> ConnectionSettings {
        let mut settings = us_settings();
        let template = settings.sources[0].clone();
        for id in others {
            let mut source = template.clone();
            source.marketplace_id = id.to_string();
            settings.sources.push(source);
        }
        settings
    }

    #[test]
    fn one_connect_verifies_every_source_and_names_the_first_that_is_not_the_seller_s() {
        let host = FakeHost::new();
        host.expect_token().expect_connect("PROFESSIONAL");
        let connection = connect(&host, &with_sources(&["A2EUQ1WTGCTBG2"])).unwrap();
        let stores: Vec<_> = connection
            .sources
            .iter()
            .map(|s| (s.store_name.as_str(), s.marketplace.id.as_str()))
            .collect();
        assert_eq!(
            stores,
            [("Shop", "ATVPDKIKX0DER"), ("Shop CA", "A2EUQ1WTGCTBG2")]
        );
        assert_eq!(connection.seller_id, "A3SELLER");

        let host = FakeHost::new();
        host.expect_token().expect_participations();
        match connect(&host, &with_sources(&["A1AM78C64UM0Y8", "A2EUQ1WTGCTBG2"])) {
            Err(Error::MarketplaceNotParticipating { requested, .. }) => {
                assert_eq!(requested, "A1AM78C64UM0Y8")
            }
            other => panic!("{other:?}"),
        }
        // Two regions, or one marketplace twice, are refused before any call.
        let host = FakeHost::new();
        for wrong in [
            with_sources(&["A1PA6795UKMFR9"]),
            with_sources(&["ATVPDKIKX0DER"]),
        ] {
            match connect(&host, &wrong) {
                Err(Error::InvalidInput { field, .. }) => {
                    assert_eq!(field, "settings.sources[1].marketplace-id")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(host.sent.borrow().is_empty());
    }

    #[test]
    fn another_marketplace_described_incompletely_is_left_out_not_fatal() {
        let incomplete = US_AND_CA.replace(r#","domainName":"www.amazon.ca""#, "");
        let host = FakeHost::new();
        host.expect_token()
            .expect(
                "GET",
                "/sellers/v1/marketplaceParticipations",
                200,
                &incomplete,
            )
            .expect("GET", "/sellers/v1/account", 200, &account("PROFESSIONAL"));
        let connection = connect(&host, &us_settings()).unwrap();
        let ids: Vec<_> = connection
            .marketplaces
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(ids, ["ATVPDKIKX0DER"]);

        // The store's own marketplace must be complete.
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            "/sellers/v1/marketplaceParticipations",
            200,
            &incomplete,
        );
        let mut canada = us_settings();
        canada.sources[0].marketplace_id = "A2EUQ1WTGCTBG2".into();
        assert!(matches!(
            connect(&host, &canada),
            Err(Error::MalformedResponse { .. })
        ));
    }

    #[test]
    fn lwa_request_is_form_encoded_and_secrets_stay_out_of_storage() {
        let host = FakeHost::new();
        host.expect_token().expect_connect("PROFESSIONAL");
        connect(&host, &us_settings()).unwrap();
        let sent = host.sent.borrow();
        let token_request = &sent[0];
        assert_eq!(token_request.method, "POST");
        assert_eq!(token_request.uri, "https://api.amazon.com/auth/o2/token");
        assert!(token_request.body.contains("grant_type=refresh_token"));
        assert!(
            token_request
                .body
                .contains("refresh_token=Atzr%7Ctest-refresh-value")
        );
        let api_request = &sent[1];
        assert!(
            api_request
                .uri
                .starts_with("https://sellingpartnerapi-na.amazon.com/")
        );
        assert!(
            api_request
                .headers
                .iter()
                .any(|(k, v)| k == "x-amz-access-token" && v == "Atza|test")
        );
        for (key, value) in host.store.borrow().iter() {
            let value = String::from_utf8_lossy(value);
            assert!(
                !value.contains("test-secret-value") && !value.contains("Atzr|"),
                "{key} leaks a secret"
            );
        }
    }

    #[test]
    fn a_cached_access_token_is_reused_until_shortly_before_expiry() {
        let host = FakeHost::new();
        host.expect_token()
            .expect_connect("PROFESSIONAL")
            .expect_connect("PROFESSIONAL");
        connect(&host, &us_settings()).unwrap();
        host.set_now(host.now() + chrono::Duration::minutes(50));
        connect(&host, &us_settings()).unwrap();
        assert_eq!(
            host.unanswered(),
            0,
            "the second connect must not ask LWA again"
        );

        host.set_now(host.now() + chrono::Duration::minutes(9));
        host.expect_token().expect_connect("PROFESSIONAL");
        connect(&host, &us_settings()).unwrap();
        assert_eq!(
            host.unanswered(),
            0,
            "a token with < 2 minutes left is refreshed"
        );
    }

    #[test]
    fn invalid_grant_asks_for_reauthorization() {
        let host = FakeHost::new();
        host.expect(
            "POST",
            "/auth/o2/token",
            400,
            r#"{"error_description":"The request has an invalid grant parameter : refresh_token","error":"invalid_grant"}"#,
        );
        match connect(&host, &us_settings()) {
            Err(Error::ReauthorizationRequired(e)) => {
                assert_eq!(e.code, "invalid_grant");
                assert_eq!(e.operation, "lwa-token");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forbidden_is_access_denied() {
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            "/sellers/v1/marketplaceParticipations",
            403,
            r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]}"#,
        );
        match connect(&host, &us_settings()) {
            Err(Error::AccessDenied(e)) => {
                assert_eq!((e.status, e.code.as_str()), (403, "Unauthorized"));
                assert_eq!(e.request_id.as_deref(), Some("test-request-id"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_marketplace_the_seller_is_not_in_lists_those_it_is_in() {
        let host = FakeHost::new();
        host.expect_token().expect_participations();
        let mut settings = us_settings();
        settings.sources[0].marketplace_id = "A1AM78C64UM0Y8".into();
        assert_eq!(
            connect(&host, &settings),
            Err(Error::MarketplaceNotParticipating {
                requested: "A1AM78C64UM0Y8".into(),
                participating: vec!["ATVPDKIKX0DER".into(), "A2EUQ1WTGCTBG2".into()],
            })
        );
    }

    #[test]
    fn individual_plan_is_refused_and_an_unreadable_plan_is_unverified() {
        let host = FakeHost::new();
        host.expect_token().expect_connect("INDIVIDUAL");
        assert_eq!(
            connect(&host, &us_settings()),
            Err(Error::NotProfessionalSeller)
        );

        host.expect(
            "GET",
            "/sellers/v1/marketplaceParticipations",
            200,
            US_AND_CA,
        )
        .expect(
            "GET",
            "/sellers/v1/account",
            403,
            r#"{"errors":[{"code":"Unauthorized","message":"denied"}]}"#,
        );
        assert_eq!(
            connect(&host, &us_settings()).unwrap().selling_plan,
            SellingPlan::Unverified
        );
    }

    #[test]
    fn japan_needs_the_kanji_setting_before_any_call() {
        let host = FakeHost::new();
        let mut settings = us_settings();
        settings.sources[0].marketplace_id = "A1VC38T7YXB528".into();
        assert_eq!(
            connect(&host, &settings),
            Err(Error::KanjiAddressesRequired)
        );
        assert!(host.sent.borrow().is_empty());
    }

    #[test]
    fn truncated_and_incomplete_answers_are_malformed_responses() {
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            "/sellers/v1/marketplaceParticipations",
            200,
            &US_AND_CA[..200],
        );
        assert!(matches!(
            connect(&host, &us_settings()),
            Err(Error::MalformedResponse { ref operation, ref detail })
                if operation == "getMarketplaceParticipations" && detail.starts_with("truncated JSON")
        ));
        let host = FakeHost::new();
        host.expect_token().expect(
            "GET",
            "/sellers/v1/marketplaceParticipations",
            200,
            r#"{"payload":[{"marketplace":{"id":"ATVPDKIKX0DER"},"storeName":"S","participation":{"isParticipating":true}}]}"#,
        );
        assert!(matches!(
            connect(&host, &us_settings()),
            Err(Error::MalformedResponse { .. })
        ));
    }

    #[test]
    fn settings_are_checked_before_any_call() {
        let host = FakeHost::new();
        let mut settings = us_settings();
        settings.credentials.refresh_token = " ".into();
        assert!(matches!(
            connect(&host, &settings),
            Err(Error::InvalidInput { ref field, .. }) if field == "settings.credentials.refresh-token"
        ));
        let mut settings = us_settings();
        settings.region = Some(Region::Europe);
        assert!(
            matches!(connect(&host, &settings), Err(Error::InvalidInput { ref field, .. }) if field == "settings.region")
        );
        let mut settings = us_settings();
        settings.sources[0].marketplace_id = "A2FUTUREMARKET".into();
        assert!(matches!(
            connect(&host, &settings),
            Err(Error::InvalidInput { .. })
        ));
        assert!(host.sent.borrow().is_empty());
    }
}
