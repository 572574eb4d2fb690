//! Product info from Amazon's catalog: weight, size and main image per ASIN, cached
//! in storage for [`CACHE_LIFETIME`] and read within the catalog's own bucket. The
//! cache holds product data only, never buyer data.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;
use crate::error::Error;
use crate::host::Store;
use crate::model::{
    Dimensions, FulfillmentChannel, LengthUnit, Order, OrderStatus, ProductInfo, Weight, WeightUnit,
};
use crate::spapi::catalog::{self as wire, CatalogItem};
use crate::spapi::{Operation, SpApi};

/// How long a product's info is trusted. Catalog data changes rarely; a stale weight
/// costs a wrong label rate, so it is read again every couple of weeks.
pub const CACHE_LIFETIME: Duration = Duration::days(14);
/// An ASIN the catalog does not know (404) is asked again only after this.
const UNKNOWN_LIFETIME: Duration = Duration::days(1);

#[derive(Serialize, Deserialize)]
struct Cached {
    info: StoredInfo,
    fetched_at: DateTime<Utc>,
    /// False when the catalog had no such product.
    known: bool,
}

/// [`ProductInfo`] as stored.
#[derive(Serialize, Deserialize)]
struct StoredInfo {
    weight: Option<(String, String)>,
    dimensions: Option<[String; 4]>,
    image_url: Option<String>,
}

fn key(marketplace: &str, asin: &str) -> String {
    format!("{}{marketplace}/{asin}", crate::keys::CATALOG_PREFIX)
}

/// The seed's rule: merchant-fulfilled orders that already shipped or were cancelled
/// are not looked up (nobody will buy a label for them); Amazon-fulfilled ones are.
pub fn wants_product_info(order: &Order) -> bool {
    order.fulfillment_channel == FulfillmentChannel::Amazon
        || !matches!(order.status, OrderStatus::Shipped | OrderStatus::Cancelled)
}

/// The cached info of `asin`, if fresh. `Some` with nothing in it means the catalog
/// has no such product.
pub fn cached(
    store: &Store<'_>,
    marketplace: &str,
    asin: &str,
    now: DateTime<Utc>,
) -> Option<ProductInfo> {
    // A damaged record is as good as none: it is read again.
    let cached: Cached = store.load(&key(marketplace, asin)).ok().flatten()?;
    let lifetime = if cached.known {
        CACHE_LIFETIME
    } else {
        UNKNOWN_LIFETIME
    };
    if now - cached.fetched_at > lifetime || cached.fetched_at > now {
        return None;
    }
    Some(ProductInfo {
        asin: asin.to_owned(),
        weight: cached.info.weight.and_then(|(value, unit)| {
            Some(Weight {
                value,
                unit: weight_unit(&unit)?,
            })
        }),
        dimensions: cached
            .info
            .dimensions
            .and_then(|[length, width, height, unit]| {
                Some(Dimensions {
                    length,
                    width,
                    height,
                    unit: length_unit(&unit)?,
                })
            }),
        image_url: cached.info.image_url,
    })
}

/// Reads `asin` from the catalog and caches it. A product the catalog does not know
/// is cached as such (and returned empty) so it is not asked for on every call.
pub fn fetch(
    api: &SpApi<'_>,
    store: &Store<'_>,
    marketplace: &str,
    asin: &str,
) -> Result<ProductInfo, Error> {
    let query = [
        ("marketplaceIds", marketplace.to_owned()),
        ("includedData", wire::INCLUDED_DATA.to_owned()),
    ];
    let (item, known) =
        match api.get::<CatalogItem>(Operation::GET_CATALOG_ITEM, &wire::item_path(asin), &query) {
            Ok(item) => (Some(item), true),
            Err(Error::Amazon(e)) if e.status == 404 => (None, false),
            Err(e) => return Err(e),
        };
    let info = item
        .map(|item| product_info(item, marketplace))
        .unwrap_or_else(|| ProductInfo {
            asin: asin.to_owned(),
            weight: None,
            dimensions: None,
            image_url: None,
        });
    let stored = StoredInfo {
        weight: info
            .weight
            .as_ref()
            .map(|w| (w.value.clone(), weight_unit_name(w.unit).to_owned())),
        dimensions: info.dimensions.as_ref().map(|d| {
            [
                d.length.clone(),
                d.width.clone(),
                d.height.clone(),
                length_unit_name(d.unit).to_owned(),
            ]
        }),
        image_url: info.image_url.clone(),
    };
    store.save(
        &key(marketplace, asin),
        &Cached {
            info: stored,
            fetched_at: api.now(),
            known,
        },
    )?;
    Ok(info)
}

