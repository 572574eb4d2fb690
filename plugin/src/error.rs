//! The component's typed errors. They mirror the WIT `error` variant one to one and
//! never carry secrets or buyer PII: Amazon bodies are summarised, never echoed.

use chrono::{DateTime, Utc};

/// An error response from Amazon (SP-API or Login with Amazon).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AmazonError {
    /// The call that failed, e.g. `searchOrders` or `lwa-token`.
    pub operation: String,
    /// HTTP status.
    pub status: u16,
    /// Amazon's error code (`InvalidInput`, `invalid_grant`, ...).
    pub code: String,
    /// Amazon's message.
    pub message: String,
    /// `x-amzn-RequestId`, for Amazon support.
    pub request_id: Option<String>,
}

impl std::fmt::Display for AmazonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} answered {} {}: {}",
            self.operation, self.status, self.code, self.message
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Why an export failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// LWA refused the refresh token: the seller must re-authorize the app.
    #[error("the seller must re-authorize the app: {0}")]
    ReauthorizationRequired(AmazonError),
    /// Amazon answered 403.
    #[error("access denied: {0}")]
    AccessDenied(AmazonError),
    /// The seller is on the Individual selling plan.
    #[error("the seller is on the Individual plan; a Professional selling plan is required")]
    NotProfessionalSeller,
    /// The requested marketplace is not one the seller participates in.
    #[error("the seller does not sell in marketplace {requested}; it participates in: {}", participating.join(", "))]
    MarketplaceNotParticipating {
        /// The marketplace asked for.
        requested: String,
        /// Those the seller is in.
        participating: Vec<String>,
    },
    /// Amazon.co.jp needs the kanji-address setting.
    #[error("the Japanese marketplace requires the kanji-address setting")]
    KanjiAddressesRequired,
    /// Rate limited; call again at `retry_at`.
    #[error("Amazon is throttling; retry at {retry_at}")]
    Throttled {
        /// When the bucket has a token again.
        retry_at: DateTime<Utc>,
    },
    /// A host argument is unusable.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Path of the argument.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Any other Amazon error.
    #[error("{0}")]
    Amazon(AmazonError),
    /// Amazon sent something unusable.
    #[error("malformed {operation} response: {detail}")]
    MalformedResponse {
        /// The call.
        operation: String,
        /// What was wrong (never the body).
        detail: String,
    },
    /// The HTTP exchange failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The key-value store failed.
    #[error("storage error: {0}")]
    Storage(String),
}

impl Error {
    /// An `InvalidInput` for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A `MalformedResponse` for `operation`.
    pub fn malformed(operation: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::MalformedResponse {
            operation: operation.into(),
            detail: detail.into(),
        }
    }
}

/// Describes a JSON decoding failure by kind and position only. serde_json's own
/// message can quote the offending value, which may be buyer data: of a type
/// error only the found type and what the model expects are kept.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match error.classify() {
        Category::Io => "unreadable body".to_owned(),
        Category::Syntax => "not valid JSON".to_owned(),
        Category::Eof => "truncated JSON".to_owned(),
        Category::Data => {
            let text = error.to_string();
            let head = text.split(" at line ").next().unwrap_or_default();
            if head.starts_with("missing field") {
                // "missing field `orderId`" names a field, never a value.
                head.to_owned()
            } else if let Some(rest) = head.strip_prefix("invalid type: ") {
                // "invalid type: string \"Jane\", expected u32": the found type's
                // first word and the expectation, never the value.
                let found = rest.split([' ', ',']).next().unwrap_or("value");
                let expected = rest.rsplit(", expected ").next().unwrap_or("another type");
                format!("a {found} where the model has {expected}")
            } else {
                "a field has an unexpected type or value".to_owned()
            }
        }
    };
    format!("{kind} at line {} column {}", error.line(), error.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Named {
        name: u32,
    }

    #[test]
    fn json_errors_never_quote_values() {
        let error = serde_json::from_str::<Named>(r#"{"name": "Jane Buyer"}"#).unwrap_err();
        let described = describe_json_error(&error);
        assert!(!described.contains("Jane"), "{described}");
        assert!(described.contains("line 1"), "{described}");
    }

    #[test]
    fn json_errors_name_missing_fields_and_truncation() {
        let missing = serde_json::from_str::<Named>("{}").unwrap_err();
        assert!(describe_json_error(&missing).starts_with("missing field `name`"));
        let truncated = serde_json::from_str::<Named>(r#"{"name": 1"#).unwrap_err();
        assert!(describe_json_error(&truncated).starts_with("truncated JSON"));
    }
}
