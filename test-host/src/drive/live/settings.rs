//! A live session's connection settings: the contract's `connection-settings` as
//! JSON in the WIT's names, from a file or the environment, never from the
//! command line. An error names the field, never its value.

use std::path::Path;

use serde_json::Value;

use crate::embed::runtime::bindings as wit;

/// Why the settings cannot be used. Names a field at most, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("the settings file {0} cannot be read: {1}")]
    Unreadable(String, String),
    /// The file is not JSON.
    #[error("the settings file is not JSON (line {line}, column {column})")]
    NotJson {
        /// Where the parser stopped.
        line: usize,
        /// See `line`.
        column: usize,
    },
    /// A field the contract requires is absent.
    #[error("the settings lack {0}")]
    Missing(String),
    /// A field holds the wrong kind of value.
    #[error("the settings' {0} is not {1}")]
    Wrong(String, &'static str),
}

/// The environment variables a session reads when it has no settings file.
pub const ENVIRONMENT: [&str; 5] = [
    "AMAZON_LWA_CLIENT_ID",
    "AMAZON_LWA_CLIENT_SECRET",
    "AMAZON_REFRESH_TOKEN",
    "AMAZON_SELLER_ID",
    "AMAZON_MARKETPLACE_IDS",
];

/// The settings in the file at `path`.
pub fn from_file(path: &Path) -> Result<wit::ConnectionSettings, SettingsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SettingsError::Unreadable(path.display().to_string(), e.kind().to_string()))?;
    from_json(&text)
}

/// The settings in `text`.
pub fn from_json(text: &str) -> Result<wit::ConnectionSettings, SettingsError> {
    let value: Value = serde_json::from_str(text).map_err(|e| SettingsError::NotJson {
        line: e.line(),
        column: e.column(),
    })?;
    let credentials = wit::Credentials {
        lwa_client_id: text_at(&value, "credentials", "lwa-client-id")?,
        lwa_client_secret: text_at(&value, "credentials", "lwa-client-secret")?,
        refresh_token: text_at(&value, "credentials", "refresh-token")?,
        seller_id: text_at(&value, "credentials", "seller-id")?,
    };
    let sources = match value.get("sources") {
        Some(Value::Array(sources)) if !sources.is_empty() => sources
            .iter()
            .enumerate()
            .map(|(index, source)| source_at(source, index))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) | None => return Err(SettingsError::Missing("sources".into())),
        Some(_) => return Err(SettingsError::Wrong("sources".into(), "a list")),
    };
    let region = match value.get("region") {
        None | Some(Value::Null) => None,
        Some(Value::String(region)) => Some(match region.as_str() {
            "north-america" => wit::Region::NorthAmerica,
            "europe" => wit::Region::Europe,
            "far-east" => wit::Region::FarEast,
            _ => {
                return Err(SettingsError::Wrong(
                    "region".into(),
                    "north-america, europe or far-east",
                ));
            }
        }),
        Some(_) => return Err(SettingsError::Wrong("region".into(), "a string")),
    };
    Ok(wit::ConnectionSettings {
        credentials,
        region,
        sandbox: flag(&value, "sandbox", "sandbox")?,
        sources,
        read_sources_separately: flag(
            &value,
            "read-sources-separately",
            "read-sources-separately",
        )?,
    })
}

/// The settings from [`ENVIRONMENT`]: the credentials and a comma-separated
/// list of marketplaces, every other setting at its default.
pub fn from_environment(
    read: impl Fn(&str) -> Option<String>,
) -> Result<wit::ConnectionSettings, SettingsError> {
    let get = |name: &str| read(name).ok_or_else(|| SettingsError::Missing(name.to_owned()));
    let [
        client_id,
        client_secret,
        refresh_token,
        seller_id,
        marketplaces,
    ] = ENVIRONMENT;
    let sources = get(marketplaces)?
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|marketplace| wit::SourceSettings {
            marketplace_id: marketplace.to_owned(),
            product_identifier: wit::ProductIdentifier::Sku,
            import_fba_orders: false,
            japan_kanji_addresses: false,
            carrier_codes: Vec::new(),
        })
        .collect::<Vec<_>>();
    if sources.is_empty() {
        return Err(SettingsError::Missing(marketplaces.to_owned()));
    }
    Ok(wit::ConnectionSettings {
        credentials: wit::Credentials {
            lwa_client_id: get(client_id)?,
            lwa_client_secret: get(client_secret)?,
            refresh_token: get(refresh_token)?,
            seller_id: get(seller_id)?,
        },
        region: None,
        sandbox: false,
        sources,
        read_sources_separately: false,
    })
}

fn text_at(value: &Value, object: &str, field: &str) -> Result<String, SettingsError> {
    let name = format!("{object}.{field}");
    match value.get(object).map(|o| o.get(field)) {
        None => Err(SettingsError::Missing(object.to_owned())),
        Some(None) => Err(SettingsError::Missing(name)),
        Some(Some(Value::String(text))) if !text.is_empty() => Ok(text.clone()),
        Some(Some(Value::String(_))) => Err(SettingsError::Wrong(name, "a non-empty string")),
        Some(Some(_)) => Err(SettingsError::Wrong(name, "a string")),
    }
}

