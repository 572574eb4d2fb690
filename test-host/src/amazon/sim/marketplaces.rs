//! The simulator's own marketplace table, written from Amazon's Endpoints and
//! Marketplace IDs pages (spapi-reference.md §1), not from the component's: which
//! region serves each marketplace, and what its orders look like (currency, site,
//! and a plausible delivery city for generated buyers).

/// An SP-API region, named by its endpoint's host (`sellingpartnerapi-na` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Region {
    /// North America: US, CA, MX, BR.
    NorthAmerica,
    /// Europe, the Middle East, India and South Africa.
    Europe,
    /// Far East: JP, AU, SG.
    FarEast,
}

impl Region {
    /// The region an SP-API host serves (sandbox hosts included), if it is one.
    pub fn of_host(host: &str) -> Option<Self> {
        let host = host.strip_prefix("sandbox.").unwrap_or(host);
        match host {
            "sellingpartnerapi-na.amazon.com" => Some(Self::NorthAmerica),
            "sellingpartnerapi-eu.amazon.com" => Some(Self::Europe),
            "sellingpartnerapi-fe.amazon.com" => Some(Self::FarEast),
            _ => None,
        }
    }
}

/// One marketplace as the simulator serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marketplace {
    /// Amazon's marketplace id.
    pub id: &'static str,
    /// ISO 3166-1 alpha-2, as the Sellers model wants it (GB, not the docs' UK).
    pub country: &'static str,
    /// The region whose endpoint serves it.
    pub region: Region,
    /// The default currency (ISO 4217).
    pub currency: &'static str,
    /// The site, as `salesChannel.marketplaceName` and the Sellers API name it.
    pub site: &'static str,
    /// The default language.
    pub language: &'static str,
    /// A delivery city, its state or region, and a postal code there.
    pub city: (&'static str, &'static str, &'static str),
}