/// The package's measurements when Amazon lists them (what ships), the item's
/// otherwise; the largest MAIN image.
fn product_info(item: CatalogItem, marketplace: &str) -> ProductInfo {
    let dimensions = item
        .dimensions
        .into_iter()
        .find(|d| d.marketplace_id == marketplace);
    let (package, unpacked) = dimensions.map_or((None, None), |d| (d.package, d.item));
    let weight = [&package, &unpacked].into_iter().flatten().find_map(|d| {
        let w = d.weight.as_ref()?;
        Some(Weight {
            value: decimal_text(w)?,
            unit: weight_unit(w.unit.as_deref()?)?,
        })
    });
    let size = [&package, &unpacked].into_iter().flatten().find_map(|d| {
        let sides = [d.length.as_ref()?, d.width.as_ref()?, d.height.as_ref()?];
        let unit = sides[0].unit.as_deref()?;
        if sides.iter().any(|s| s.unit.as_deref() != Some(unit)) {
            return None;
        }
        Some(Dimensions {
            length: decimal_text(sides[0])?,
            width: decimal_text(sides[1])?,
            height: decimal_text(sides[2])?,
            unit: length_unit(unit)?,
        })
    });
    let image_url = item
        .images
        .into_iter()
        .find(|i| i.marketplace_id == marketplace)
        .and_then(|i| {
            i.images
                .into_iter()
                .filter(|image| image.variant == "MAIN")
                .max_by_key(|image| image.width)
        })
        .map(|image| image.link);
    ProductInfo {
        asin: item.asin,
        weight,
        dimensions: size,
        image_url,
    }
}

fn decimal_text(dimension: &wire::Dimension) -> Option<String> {
    let text = dimension.value.as_ref()?.get();
    let text = text.trim_matches('"');
    Decimal::parse(text).map(|_| text.to_owned())
}

fn weight_unit(unit: &str) -> Option<WeightUnit> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "grams" | "gram" | "g" => WeightUnit::Grams,
        "kilograms" | "kilogram" | "kg" => WeightUnit::Kilograms,
        "ounces" | "ounce" | "oz" => WeightUnit::Ounces,
        "pounds" | "pound" | "lb" | "lbs" => WeightUnit::Pounds,
        _ => return None,
    })
}

fn weight_unit_name(unit: WeightUnit) -> &'static str {
    match unit {
        WeightUnit::Grams => "grams",
        WeightUnit::Kilograms => "kilograms",
        WeightUnit::Ounces => "ounces",
        WeightUnit::Pounds => "pounds",
    }
}

fn length_unit(unit: &str) -> Option<LengthUnit> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "millimeters" | "millimeter" | "mm" => LengthUnit::Millimeters,
        "centimeters" | "centimeter" | "cm" => LengthUnit::Centimeters,
        "meters" | "meter" | "m" => LengthUnit::Meters,
        "inches" | "inch" | "in" => LengthUnit::Inches,
        "feet" | "foot" | "ft" => LengthUnit::Feet,
        _ => return None,
    })
}

fn length_unit_name(unit: LengthUnit) -> &'static str {
    match unit {
        LengthUnit::Millimeters => "millimeters",
        LengthUnit::Centimeters => "centimeters",
        LengthUnit::Meters => "meters",
        LengthUnit::Inches => "inches",
        LengthUnit::Feet => "feet",
    }
}

/// Grams in one unit, by the units' exact definitions.
fn grams_per(unit: WeightUnit) -> Decimal {
    let text = match unit {
        WeightUnit::Grams => "1",
        WeightUnit::Kilograms => "1000",
        WeightUnit::Ounces => "28.349523125",
        WeightUnit::Pounds => "453.59237",
    };
    Decimal::parse(text).unwrap_or(Decimal::from_int(1))
}

