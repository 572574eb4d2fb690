//! Amazon's carrier codes. confirmShipment and the order-fulfillment feed take a
//! carrier code only when it matches one of Seller Central's values for the
//! marketplace exactly (spapi-reference.md, "Carrier codes"); anything else goes as
//! `Other` with the carrier's name. The default list is the one Amazon publishes
//! (help page G641); a store whose marketplace lists others gives them in its
//! settings. The lists and the other names of listed carriers are data in this one
//! place, and a carrier missing from them still reaches Amazon, as `Other`.

/// Seller Central's carrier codes, exactly as Amazon spells them.
pub const CARRIER_CODES: &[&str] = &[
    "Blue Package",
    "USPS",
    "UPS",
    "UPSMI",
    "FedEx",
    "DHL",
    "DHL Global Mail",
    "Fastway",
    "UPS Mail Innovations",
    "Lasership",
    "Royal Mail",
    "FedEx SmartPost",
    "OSM",
    "OnTrac",
    "Streamlite",
    "Newgistics",
    "Canada Post",
    "City Link",
    "GLS",
    "GO!",
    "Hermes Logistik Gruppe",
    "Parcelforce",
    "TNT",
    "Target",
    "SagawaExpress",
    "NipponExpress",
    "YamatoTransport",
    "Ninjavan",
    "Qxpress",
    "Singapore Post",
    "4PX",
    "Yanwen",
    "Aramex",
    "China Post",
    "DHL eCommerce",
    "SF Express",
];

/// The code Amazon takes for what the host calls a carrier, and the carrier name
/// to send with it (`Some` exactly when the code is `Other`).
/// Other names hosts give listed carriers: (name, Amazon's code).
pub const OTHER_NAMES: &[(&str, &str)] = &[
    ("United Parcel Service", "UPS"),
    ("Federal Express", "FedEx"),
    ("United States Postal Service", "USPS"),
    ("Postes Canada", "Canada Post"),
    ("Hermes", "Hermes Logistik Gruppe"),
    ("Evri", "Hermes Logistik Gruppe"),
    ("Yamato", "YamatoTransport"),
    ("Kuroneko Yamato", "YamatoTransport"),
    ("Sagawa", "SagawaExpress"),
    ("Nippon Tsuun", "NipponExpress"),
    ("SingPost", "Singapore Post"),
    ("Ninja Van", "Ninjavan"),
    ("Shunfeng", "SF Express"),
];

/// Amazon's code and, for `Other`, the carrier's name, for the host's carrier on a
/// store whose marketplace lists `store_codes` (empty: Amazon's published list).
pub fn amazon_carrier(
    host_code: &str,
    host_name: Option<&str>,
    store_codes: &[String],
) -> (String, Option<String>) {
    let wanted = normalized(host_code);
    let listed: Vec<&str> = if store_codes.is_empty() {
        CARRIER_CODES.to_vec()
    } else {
        store_codes.iter().map(String::as_str).collect()
    };
    let alias = OTHER_NAMES
        .iter()
        .find(|(name, _)| normalized(name) == wanted)
        .map(|(_, code)| normalized(code));
    let found = listed
        .iter()
        .find(|code| normalized(code) == wanted)
        .or_else(|| alias.and_then(|alias| listed.iter().find(|code| normalized(code) == alias)));
    if let Some(code) = found {
        return ((*code).to_owned(), None);
    }
    let name = host_name
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("other"))
        .unwrap_or(host_code.trim());
    ("Other".to_owned(), Some(name.to_owned()))
}

/// Case, spaces, dashes and dots do not matter ("fed-ex", "Fed Ex", "FEDEX").
fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_s_spelling_becomes_amazon_s() {
        for (typed, code) in [
            ("ups", "UPS"),
            ("Fed-Ex", "FedEx"),
            ("usps", "USPS"),
            ("royal mail", "Royal Mail"),
            ("dhl ecommerce", "DHL eCommerce"),
        ] {
            assert_eq!(
                amazon_carrier(typed, None, &[]),
                (code.to_owned(), None),
                "{typed}"
            );
        }
    }

    #[test]
    fn an_unlisted_carrier_goes_as_other_with_its_name() {
        assert_eq!(
            amazon_carrier("other", Some("Acme Couriers"), &[]),
            ("Other".to_owned(), Some("Acme Couriers".to_owned()))
        );
        assert_eq!(
            amazon_carrier("Acme Couriers", None, &[]),
            ("Other".to_owned(), Some("Acme Couriers".to_owned()))
        );
        assert_eq!(
            amazon_carrier("Acme", Some("other"), &[]),
            ("Other".to_owned(), Some("Acme".to_owned())),
            "\"other\" is no name"
        );
    }

    /// One case per marketplace region: the carriers its sellers name, as Amazon
    /// spells them.
    #[test]
    fn each_region_s_carriers_reach_amazon_by_their_code() {
        let regions: [(&str, &[(&str, &str)]); 3] = [
            (
                "North America",
                &[
                    ("ups", "UPS"),
                    ("United States Postal Service", "USPS"),
                    ("FEDEX", "FedEx"),
                    ("fedex smartpost", "FedEx SmartPost"),
                    ("canada post", "Canada Post"),
                    ("Postes Canada", "Canada Post"),
                    ("ontrac", "OnTrac"),
                ],
            ),
            (
                "Europe",
                &[
                    ("royal-mail", "Royal Mail"),
                    ("parcelforce", "Parcelforce"),
                    ("Evri", "Hermes Logistik Gruppe"),
                    ("gls", "GLS"),
                    ("dhl", "DHL"),
                    ("tnt", "TNT"),
                ],
            ),
            (
                "Far East",
                &[
                    ("Yamato", "YamatoTransport"),
                    ("sagawa express", "SagawaExpress"),
                    ("Nippon Express", "NipponExpress"),
                    ("SingPost", "Singapore Post"),
                    ("ninja van", "Ninjavan"),
                    ("qxpress", "Qxpress"),
                ],
            ),
        ];
        for (region, cases) in regions {
            for (typed, code) in cases {
                assert_eq!(
                    amazon_carrier(typed, None, &[]),
                    ((*code).to_owned(), None),
                    "{region}: {typed}"
                );
            }
        }
    }

    #[test]
    fn a_store_s_own_list_replaces_amazon_s() {
        let german = [
            "DHL".to_owned(),
            "Deutsche Post".to_owned(),
            "DPD".to_owned(),
        ];
        assert_eq!(
            amazon_carrier("deutsche post", None, &german),
            ("Deutsche Post".to_owned(), None)
        );
        assert_eq!(
            amazon_carrier("dpd", None, &german),
            ("DPD".to_owned(), None)
        );
        // Listed by Amazon in general, but not for this marketplace.
        assert_eq!(
            amazon_carrier("Royal Mail", None, &german),
            ("Other".to_owned(), Some("Royal Mail".to_owned()))
        );
    }
}