const fn marketplace(
    id: &'static str,
    country: &'static str,
    region: Region,
    currency: &'static str,
    site: &'static str,
    language: &'static str,
    city: (&'static str, &'static str, &'static str),
) -> Marketplace {
    Marketplace {
        id,
        country,
        region,
        currency,
        site,
        language,
        city,
    }
}

use Region::{Europe, FarEast, NorthAmerica};

/// Every marketplace of Amazon's Marketplace IDs page.
pub const MARKETPLACES: [Marketplace; 23] = [
    marketplace(
        "A2EUQ1WTGCTBG2",
        "CA",
        NorthAmerica,
        "CAD",
        "Amazon.ca",
        "en_CA",
        ("Toronto", "ON", "M5H 2N2"),
    ),
    marketplace(
        "ATVPDKIKX0DER",
        "US",
        NorthAmerica,
        "USD",
        "Amazon.com",
        "en_US",
        ("Seattle", "WA", "98101"),
    ),
    marketplace(
        "A1AM78C64UM0Y8",
        "MX",
        NorthAmerica,
        "MXN",
        "Amazon.com.mx",
        "es_MX",
        ("Ciudad de México", "CDMX", "06000"),
    ),
    marketplace(
        "A2Q3Y263D00KWC",
        "BR",
        NorthAmerica,
        "BRL",
        "Amazon.com.br",
        "pt_BR",
        ("São Paulo", "SP", "01310-100"),
    ),
    marketplace(
        "A28R8C7NBKEWEA",
        "IE",
        Europe,
        "EUR",
        "Amazon.ie",
        "en_IE",
        ("Dublin", "Dublin", "D02 X285"),
    ),
    marketplace(
        "A1RKKUPIHCS9HS",
        "ES",
        Europe,
        "EUR",
        "Amazon.es",
        "es_ES",
        ("Madrid", "Madrid", "28013"),
    ),
    marketplace(
        "A1F83G8C2ARO7P",
        "GB",
        Europe,
        "GBP",
        "Amazon.co.uk",
        "en_GB",
        ("London", "London", "SW1A 1AA"),
    ),
    marketplace(
        "A13V1IB3VIYZZH",
        "FR",
        Europe,
        "EUR",
        "Amazon.fr",
        "fr_FR",
        ("Paris", "Île-de-France", "75001"),
    ),
    marketplace(
        "AMEN7PMS3EDWL",
        "BE",
        Europe,
        "EUR",
        "Amazon.com.be",
        "fr_BE",
        ("Bruxelles", "Bruxelles", "1000"),
    ),
    marketplace(
        "A1805IZSGTT6HS",
        "NL",
        Europe,
        "EUR",
        "Amazon.nl",
        "nl_NL",
        ("Amsterdam", "Noord-Holland", "1012 JS"),
    ),
    marketplace(
        "A1PA6795UKMFR9",
        "DE",
        Europe,
        "EUR",
        "Amazon.de",
        "de_DE",
        ("Berlin", "Berlin", "10117"),
    ),
    marketplace(
        "APJ6JRA9NG5V4",
        "IT",
        Europe,
        "EUR",
        "Amazon.it",
        "it_IT",
        ("Roma", "RM", "00184"),
    ),
    marketplace(
        "A2NODRKZP88ZB9",
        "SE",
        Europe,
        "SEK",
        "Amazon.se",
        "sv_SE",
        ("Stockholm", "Stockholm", "111 52"),
    ),
    marketplace(
        "AE08WJ6YKNBMC",
        "ZA",
        Europe,
        "ZAR",
        "Amazon.co.za",
        "en_ZA",
        ("Cape Town", "Western Cape", "8001"),
    ),
    marketplace(
        "A1C3SOZRARQ6R3",
        "PL",
        Europe,
        "PLN",
        "Amazon.pl",
        "pl_PL",
        ("Warszawa", "mazowieckie", "00-001"),
    ),
    marketplace(
        "ARBP9OOSHTCHU",
        "EG",
        Europe,
        "EGP",
        "Amazon.eg",
        "ar_EG",
        ("Cairo", "Cairo", "11511"),
    ),
    marketplace(
        "A33AVAJ2PDY3EV",
        "TR",
        Europe,
        "TRY",
        "Amazon.com.tr",
        "tr_TR",
        ("İstanbul", "İstanbul", "34000"),
    ),
    marketplace(
        "A17E79C6D8DWNP",
        "SA",
        Europe,
        "SAR",
        "Amazon.sa",
        "ar_SA",
        ("Riyadh", "Riyadh", "11564"),
    ),
    marketplace(
        "A2VIGQ35RCS4UG",
        "AE",
        Europe,
        "AED",
        "Amazon.ae",
        "ar_AE",
        ("Dubai", "Dubai", "00000"),
    ),
    marketplace(
        "A21TJRUUN4KGV",
        "IN",
        Europe,
        "INR",
        "Amazon.in",
        "en_IN",
        ("Mumbai", "MH", "400001"),
    ),
    marketplace(
        "A19VAU5U5O7RUS",
        "SG",
        FarEast,
        "SGD",
        "Amazon.sg",
        "en_SG",
        ("Singapore", "Singapore", "018956"),
    ),
    marketplace(
        "A39IBJ37TRP1C6",
        "AU",
        FarEast,
        "AUD",
        "Amazon.com.au",
        "en_AU",
        ("Sydney", "NSW", "2000"),
    ),
    marketplace(
        JAPAN,
        "JP",
        FarEast,
        "JPY",
        "Amazon.co.jp",
        "ja_JP",
        ("千代田区", "東京都", "100-0005"),
    ),
];

/// Amazon.co.jp: its buyers' addresses are written in kanji.
pub const JAPAN: &str = "A1VC38T7YXB528";

/// The marketplace with id `id`, if Amazon has one.
pub fn find(id: &str) -> Option<&'static Marketplace> {
    MARKETPLACES.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_has_its_hosts_and_each_marketplace_one_region() {
        assert_eq!(
            Region::of_host("sellingpartnerapi-eu.amazon.com"),
            Some(Europe)
        );
        assert_eq!(
            Region::of_host("sandbox.sellingpartnerapi-fe.amazon.com"),
            Some(FarEast)
        );
        assert_eq!(Region::of_host("api.amazon.com"), None);
        let ids: std::collections::BTreeSet<&str> = MARKETPLACES.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), MARKETPLACES.len(), "ids are unique");
        let in_region = |region| MARKETPLACES.iter().filter(|m| m.region == region).count();
        assert_eq!(
            (
                in_region(NorthAmerica),
                in_region(Europe),
                in_region(FarEast)
            ),
            (4, 16, 3)
        );
        assert_eq!(find("A1PA6795UKMFR9").map(|m| m.currency), Some("EUR"));
        assert_eq!(find(JAPAN).map(|m| m.region), Some(FarEast));
        assert!(find("XX").is_none());
    }
}
