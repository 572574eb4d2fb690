//! Catalog Items 2022-04-01 `getCatalogItem` and `searchCatalogItems` (by ASIN):
//! every simulated product exists, with a weight, a package size and a main image
//! derived from its ASIN, so the same ASIN always gets the same answer.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::orders::error;
use crate::amazon::Response;

const DATASETS: [&str; 10] = [
    "attributes",
    "classifications",
    "dimensions",
    "identifiers",
    "images",
    "productTypes",
    "relationships",
    "salesRanks",
    "summaries",
    "vendorDetails",
];

fn invalid(message: impl Into<String>) -> Response {
    error(400, "InvalidInput", message)
}

/// The query's marketplace (exactly one, as the model allows) and datasets.
fn common(
    query: &[(String, String)],
    allowed: &[&str],
) -> Result<(String, BTreeSet<String>), Response> {
    for (name, _) in query {
        if !allowed.contains(&name.as_str()) {
            return Err(invalid(format!(
                "{name} is not a parameter of this operation"
            )));
        }
    }
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let marketplace = get("marketplaceIds").ok_or_else(|| invalid("marketplaceIds is required"))?;
    if marketplace.is_empty() || marketplace.contains(',') {
        return Err(invalid("marketplaceIds takes exactly one marketplace"));
    }
    let included: BTreeSet<String> = get("includedData")
        .unwrap_or("summaries")
        .split(',')
        .map(str::to_owned)
        .collect();
    if let Some(bad) = included.iter().find(|d| !DATASETS.contains(&d.as_str())) {
        return Err(invalid(format!(
            "{bad} is not a valid value for includedData"
        )));
    }
    Ok((marketplace.to_owned(), included))
}

/// A product's record, with the datasets asked for.
fn item(asin: &str, marketplace: &str, included: &BTreeSet<String>) -> Value {
    // A stable number per ASIN: the product's measurements follow from it.
    let seed = asin
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let hundredths = 50 + seed % 1950;
    let mut item = json!({"asin": asin});
    if included.contains("dimensions") {
        let side = |n: u64| json!({"unit": "inches", "value": 2 + (seed / n) % 20});
        item["dimensions"] = json!([{
            "marketplaceId": marketplace,
            "package": {
                "weight": {"unit": "pounds", "value": format!("{}.{:02}", hundredths / 100, hundredths % 100).parse::<f64>().unwrap_or(1.0)},
                "length": side(3), "width": side(5), "height": side(7),
            },
        }]);
    }
    if included.contains("images") {
        item["images"] = json!([{"marketplaceId": marketplace, "images": [
            {"variant": "MAIN", "link": format!("https://m.media-amazon.com/images/I/{asin}.jpg"), "height": 500, "width": 500},
        ]}]);
    }
    if included.contains("summaries") {
        item["summaries"] = json!([{"marketplaceId": marketplace, "itemName": format!("Simulated product {asin}")}]);
    }
    item
}

/// `GET /catalog/2022-04-01/items/{asin}`.
pub fn get_catalog_item(asin: &str, query: &[(String, String)]) -> Response {
    match common(query, &["marketplaceIds", "includedData", "locale"]) {
        Ok((marketplace, included)) => Response::json(200, &item(asin, &marketplace, &included)),
        Err(response) => response,
    }
}

/// `GET /catalog/2022-04-01/items` by `identifiers` of type ASIN (up to 20).
pub fn search_catalog_items(query: &[(String, String)]) -> Response {
    let allowed = [
        "identifiers",
        "identifiersType",
        "marketplaceIds",
        "includedData",
        "locale",
        "pageSize",
    ];
    let (marketplace, included) = match common(query, &allowed) {
        Ok(common) => common,
        Err(response) => return response,
    };
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("identifiersType") != Some("ASIN") {
        return invalid("the simulator searches by identifiersType=ASIN only");
    }
    let asins: Vec<&str> = get("identifiers")
        .unwrap_or_default()
        .split(',')
        .filter(|a| !a.is_empty())
        .collect();
    if asins.is_empty() || asins.len() > 20 {
        return invalid("identifiers takes 1 to 20 values");
    }
    let items: Vec<Value> = asins
        .iter()
        .map(|asin| item(asin, &marketplace, &included))
        .collect();
    Response::json(
        200,
        &json!({"numberOfResults": items.len(), "items": items}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_same_asin_always_gets_the_same_product() {
        let query = q(&[
            ("marketplaceIds", "ATVPDKIKX0DER"),
            ("includedData", "dimensions,images"),
        ]);
        let one = get_catalog_item("B0SIM00001", &query);
        assert_eq!(one.status, 200);
        assert_eq!(one.body, get_catalog_item("B0SIM00001", &query).body);
        assert_ne!(one.body, get_catalog_item("B0SIM00002", &query).body);
        let body: Value = serde_json::from_slice(&one.body).unwrap();
        assert!(body["dimensions"][0]["package"]["weight"]["value"].is_number());
        assert!(
            body.get("summaries").is_none(),
            "only the datasets asked for"
        );
        assert_eq!(
            get_catalog_item("B0SIM00001", &q(&[("includedData", "images")])).status,
            400
        );
        let search = search_catalog_items(&q(&[
            ("identifiers", "B0SIM00001,B0SIM00002"),
            ("identifiersType", "ASIN"),
            ("marketplaceIds", "ATVPDKIKX0DER"),
        ]));
        let found: Value = serde_json::from_slice(&search.body).unwrap();
        assert_eq!(found["numberOfResults"], 2);
    }
}
