//! Sellers API v1 wire types: getMarketplaceParticipations and getAccount. Parsed
//! leniently (Amazon's own getAccount example omits "required" marketplace fields);
//! what the component relies on is checked when mapping.

use serde::Deserialize;

/// `GET /sellers/v1/marketplaceParticipations`.
pub const PARTICIPATIONS_PATH: &str = "/sellers/v1/marketplaceParticipations";
/// `GET /sellers/v1/account`.
pub const ACCOUNT_PATH: &str = "/sellers/v1/account";

/// getMarketplaceParticipations response.
#[derive(Debug, Deserialize)]
pub struct ParticipationsResponse {
    /// The participations; absent only in malformed responses.
    pub payload: Option<Vec<Participation>>,
}

/// One marketplace participation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    /// The marketplace.
    pub marketplace: WireMarketplace,
    /// Store name there.
    #[serde(default)]
    pub store_name: Option<String>,
    /// Participation flags.
    pub participation: ParticipationFlags,
}

/// Sellers API `Marketplace`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMarketplace {
    /// Marketplace id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Currency.
    #[serde(default)]
    pub default_currency_code: Option<String>,
    /// Language.
    #[serde(default)]
    pub default_language_code: Option<String>,
    /// Domain.
    #[serde(default)]
    pub domain_name: Option<String>,
}

/// Sellers API `Participation`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipationFlags {
    /// Sells there.
    pub is_participating: bool,
    /// Listings inactive.
    #[serde(default)]
    pub has_suspended_listings: bool,
}

/// getAccount response; only the selling plan matters here.
#[derive(Debug, Deserialize)]
pub struct AccountResponse {
    /// The account.
    pub payload: Option<Account>,
}

/// Sellers API `Account`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// `PROFESSIONAL` or `INDIVIDUAL`.
    #[serde(default)]
    pub selling_plan: Option<String>,
}
