//! Catalog Items API 2022-04-01 `getCatalogItem` wire types: only the dimensions and
//! images this component reads. Measurements stay Amazon's decimal text.

use serde::Deserialize;
use serde_json::value::RawValue;

/// `GET /catalog/2022-04-01/items/{asin}`.
pub fn item_path(asin: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(asin.as_bytes()).collect();
    format!("/catalog/2022-04-01/items/{encoded}")
}

/// `includedData` of the call: what the component uses, nothing more.
pub const INCLUDED_DATA: &str = "dimensions,images";

/// An `Item`.
#[derive(Debug, Deserialize)]
pub struct CatalogItem {
    /// The ASIN.
    pub asin: String,
    /// Dimensions per marketplace.
    #[serde(default)]
    pub dimensions: Vec<DimensionsByMarketplace>,
    /// Images per marketplace.
    #[serde(default)]
    pub images: Vec<ImagesByMarketplace>,
}

/// `ItemDimensionsByMarketplace`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DimensionsByMarketplace {
    /// Marketplace.
    pub marketplace_id: String,
    /// The item itself.
    #[serde(default)]
    pub item: Option<Dimensions>,
    /// The item as packaged.
    #[serde(default)]
    pub package: Option<Dimensions>,
}

/// `Dimensions`.
#[derive(Debug, Deserialize)]
pub struct Dimensions {
    /// Height.
    #[serde(default)]
    pub height: Option<Dimension>,
    /// Length.
    #[serde(default)]
    pub length: Option<Dimension>,
    /// Weight.
    #[serde(default)]
    pub weight: Option<Dimension>,
    /// Width.
    #[serde(default)]
    pub width: Option<Dimension>,
}

/// `Dimension`: a value as Amazon wrote it and its unit ("pounds", "inches", ...).
#[derive(Debug, Deserialize)]
pub struct Dimension {
    /// Unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// Value, as raw JSON text.
    #[serde(default)]
    pub value: Option<Box<RawValue>>,
}

/// `ItemImagesByMarketplace`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagesByMarketplace {
    /// Marketplace.
    pub marketplace_id: String,
    /// Images.
    #[serde(default)]
    pub images: Vec<Image>,
}

/// `ItemImage`.
#[derive(Debug, Deserialize)]
pub struct Image {
    /// MAIN, PT01, ...
    pub variant: String,
    /// URL.
    pub link: String,
    /// Pixels.
    #[serde(default)]
    pub width: u32,
}
