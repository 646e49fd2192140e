//! Strict JSON readers: BonusPlus's wire carries money as JSON *numbers*, so a string where a
//! number belongs is a client bug the emulator must expose, not paper over.
//! (serde_json's `arbitrary_precision` hands numbers over as a one-entry map holding the digits.)

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};

const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A required JSON number, exactly as written.
pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(NumberVisitor)
}

/// An optional JSON number (`null` or absent = `None`); use with `#[serde(default)]`.
pub fn optional_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    deserializer.deserialize_option(OptionalNumberVisitor)
}

/// An identifier that integrations send either as a string or as an integer (`pid: 0`).
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_any(IdVisitor)
}

/// An optional identifier (string or integer).
pub fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_option(OptionalIdVisitor)
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
        let digits = read_number_digits(&mut map, &self)?;
        Decimal::from_str(&digits)
            .or_else(|_| Decimal::from_scientific(&digits))
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&digits), &self))
    }
}

struct OptionalNumberVisitor;

impl<'de> Visitor<'de> for OptionalNumberVisitor {
    type Value = Option<Decimal>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        decimal(d).map(Some)
    }
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let digits = read_number_digits(&mut map, &self)?;
        if digits.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            Ok(digits)
        } else {
            Err(de::Error::invalid_value(
                de::Unexpected::Str(&digits),
                &self,
            ))
        }
    }
}

struct OptionalIdVisitor;

impl<'de> Visitor<'de> for OptionalIdVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, an integer or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        id(d).map(Some)
    }
}

/// Reads the digits of an `arbitrary_precision` number; any other object is a type error.
fn read_number_digits<'de, A: MapAccess<'de>>(
    map: &mut A,
    expected: &dyn de::Expected,
) -> Result<String, A::Error> {
    match map.next_key::<String>()? {
        Some(key) if key == NUMBER_TOKEN => map.next_value::<String>(),
        _ => Err(de::Error::invalid_type(de::Unexpected::Map, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "decimal")]
        sum: Decimal,
        #[serde(default, deserialize_with = "optional_decimal")]
        price: Option<Decimal>,
        #[serde(default, deserialize_with = "optional_id")]
        pid: Option<String>,
    }

    #[test]
    fn reads_numbers_exactly() {
        let p: Probe = serde_json::from_str(r#"{"sum": 0.1, "price": 1e2, "pid": 0}"#).unwrap();
        assert_eq!(p.sum, dec!(0.1));
        assert_eq!(p.price, Some(dec!(100)));
        assert_eq!(p.pid.as_deref(), Some("0"));
    }

    #[test]
    fn absent_and_null_are_none() {
        let p: Probe = serde_json::from_str(r#"{"sum": 5, "price": null}"#).unwrap();
        assert_eq!((p.sum, p.price, p.pid), (dec!(5), None, None));
    }

    #[test]
    fn rejects_strings_and_objects_for_numbers() {
        assert!(serde_json::from_str::<Probe>(r#"{"sum": "5"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"sum": {"a": 1}}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"sum": 1, "pid": 1.5}"#).is_err());
    }
}
