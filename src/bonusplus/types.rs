//! Request and response bodies of the BonusPlus API, field for field as in
//! `docs/bonusplus-wire.md`. Money and quantities are exact `Decimal`s written as JSON numbers.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Requests skip optional fields that are `None`. Responses ignore unknown fields and read an
//! absent or `null` amount as zero, so a sparse answer does not fail a sale at the till.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use time::Date;

use super::unconfirmed;
use crate::domain::phone::Phone;

/// A customer as BonusPlus answers it (`GET/POST/PUT customer`, inside `POST retail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub phone: String,
    #[serde(default, deserialize_with = "lenient::string_option")]
    pub discount_card_number: Option<String>,
    /// What can be spent now: balance minus reserves.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub available_bonuses: Option<Decimal>,
    #[serde(default)]
    pub person: Option<Person>,
}

/// Personal data of a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Person {
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::sex")]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(
        rename = "birthDay",
        default,
        deserialize_with = "birth_day::deserialize"
    )]
    pub birth_day: Option<Date>,
}

/// A customer's sex; "unknown" is `None`. The wire encoding lives in
/// [`unconfirmed`](super::unconfirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Serialize for Sex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(unconfirmed::sex_to_wire(*self))
    }
}

/// Body of `POST customer` (create) and `PUT customer` (update; `phone` identifies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer {
    pub phone: Phone,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "birth_day::serialize"
    )]
    pub birth_day: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
}

/// `PUT customer` sends the same fields as `POST customer`.
pub type CustomerUpdate = NewCustomer;

impl NewCustomer {
    /// A customer known only by phone; fill in the other fields as known.
    pub fn new(phone: Phone) -> Self {
        NewCustomer {
            phone,
            first_name: None,
            last_name: None,
            middle_name: None,
            sex: None,
            email: None,
            birth_day: None,
            discount_card_number: None,
        }
    }
}

/// Body of `PUT retail/calc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalcRequest {
    pub phone: Phone,
    pub store: String,
    /// Bonuses to spend; 0 to just learn the maximum.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub bonus_debit: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupons: Option<Vec<String>>,
    pub items: Vec<CalcItem>,
}

/// One line of a calculation or a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalcItem {
    /// Unique line id; a later return names the line by it.
    pub ext: String,
    /// Product id as imported into BonusPlus.
    pub product: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub qnt: Decimal,
    /// Line sum before any discount (price × quantity, in kopecks precision).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub sum: Decimal,
    /// The shop's own discount on the line, roubles (0 if none).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub ds: Decimal,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::arbitrary_precision_option"
    )]
    pub price: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cat: Option<String>,
}

/// Answer of `PUT retail/calc`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalcResult {
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub max_debit_bonuses: Decimal,
    /// The amount spent must be a multiple of it; `None` or 0 means any kopeck amount.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub multiplicity_debit_bonus: Option<Decimal>,
    /// One entry per item, matched by `ext`.
    #[serde(default, deserialize_with = "lenient::vec")]
    pub discount: Vec<ItemDiscount>,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub messages: Vec<String>,
}

impl CalcResult {
    /// Texts about the promotions that fired, wherever BonusPlus put them.
    pub fn all_messages(&self) -> Vec<&str> {
        unconfirmed::calc_messages(self)
    }
}

/// BonusPlus's verdict on one line. Amounts in roubles, percentages 0–100.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ItemDiscount {
    pub ext: String,
    /// Bonuses the line earns.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub cb: Decimal,
    /// Bonuses spent on the line (taken off its price).
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub db: Decimal,
    /// BonusPlus's own discount on the line (taken off its price).
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub ids: Decimal,
    /// `ids` as a percentage.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub idp: Decimal,
    /// The shop's discount on the line, echoed.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub ds: Decimal,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub dp: Decimal,
    /// Earn percentage.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub cbp: Decimal,
    /// Debit percentage.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub dbp: Decimal,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub messages: Vec<String>,
}

impl ItemDiscount {
    /// Roubles taken off the line by BonusPlus: bonuses spent plus its own discount.
    pub fn total_off(&self) -> Decimal {
        self.db + self.ids
    }
}

/// Body of `POST retail`: the calculation's fields plus our unique sale id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleRequest {
    pub phone: Phone,
    pub store: String,
    /// Bonuses spent: the amount released from the reserve just before.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub bonus_debit: Decimal,
    /// Our sale id; BonusPlus refuses a second sale with the same id (`RETAIL_ALREADY_EXIST`).
    pub external_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupons: Option<Vec<String>>,
    pub items: Vec<CalcItem>,
}

impl SaleRequest {
    /// The sale of exactly what was calculated.
    pub fn from_calc(calc: CalcRequest, external_id: String) -> Self {
        SaleRequest {
            phone: calc.phone,
            store: calc.store,
            bonus_debit: calc.bonus_debit,
            external_id,
            coupons: calc.coupons,
            items: calc.items,
        }
    }
}

/// Answer of `POST retail`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SaleResult {
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub discount: Vec<ItemDiscount>,
}

/// Body of `PUT retail/back`: returns `sum` (same terms as the sold item's `sum`) of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnLine {
    pub ext: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub sum: Decimal,
}

