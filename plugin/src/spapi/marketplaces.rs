//! Amazon's marketplace ids and the SP-API region that serves each.

/// An SP-API region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// North America.
    NorthAmerica,
    /// Europe, Middle East, India, South Africa.
    Europe,
    /// Far East.
    FarEast,
}

impl Region {
    /// The SP-API host for this region.
    pub fn host(self, sandbox: bool) -> &'static str {
        match (self, sandbox) {
            (Region::NorthAmerica, false) => "sellingpartnerapi-na.amazon.com",
            (Region::Europe, false) => "sellingpartnerapi-eu.amazon.com",
            (Region::FarEast, false) => "sellingpartnerapi-fe.amazon.com",
            (Region::NorthAmerica, true) => "sandbox.sellingpartnerapi-na.amazon.com",
            (Region::Europe, true) => "sandbox.sellingpartnerapi-eu.amazon.com",
            (Region::FarEast, true) => "sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }
}

/// Amazon.co.jp, whose addresses need the kanji setting.
pub const JAPAN: &str = "A1VC38T7YXB528";

/// (marketplace id, region), from Amazon's marketplace-id table.
const MARKETPLACES: &[(&str, Region)] = &[
    ("A2EUQ1WTGCTBG2", Region::NorthAmerica), // CA
    ("ATVPDKIKX0DER", Region::NorthAmerica),  // US
    ("A1AM78C64UM0Y8", Region::NorthAmerica), // MX
    ("A2Q3Y263D00KWC", Region::NorthAmerica), // BR
    ("A28R8C7NBKEWEA", Region::Europe),       // IE
    ("A1RKKUPIHCS9HS", Region::Europe),       // ES
    ("A1F83G8C2ARO7P", Region::Europe),       // UK
    ("A13V1IB3VIYZZH", Region::Europe),       // FR
    ("AMEN7PMS3EDWL", Region::Europe),        // BE
    ("A1805IZSGTT6HS", Region::Europe),       // NL
    ("A1PA6795UKMFR9", Region::Europe),       // DE
    ("APJ6JRA9NG5V4", Region::Europe),        // IT
    ("A2NODRKZP88ZB9", Region::Europe),       // SE
    ("AE08WJ6YKNBMC", Region::Europe),        // ZA
    ("A1C3SOZRARQ6R3", Region::Europe),       // PL
    ("ARBP9OOSHTCHU", Region::Europe),        // EG
    ("A33AVAJ2PDY3EV", Region::Europe),       // TR
    ("A17E79C6D8DWNP", Region::Europe),       // SA
    ("A2VIGQ35RCS4UG", Region::Europe),       // AE
    ("A21TJRUUN4KGV", Region::Europe),        // IN
    ("A19VAU5U5O7RUS", Region::FarEast),      // SG
    ("A39IBJ37TRP1C6", Region::FarEast),      // AU
    (JAPAN, Region::FarEast),                 // JP
];

/// The region serving `marketplace_id`, if this version knows the marketplace.
pub fn region_of(marketplace_id: &str) -> Option<Region> {
    MARKETPLACES
        .iter()
        .find(|(id, _)| *id == marketplace_id)
        .map(|&(_, region)| region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_north_america_marketplaces_share_a_region() {
        for id in ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"] {
            assert_eq!(region_of(id), Some(Region::NorthAmerica), "{id}");
        }
        assert_eq!(region_of(JAPAN), Some(Region::FarEast));
        assert_eq!(region_of("A1F83G8C2ARO7P"), Some(Region::Europe));
        assert_eq!(region_of("NOPE"), None);
    }
}
