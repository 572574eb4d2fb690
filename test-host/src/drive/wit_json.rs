//! WIT values as JSON in the WIT's own names, for everything the CLI prints: the
//! Rust bindings derive serde names from Rust (`store_name`, `NotSent`), so a value
//! is walked with its WIT type, taken from the compiled component, and only real
//! field and case names are renamed (kebab-case fields and cases, `ok`/`err`, WIT
//! datetimes as RFC 3339). A store called "BestSellerStore" stays as it is.

use chrono::DateTime;
use serde::Serialize;
use serde_json::Value;
use wasmtime::component::types::{ComponentItem, Type};

use crate::embed::runtime::bindings as wit;

/// `value` as JSON in the WIT's names of `ty` (as the bindings name it when the
/// type is unknown).
pub fn render<T: Serialize>(value: &T, ty: Option<&Type>) -> Value {
    in_wit_names(to_json(value), ty)
}

/// An order, as the WIT's `order` record.
pub fn order(order: &wit::Order) -> Value {
    render(order, order_type().as_ref())
}

/// The WIT `order` type: an element of `import-batch.orders`.
fn order_type() -> Option<Type> {
    let (Some(Type::Record(batch)), _) = result_types("import-orders") else {
        return None;
    };
    match batch.fields().find(|field| field.name == "orders")?.ty {
        Type::List(list) => Some(list.ty()),
        _ => None,
    }
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value)
        .unwrap_or_else(|e| serde_json::Value::String(format!("unserializable: {e}")))
}

/// The `ok` and `err` types of the function `name` of any exported interface, from
/// the compiled component.
pub fn result_types(name: &str) -> (Option<Type>, Option<Type>) {
    match exported_func(name).and_then(|func| func.results().next()) {
        Some(Type::Result(result)) => (result.ok(), result.err()),
        _ => (None, None),
    }
}

/// The WIT `connection-settings` type: `connect`'s parameter.
pub fn settings_type() -> Option<Type> {
    exported_func("connect")?.params().next().map(|(_, ty)| ty)
}

/// The function `name` of any exported interface.
fn exported_func(name: &str) -> Option<wasmtime::component::types::ComponentFunc> {
    let (engine, component) = crate::embed::runtime::component_type().ok()?;
    component
        .exports(&engine)
        .find_map(|(_, item)| match item.ty {
            ComponentItem::ComponentInstance(interface) => {
                match interface.get_export(&engine, name).map(|export| export.ty) {
                    Some(ComponentItem::ComponentFunc(func)) => Some(func),
                    _ => None,
                }
            }
            _ => None,
        })
}

/// A value as the Rust bindings serialise it, in the WIT's own names instead:
/// kebab-case fields and cases, `ok`/`err`, and WIT datetimes as RFC 3339 text.
/// Walked with the WIT type, so a string is renamed only where it is a case.
pub fn in_wit_names(value: Value, ty: Option<&Type>) -> Value {
    let same = |rust: &str, wit: &str| {
        let plain = |name: &str| name.replace(['-', '_'], "").to_lowercase();
        plain(rust) == plain(wit)
    };
    match (value, ty) {
        (Value::Object(map), Some(Type::Record(record))) => {
            let fields: Vec<_> = record.fields().collect();
            if fields.len() == 2 && fields[0].name == "seconds" && fields[1].name == "nanoseconds" {
                let seconds = map["seconds"].as_i64().unwrap_or(0);
                let nanos = map["nanoseconds"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0);
                if let Some(at) = DateTime::from_timestamp(seconds, nanos) {
                    return Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
                }
            }
            let mut map = map;
            let mut out = serde_json::Map::new();
            for field in fields {
                let key = map.keys().find(|key| same(key, field.name)).cloned();
                if let Some(value) = key.and_then(|key| map.remove(&key)) {
                    out.insert(field.name.to_owned(), in_wit_names(value, Some(&field.ty)));
                }
            }
            Value::Object(out)
        }
        (Value::String(case), Some(Type::Enum(cases))) => Value::String(
            cases
                .names()
                .find(|name| same(&case, name))
                .map_or(case.clone(), str::to_owned),
        ),
        (Value::String(case), Some(Type::Variant(variant))) => Value::String(
            variant
                .cases()
                .find(|c| same(&case, c.name))
                .map_or(case.clone(), |c| c.name.to_owned()),
        ),
        (Value::Object(map), Some(Type::Variant(variant))) if map.len() == 1 => {
            let (key, payload) = map.into_iter().next().expect("one entry");
            match variant.cases().find(|c| same(&key, c.name)) {
                Some(case) => serde_json::json!({
                    case.name: in_wit_names(payload, case.ty.as_ref())
                }),
                None => serde_json::json!({ key: payload }),
            }
        }
        (Value::Object(map), Some(Type::Result(result))) if map.len() == 1 => {
            let (key, payload) = map.into_iter().next().expect("one entry");
            let (name, ty) = if key == "Ok" {
                ("ok", result.ok())
            } else {
                ("err", result.err())
            };
            serde_json::json!({ name: in_wit_names(payload, ty.as_ref()) })
        }
        (value, Some(Type::Option(inner))) if !value.is_null() => {
            in_wit_names(value, Some(&inner.ty()))
        }
        (Value::Array(items), Some(Type::List(list))) => {
            let ty = list.ty();
            Value::Array(
                items
                    .into_iter()
                    .map(|item| in_wit_names(item, Some(&ty)))
                    .collect(),
            )
        }
        (Value::Array(items), Some(Type::Tuple(tuple))) => Value::Array(
            items
                .into_iter()
                .zip(tuple.types())
                .map(|(item, ty)| in_wit_names(item, Some(&ty)))
                .collect(),
        ),
        (value, _) => value,
    }
}