/// Fills an order's items from the cache and sums its weight.
pub fn fill(order: &mut Order, known: &mut Known<'_, '_>) {
    for item in &mut order.items {
        let Some(asin) = item.asin.as_deref() else {
            continue;
        };
        if let Some(info) = known.get(&order.marketplace_id, asin) {
            item.weight = info.weight.clone();
            item.dimensions = info.dimensions.clone();
            item.image_url = info.image_url.clone();
        }
    }
    order.weight = order_weight(order);
}

/// The cache as of one moment, each (marketplace, ASIN) read from storage once: a
/// batch's orders share few products.
pub struct Known<'s, 'h> {
    store: &'s Store<'h>,
    now: DateTime<Utc>,
    read: std::collections::BTreeMap<(String, String), Option<ProductInfo>>,
}

impl<'s, 'h> Known<'s, 'h> {
    pub fn new(store: &'s Store<'h>, now: DateTime<Utc>) -> Self {
        Self {
            store,
            now,
            read: std::collections::BTreeMap::new(),
        }
    }

    /// [`cached`], remembered.
    pub fn get(&mut self, marketplace: &str, asin: &str) -> Option<&ProductInfo> {
        let key = (marketplace.to_owned(), asin.to_owned());
        if !self.read.contains_key(&key) {
            let info = cached(self.store, marketplace, asin, self.now);
            self.read.insert(key.clone(), info);
        }
        self.read.get(&key).and_then(Option::as_ref)
    }
}