fn flag(value: &Value, field: &str, name: &str) -> Result<bool, SettingsError> {
    match value.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(SettingsError::Wrong(name.to_owned(), "true or false")),
    }
}

fn source_at(source: &Value, index: usize) -> Result<wit::SourceSettings, SettingsError> {
    let name = |field: &str| format!("sources[{index}].{field}");
    let marketplace_id = match source.get("marketplace-id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => {
            return Err(SettingsError::Wrong(
                name("marketplace-id"),
                "a marketplace id",
            ));
        }
        None => return Err(SettingsError::Missing(name("marketplace-id"))),
    };
    let product_identifier = match source.get("product-identifier").and_then(Value::as_str) {
        None | Some("sku") => wit::ProductIdentifier::Sku,
        Some("asin") => wit::ProductIdentifier::Asin,
        Some(_) => {
            return Err(SettingsError::Wrong(
                name("product-identifier"),
                "sku or asin",
            ));
        }
    };
    let carrier_codes = match source.get("carrier-codes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(codes)) => codes
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| SettingsError::Wrong(name("carrier-codes"), "a list of strings"))?,
        Some(_) => return Err(SettingsError::Wrong(name("carrier-codes"), "a list")),
    };
    Ok(wit::SourceSettings {
        marketplace_id,
        product_identifier,
        import_fba_orders: flag(source, "import-fba-orders", &name("import-fba-orders"))?,
        japan_kanji_addresses: flag(
            source,
            "japan-kanji-addresses",
            &name("japan-kanji-addresses"),
        )?,
        carrier_codes,
    })
}

/// `settings` as a settings file holds them (what `serve --cert-out` writes).
pub fn to_json(settings: &wit::ConnectionSettings) -> Value {
    crate::drive::wit_json::in_wit_names(
        serde_json::to_value(settings).unwrap_or(Value::Null),
        crate::drive::wit_json::settings_type().as_ref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-value";

    fn file(credentials: &str) -> String {
        format!(
            r#"{{"credentials": {credentials}, "sources": [{{"marketplace-id": "ATVPDKIKX0DER"}}]}}"#
        )
    }

    #[test]
    fn a_complete_file_reads_with_defaults_for_the_rest() {
        let settings = from_json(&file(&format!(
            r#"{{"lwa-client-id": "app", "lwa-client-secret": "{SECRET}", "refresh-token": "Atzr|t", "seller-id": "A1"}}"#
        )))
        .unwrap();
        assert_eq!(settings.credentials.lwa_client_secret, SECRET);
        assert_eq!(settings.sources[0].marketplace_id, "ATVPDKIKX0DER");
        assert!(!settings.sandbox && settings.region.is_none());
    }

    #[test]
    fn every_error_names_the_field_and_never_the_value() {
        let cases = [
            ("{ not json", "not JSON"),
            (r#"{"sources": []}"#.to_owned().leak() as &str, "lack credentials"),
            (
                file(&format!(r#"{{"lwa-client-id": "app", "lwa-client-secret": "{SECRET}", "seller-id": "A1"}}"#)).leak(),
                "lack credentials.refresh-token",
            ),
            (
                file(&format!(r#"{{"lwa-client-id": "app", "lwa-client-secret": 7, "refresh-token": "{SECRET}", "seller-id": "A1"}}"#)).leak(),
                "credentials.lwa-client-secret is not a string",
            ),
        ];
        for (text, expected) in cases {
            let error = from_json(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains(SECRET), "{error}");
        }
        let missing = from_file(Path::new("/nonexistent/settings.json")).unwrap_err();
        assert!(missing.to_string().contains("cannot be read"), "{missing}");
    }

    #[test]
    fn the_environment_gives_credentials_and_marketplaces() {
        let env = |name: &str| match name {
            "AMAZON_MARKETPLACE_IDS" => Some("A1F83G8C2ARO7P, A1PA6795UKMFR9".to_owned()),
            other => Some(format!("{other}-value")),
        };
        let settings = from_environment(env).unwrap();
        assert_eq!(settings.sources.len(), 2);
        assert_eq!(settings.credentials.seller_id, "AMAZON_SELLER_ID-value");
        let error = from_environment(|_| None).unwrap_err();
        assert_eq!(
            error,
            SettingsError::Missing("AMAZON_MARKETPLACE_IDS".into())
        );
    }

    #[test]
    fn what_serve_writes_reads_back() {
        let settings = crate::drive::scenario::Settings::simulated("ATVPDKIKX0DER").to_wit();
        let text = to_json(&settings).to_string();
        assert!(text.contains("\"refresh-token\""), "{text}");
        let again = from_json(&text).unwrap();
        assert_eq!(
            again.credentials.refresh_token,
            settings.credentials.refresh_token
        );
        assert_eq!(again.sources[0].marketplace_id, "ATVPDKIKX0DER");
    }
}
