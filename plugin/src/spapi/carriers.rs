//! Amazon's carrier codes. confirmShipment takes a `carrierCode` only when it matches
//! one of Seller Central's values exactly (spapi-reference.md, "Carrier codes");
//! anything else goes as `Other` with the carrier's name. The list is Seller
//! Central's shipping-confirmation list (help page G641); it is data in this one
//! place, and a carrier missing from it still reaches Amazon, as `Other`.

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
pub fn amazon_carrier(host_code: &str, host_name: Option<&str>) -> (String, Option<String>) {
    let wanted = normalized(host_code);
    if let Some(code) = CARRIER_CODES.iter().find(|code| normalized(code) == wanted) {
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
                amazon_carrier(typed, None),
                (code.to_owned(), None),
                "{typed}"
            );
        }
    }

    #[test]
    fn an_unlisted_carrier_goes_as_other_with_its_name() {
        assert_eq!(
            amazon_carrier("other", Some("Acme Couriers")),
            ("Other".to_owned(), Some("Acme Couriers".to_owned()))
        );
        assert_eq!(
            amazon_carrier("Acme Couriers", None),
            ("Other".to_owned(), Some("Acme Couriers".to_owned()))
        );
        assert_eq!(
            amazon_carrier("Acme", Some("other")),
            ("Other".to_owned(), Some("Acme".to_owned())),
            "\"other\" is no name"
        );
    }
}