/// Σ quantity × item weight, exactly, when every item has a weight: in their unit
/// when they share one, in grams otherwise.
pub fn order_weight(order: &Order) -> Option<Weight> {
    let weights: Vec<(&Weight, u32)> = order
        .items
        .iter()
        .map(|item| item.weight.as_ref().map(|w| (w, item.quantity)))
        .collect::<Option<_>>()?;
    let (first, _) = weights.first()?;
    let shared = weights.iter().all(|(w, _)| w.unit == first.unit);
    let unit = if shared {
        first.unit
    } else {
        WeightUnit::Grams
    };
    let mut total = Decimal::from_int(0);
    for (weight, quantity) in &weights {
        let mut value = Decimal::parse(&weight.value)?.checked_mul(Decimal::from_int(*quantity))?;
        if !shared {
            value = value.checked_mul(grams_per(weight.unit))?;
        }
        total = total.checked_add(value)?;
    }
    Some(Weight {
        value: total.to_string(),
        unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(body: &str) -> CatalogItem {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn the_package_weight_and_the_largest_main_image_in_this_marketplace() {
        let info = product_info(
            item(
                r#"{"asin":"B07N4M94X4","dimensions":[
                {"marketplaceId":"A2EUQ1WTGCTBG2","package":{"weight":{"unit":"kilograms","value":9}}},
                {"marketplaceId":"ATVPDKIKX0DER",
                 "item":{"weight":{"unit":"pounds","value":107.6}},
                 "package":{"height":{"unit":"inches","value":10.49999998929},"length":{"unit":"inches","value":79.9999999184},
                   "weight":{"unit":"kilograms","value":62.142},"width":{"unit":"inches","value":47.99999995104}}}],
              "images":[{"marketplaceId":"ATVPDKIKX0DER","images":[
                {"variant":"PT01","link":"https://m.media-amazon.com/images/I/pt.jpg","height":9,"width":9000},
                {"variant":"MAIN","link":"https://m.media-amazon.com/images/I/small.jpg","height":333,"width":500},
                {"variant":"MAIN","link":"https://m.media-amazon.com/images/I/large.jpg","height":1707,"width":2560}]}]}"#,
            ),
            "ATVPDKIKX0DER",
        );
        let weight = info.weight.unwrap();
        assert_eq!(
            (weight.value.as_str(), weight.unit),
            ("62.142", WeightUnit::Kilograms)
        );
        let size = info.dimensions.unwrap();
        assert_eq!(size.length, "79.9999999184", "Amazon's digits, exactly");
        assert_eq!(size.unit, LengthUnit::Inches);
        assert_eq!(
            info.image_url.as_deref(),
            Some("https://m.media-amazon.com/images/I/large.jpg")
        );
    }

    #[test]
    fn the_item_s_own_measurements_when_no_package_is_listed() {
        let info = product_info(
            item(
                r#"{"asin":"B1","dimensions":[{"marketplaceId":"M","item":{"weight":{"unit":"ounces","value":12.5}}}]}"#,
            ),
            "M",
        );
        let weight = info.weight.unwrap();
        assert_eq!(
            (weight.value.as_str(), weight.unit),
            ("12.5", WeightUnit::Ounces)
        );
    }

    #[test]
    fn every_spelling_of_a_unit_is_read_and_stored_by_its_one_name() {
        let lengths = [
            (["millimeters", "millimeter", "MM"], LengthUnit::Millimeters),
            (["centimeters", "centimeter", "cm"], LengthUnit::Centimeters),
            (["meters", "meter", "m"], LengthUnit::Meters),
            (["inches", "inch", "IN"], LengthUnit::Inches),
            (["feet", "foot", "ft"], LengthUnit::Feet),
        ];
        for (spellings, unit) in lengths {
            for spelling in spellings {
                assert_eq!(length_unit(spelling), Some(unit), "{spelling}");
            }
            assert_eq!(length_unit(length_unit_name(unit)), Some(unit));
        }
        let weights = [
            (["grams", "gram", "g", "G"], WeightUnit::Grams),
            (["kilograms", "kilogram", "kg", "KG"], WeightUnit::Kilograms),
            (["ounces", "ounce", "oz", "OZ"], WeightUnit::Ounces),
            (["pounds", "pound", "lb", "lbs"], WeightUnit::Pounds),
        ];
        for (spellings, unit) in weights {
            for spelling in spellings {
                assert_eq!(weight_unit(spelling), Some(unit), "{spelling}");
            }
            assert_eq!(weight_unit(weight_unit_name(unit)), Some(unit));
        }
    }

    #[test]
    fn unknown_units_give_no_value_rather_than_a_wrong_one() {
        let info = product_info(
            item(
                r#"{"asin":"B1","dimensions":[{"marketplaceId":"M","item":{"weight":{"unit":"stones","value":2}}}]}"#,
            ),
            "M",
        );
        assert!(info.weight.is_none() && info.dimensions.is_none() && info.image_url.is_none());
    }

    #[test]
    fn the_order_weight_is_an_exact_sum_in_one_unit() {
        use crate::model::OrderItem;
        let line = |quantity: u32, value: &str, unit: WeightUnit| OrderItem {
            order_item_id: "1".into(),
            product_id: "SKU".into(),
            sku: None,
            asin: Some("B1".into()),
            title: None,
            quantity,
            quantity_shipped: 0,
            unit_price: None,
            discounts: Vec::new(),
            weight: Some(Weight {
                value: value.into(),
                unit,
            }),
            dimensions: None,
            image_url: None,
            options: Vec::new(),
            transparency_required: false,
            serial_numbers_required: false,
            shipping_constraints: Vec::new(),
            ioss_number: None,
            warehouse_location: None,
            gift_message: None,
        };
        let order = |items: Vec<OrderItem>| {
            let json = r#"{"orderId":"1","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T10:00:00Z",
                "salesChannel":{"channelName":"AMAZON"},"fulfillment":{"fulfillmentStatus":"UNSHIPPED"},"orderItems":[]}"#;
            let mut order = crate::import::mapping::map_order(
                serde_json::from_str(json).unwrap(),
                crate::import::mapping::MappingOptions {
                    product_identifier: crate::model::ProductIdentifier::Sku,
                },
            )
            .unwrap();
            order.items = items;
            order
        };
        let same = order(vec![
            line(3, "0.1", WeightUnit::Pounds),
            line(1, "0.2", WeightUnit::Pounds),
        ]);
        assert_eq!(
            order_weight(&same),
            Some(Weight {
                value: "0.5".into(),
                unit: WeightUnit::Pounds
            })
        );
        let mixed = order(vec![
            line(1, "1", WeightUnit::Pounds),
            line(1, "16", WeightUnit::Ounces),
        ]);
        assert_eq!(
            order_weight(&mixed),
            Some(Weight {
                value: "907.18474".into(),
                unit: WeightUnit::Grams
            })
        );
        let mut partial = same.clone();
        partial.items[1].weight = None;
        assert_eq!(
            order_weight(&partial),
            None,
            "only when every item has a weight"
        );
    }
}
