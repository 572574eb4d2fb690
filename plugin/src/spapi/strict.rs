//! Amazon's answers decoded by their model's shape, within a memory budget.
//!
//! serde's derived `Deserialize` fills a struct from a JSON list as readily as
//! from an object, so `[]` where the model has an object reads as a valid, empty
//! answer (and an empty page ends an import window). [`from_slice`] reads an
//! answer's top level as an object only, and [`object`] does the same for the
//! fields whose emptiness would lose data (a page's `pagination`). Before either,
//! one pass over the body counts its entries: an answer with more than any Amazon
//! sends is refused before anything is materialised, so no body a host lets
//! through exhausts the component's memory. The pass is one function, not one per
//! type: the component stays small.

use std::fmt;

use serde::Deserialize;

use crate::error::describe_json_error;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// List elements one answer may hold, all lists together. A page of 100 orders of
/// many items each holds a few thousand; each element decodes to at most about a
/// kilobyte, so the bound keeps an answer's decoded lists to some 20 MB.
pub const MAX_LIST_ELEMENTS: usize = 20_000;

/// Why an answer was refused, never quoting a value from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes `bytes` as `T`: within [`MAX_LIST_ELEMENTS`], and the top level an
/// object where `T` is a struct.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ShapeError> {
    from_slice_within(bytes, MAX_LIST_ELEMENTS)
}

/// [`from_slice`] with another bound (for tests).
pub fn from_slice_within<T: DeserializeOwned>(
    bytes: &[u8],
    max_list_elements: usize,
) -> Result<T, ShapeError> {
    let elements = count_list_elements(bytes, max_list_elements)?;
    if elements > max_list_elements {
        return Err(ShapeError(format!(
            "more list entries than any Amazon answer has (over {max_list_elements})"
        )));
    }
    let mut json = serde_json::Deserializer::from_slice(bytes);
    T::deserialize(ObjectOnly(&mut json))
        .and_then(|value| json.end().map(|()| value))
        .map_err(|e| ShapeError(describe_json_error(&e)))
}

/// For a field the model has as an object: `null` or absent is `None`, a list or
/// any other value is an error (serde alone would read `[]` as an empty object).
pub fn object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Object<T>>::deserialize(deserializer).map(|o| o.map(|Object(value)| value))
}

struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(ObjectOnly(deserializer)).map(Object)
    }
}

/// Counts the list elements in `bytes` in one pass, stopping past `limit`. Syntax
/// errors are left to the typed decoding, which names them.
fn count_list_elements(bytes: &[u8], limit: usize) -> Result<usize, ShapeError> {
    let mut counted = 0;
    let mut json = serde_json::Deserializer::from_slice(bytes);
    // Errors here are syntax or the limit; only the limit is this pass's to report.
    let counter = Counter {
        counted: &mut counted,
        limit,
    };
    let _ = de::DeserializeSeed::deserialize(counter, &mut json);
    Ok(counted)
}

struct Counter<'c> {
    counted: &'c mut usize,
    limit: usize,
}

impl<'de> de::DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            if *self.counted > self.limit {
                return Err(de::Error::custom("over the limit"));
            }
            let element = Counter {
                counted: &mut *self.counted,
                limit: self.limit,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            *self.counted += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Counter {
                counted: &mut *self.counted,
                limit: self.limit,
            })?;
        }
        Ok(())
    }
}

/// One level of a deserializer that reads a struct from an object only; all else,
/// and everything below, as the inner one does.
struct ObjectOnly<D>(D);

macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    /// The point of it: a struct is read from an object, never from a list.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        #[serde(default)]
        orders: Vec<Order>,
        #[serde(default, deserialize_with = "object")]
        pagination: Option<Pagination>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Order {
        order_id: String,
        #[serde(default)]
        items: Vec<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Pagination {
        #[serde(default)]
        next_token: Option<String>,
    }

    #[test]
    fn an_object_decodes_as_serde_json_would() {
        let page: Page = from_slice(
            br#"{"orders":[{"orderId":"1","items":[1,2]}],"pagination":{"nextToken":"t"},"x":[{}]}"#,
        )
        .unwrap();
        assert_eq!(page.orders[0].items, [1, 2]);
        assert_eq!(page.pagination.unwrap().next_token.as_deref(), Some("t"));
        let last: Page = from_slice(br#"{"orders":[],"pagination":null}"#).unwrap();
        assert_eq!(last.pagination, None);
    }

    #[test]
    fn a_list_where_the_model_has_an_object_is_refused() {
        // serde_json alone reads both as valid answers, the second as the last page.
        assert!(serde_json::from_slice::<Page>(b"[[]]").is_ok());
        let whole = from_slice::<Page>(b"[[]]").unwrap_err();
        assert!(
            whole
                .0
                .starts_with("a sequence where the model has struct Page"),
            "{whole}"
        );
        let nested = from_slice::<Page>(br#"{"orders":[],"pagination":[]}"#).unwrap_err();
        assert!(nested.0.contains("struct Pagination"), "{nested}");
    }

    #[test]
    fn errors_name_the_type_never_the_value() {
        let error = from_slice::<Page>(br#"{"orders":[{"orderId":"1","items":["Jane Buyer"]}]}"#)
            .unwrap_err();
        assert!(!error.to_string().contains("Jane"), "{error}");
        assert!(
            error.0.starts_with("a string where the model has u32"),
            "{error}"
        );
    }

    #[test]
    fn an_answer_over_the_bound_is_refused_before_it_is_decoded() {
        let many = format!("[{}1]", "1,".repeat(10_000));
        let body = format!(r#"{{"orders":[{{"orderId":"1","items":{many}}}]}}"#);
        assert!(from_slice_within::<Page>(body.as_bytes(), 20_000).is_ok());
        let error = from_slice_within::<Page>(body.as_bytes(), 10_000).unwrap_err();
        assert!(error.0.starts_with("more list entries"), "{error}");
        // Lists the model does not have count too: the bound is on the answer as sent.
        let unknown = format!(r#"{{"x":{many}}}"#);
        assert!(from_slice_within::<Page>(unknown.as_bytes(), 10_000).is_err());
    }

    #[test]
    fn raw_values_and_trailing_garbage() {
        #[derive(Deserialize)]
        struct Raw {
            orders: Vec<Box<RawValue>>,
        }
        let raw: Raw = from_slice(br#"{"orders":[{"orderId":"1"}, [1]]}"#).unwrap();
        assert_eq!(raw.orders[1].get(), "[1]");
        assert!(from_slice::<Page>(br#"{"orders":[]} x"#).is_err());
    }
}