/// Body of `PATCH customer/{phone}/balance/reserve`. A negative amount releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReserveRequest {
    pub id: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub amount: Decimal,
}

/// Body of `POST product/import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductImport {
    pub store: String,
    pub products: Vec<ProductTiny>,
}

/// A product or a group (category) of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductTiny {
    pub id: String,
    /// Parent group id; [`TOP_LEVEL_GROUP_PID`](super::unconfirmed::TOP_LEVEL_GROUP_PID) at top level.
    pub pid: String,
    /// Name.
    pub n: String,
    /// True for a group.
    pub g: bool,
}

/// Answer of `GET customer/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerStat {
    #[serde(default)]
    pub all_count: Option<u64>,
}

/// `birthDay` is `YYYY-MM-DD`; a `T00:00:00` suffix is tolerated when read.
mod birth_day {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::macros::format_description;
    use time::Date;

    const FORMAT: &[time::format_description::FormatItem<'static>] =
        format_description!("[year]-[month]-[day]");
    const DATE_LEN: usize = "YYYY-MM-DD".len();

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => {
                let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
            None => serializer.serialize_none(),
        }
    }

    /// An unreadable date reads as `None`: a birthday is never worth failing a lookup for.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        Ok(text.and_then(|text| parse(&text)))
    }

    fn parse(text: &str) -> Option<Date> {
        let day = text.get(..DATE_LEN)?;
        Date::parse(day, FORMAT).ok()
    }
}

/// Readers that accept the small liberties a real server takes with its documented types.
mod lenient {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    use super::Sex;
    use crate::bonusplus::unconfirmed;

    /// A number (or numeric string); absent or `null` reads as zero.
    pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        rust_decimal::serde::arbitrary_precision_option::deserialize(deserializer)
            .map(Option::unwrap_or_default)
    }

    /// A list; `null` reads as empty.
    pub fn vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
    }

    /// Text sent either as a JSON string or as a number (card numbers).
    pub fn string_option<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        })
    }

    /// The numeric sex code (also accepted as a numeric string); anything else is unknown.
    pub fn sex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Sex>, D::Error> {
        let code = match Option::<Value>::deserialize(deserializer)? {
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        };
        Ok(code.and_then(unconfirmed::sex_from_wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn customer_tolerates_unknown_absent_and_null_fields() {
        let customer: Customer = serde_json::from_str(
            r#"{"phone":"79011231122","discountCardNumber":null,"level":"gold",
                "person":{"fn":"Иван","sex":null,"birthDay":"1990-05-17T00:00:00","extra":1}}"#,
        )
        .unwrap();
        assert_eq!(customer.phone, "79011231122");
        assert_eq!(customer.available_bonuses, None);
        let person = customer.person.unwrap();
        assert_eq!(person.first_name.as_deref(), Some("Иван"));
        assert_eq!(person.sex, None);
        assert_eq!(person.birth_day, Some(time::macros::date!(1990 - 05 - 17)));
    }

    #[test]
    fn customer_reads_exact_bonuses_sex_and_numeric_card() {
        let customer: Customer = serde_json::from_str(
            r#"{"phone":"79011231122","discountCardNumber":2000001,"availableBonuses":12345678.91,
                "person":{"sex":2,"birthDay":"not a date"}}"#,
        )
        .unwrap();
        assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
        assert_eq!(customer.discount_card_number.as_deref(), Some("2000001"));
        let person = customer.person.unwrap();
        assert_eq!(person.sex, Some(Sex::Female));
        assert_eq!(person.birth_day, None);
    }

    #[test]
    fn new_customer_skips_absent_fields() {
        let mut customer = NewCustomer::new(Phone::parse("9011231122").unwrap());
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"phone":"79011231122"}"#
        );
        customer.first_name = Some("Иван".into());
        customer.sex = Some(Sex::Male);
        customer.birth_day = Some(time::macros::date!(1990 - 05 - 17));
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"phone":"79011231122","fn":"Иван","sex":1,"birthDay":"1990-05-17"}"#
        );
    }

    #[test]
    fn calc_result_reads_sparse_lines_and_messages_from_both_places() {
        let result: CalcResult = serde_json::from_str(
            r#"{"maxDebitBonuses":60.5,"discount":[{"ext":"1","cb":7.00,"db":null,"ids":10.10,
                "messages":["line","top"]}],"messages":["top"]}"#,
        )
        .unwrap();
        assert_eq!(result.max_debit_bonuses, dec!(60.5));
        assert_eq!(result.multiplicity_debit_bonus, None);
        let line = &result.discount[0];
        assert_eq!(
            (line.cb, line.db, line.total_off()),
            (dec!(7.00), dec!(0), dec!(10.10))
        );
        assert_eq!(result.all_messages(), vec!["top", "line"]);
    }

    #[test]
    fn amounts_are_written_exactly() {
        let line = ReturnLine {
            ext: "l1".into(),
            sum: dec!(0.1) + dec!(0.2),
        };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"ext":"l1","sum":0.3}"#
        );
        let item = CalcItem {
            ext: "l1".into(),
            product: "p".into(),
            qnt: dec!(1.500),
            sum: dec!(12345678.91),
            ds: dec!(0),
            price: None,
            cat: None,
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"ext":"l1","product":"p","qnt":1.500,"sum":12345678.91,"ds":0}"#
        );
    }
}
