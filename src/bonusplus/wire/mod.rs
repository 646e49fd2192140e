//! Request and response bodies of the BonusPlus API, field for field as in
//! `docs/bonusplus-wire.md`. Money and quantities are exact `Decimal`s written as JSON numbers.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Requests skip optional fields that are `None`: ASP.NET silently ignores unknown fields, so
//! the client sends exactly the documented names and nothing it was not given. Responses ignore
//! unknown fields and read an absent or `null` amount as zero, so a sparse answer does not fail
//! a sale at the till.

//!
//! One module per resource, named as the client's call files (`client/`): `customers`,
//! `customer_update`, `retail`, `certificates`, `products`.

mod certificates;
mod customer_update;
mod customers;
mod products;
mod retail;

pub use certificates::*;
pub use customer_update::*;
pub use customers::*;
pub use products::*;
pub use retail::*;

/// Dates sent to BonusPlus: `ДД.ММ.ГГГГ` (DD.MM.YYYY), as `CreateCustomer.birthDay` and
/// `PatchCustomer.birthday` document.
pub(crate) mod dotted_date {
    use serde::Serializer;
    use time::macros::format_description;
    use time::Date;

    pub(crate) const FORMAT: &[time::format_description::FormatItem<'static>] =
        format_description!("[day].[month].[year]");

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => {
                let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
            None => serializer.serialize_none(),
        }
    }
}

/// Readers that accept the small liberties a real server takes with its documented types.
pub(super) mod lenient {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;
    use time::Date;
    use uuid::Uuid;

    use super::Sex;
    use crate::bonusplus::wire_assumptions;

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

    /// Text sent either as a JSON string or as a number (card numbers); anything else is absent.
    pub fn string_option<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        })
    }

    /// A whole number sent as a number or a numeric string; anything else is absent.
    pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Ok(string_option(deserializer)?.and_then(|text| text.trim().parse().ok()))
    }

    /// A GUID in any of the usual spellings; anything else is absent.
    pub fn guid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Uuid>, D::Error> {
        Ok(string_option(deserializer)?.and_then(|text| Uuid::parse_str(text.trim()).ok()))
    }

    /// A date in one of the formats [`wire_assumptions::parse_answered_date`] reads. An unreadable
    /// date is absent: a birthday is never worth failing a lookup for.
    pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
        Ok(string_option(deserializer)?
            .as_deref()
            .and_then(wire_assumptions::parse_answered_date))
    }

    /// The numeric sex code (also accepted as a numeric string); anything else is unknown.
    pub fn sex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Sex>, D::Error> {
        let code = match Option::<Value>::deserialize(deserializer)? {
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        };
        Ok(code.and_then(wire_assumptions::sex_from_wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ean::Ean;
    use crate::domain::phone::Phone;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;
    use time::macros::date;
    use uuid::Uuid;

    #[test]
    fn customer_tolerates_unknown_absent_and_null_fields() {
        let customer: Customer = serde_json::from_str(
            r#"{"phone":"79011231122","discountCardNumber":null,"level":"gold","id":"not-a-guid",
                "person":{"fn":"Иван","sex":null,"birthDay":"1990-05-17T00:00:00","extra":1}}"#,
        )
        .unwrap();
        assert_eq!(customer.phone, "79011231122");
        assert_eq!(customer.id, None);
        assert_eq!(customer.available_bonuses, None);
        assert_eq!(customer.discount_card_name, None);
        let person = customer.person.unwrap();
        assert_eq!(person.first_name.as_deref(), Some("Иван"));
        assert_eq!(person.sex, None);
        assert_eq!(person.birth_day, Some(date!(1990 - 05 - 17)));
    }

    #[test]
    fn customer_reads_id_card_name_exact_bonuses_sex_and_numeric_card() {
        let customer: Customer = serde_json::from_str(
            r#"{"id":"9F2A5C1E-0B7D-4C33-8E55-1A2B3C4D5E6F","phone":"79011231122",
                "discountCardNumber":2000000051420,"discountCardName":"Базовая",
                "availableBonuses":12345678.91,"person":{"sex":2,"birthDay":"not a date"}}"#,
        )
        .unwrap();
        assert_eq!(
            customer.id,
            Some(Uuid::from_u128(0x9f2a5c1e_0b7d_4c33_8e55_1a2b3c4d5e6f))
        );
        assert_eq!(customer.discount_card_name.as_deref(), Some("Базовая"));
        assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
        assert_eq!(
            customer.discount_card_number.as_deref(),
            Some("2000000051420")
        );
        let person = customer.person.unwrap();
        assert_eq!(person.sex, Some(Sex::Female));
        assert_eq!(person.birth_day, None);
    }

    #[test]
    fn person_reads_both_spellings_of_names_and_birthday() {
        let read = |json: &str| serde_json::from_str::<Person>(json).unwrap();
        let long = read(
            r#"{"firstName":"Анна","lastName":"Сидорова","middleName":"Павловна",
                "birthday":"17.05.1990","email":"a@example.com"}"#,
        );
        assert_eq!(long.first_name.as_deref(), Some("Анна"));
        assert_eq!(long.last_name.as_deref(), Some("Сидорова"));
        assert_eq!(long.middle_name.as_deref(), Some("Павловна"));
        assert_eq!(long.birth_day, Some(date!(1990 - 05 - 17)));
        // Both spellings at once are not a duplicate-field error; the short one wins unless blank.
        let both = read(
            r#"{"fn":"Иван","firstName":"Ivan","ln":"","lastName":"Петров","birthDay":"1990-05-17","birthday":"01.01.2000"}"#,
        );
        assert_eq!(both.first_name.as_deref(), Some("Иван"));
        assert_eq!(both.last_name.as_deref(), Some("Петров"));
        assert_eq!(both.birth_day, Some(date!(1990 - 05 - 17)));
        assert_eq!(read("{}"), Person::default());
    }

    #[test]
    fn new_customer_skips_absent_fields_and_writes_documented_formats() {
        let mut customer = NewCustomer::new(Phone::parse("9011231122").unwrap());
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"phone":"79011231122"}"#
        );
        customer.first_name = Some("Иван".into());
        customer.sex = Some(Sex::Male);
        customer.birth_day = Some(date!(1990 - 05 - 07));
        customer.ean = Some(Ean::parse("2000000051420").unwrap());
        customer.store = Some("Магазин 1".into());
        customer.no_reg_notification = true;
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"phone":"79011231122","fn":"Иван","sex":1,"birthDay":"07.05.1990","ean":"2000000051420","store":"Магазин 1","noRegNotification":true}"#
        );
    }

    #[test]
    fn patch_sends_only_what_is_given_and_never_sex() {
        let mut patch = CustomerPatch {
            sex: Some(Sex::Female),
            ..CustomerPatch::default()
        };
        assert_eq!(serde_json::to_string(&patch).unwrap(), "{}");
        assert!(patch.is_empty(), "sex alone changes nothing through PATCH");
        patch.last_name = Some("Сидорова".into());
        patch.birthday = Some(date!(1985 - 02 - 01));
        patch.card_number = Some(Ean::parse("96385074").unwrap());
        assert_eq!(
            serde_json::to_string(&patch).unwrap(),
            r#"{"ln":"Сидорова","birthday":"01.02.1985","cardNumber":96385074}"#
        );
        assert!(!patch.is_empty());
        // An EAN-13 never reaches the wire as an overflowing int: it is taken out first.
        patch.card_number = Some(Ean::parse("2000000051420").unwrap());
        assert!(serde_json::to_string(&patch).is_err());
        let (sendable, withheld) = patch.without_overflowing_card();
        assert_eq!(sendable.card_number, None);
        assert_eq!(withheld, patch.card_number);
        assert_eq!(
            serde_json::to_string(&sendable).unwrap(),
            r#"{"ln":"Сидорова","birthday":"01.02.1985"}"#
        );
    }

    #[test]
    fn patch_from_a_registration_keeps_every_field() {
        let mut customer = NewCustomer::new(Phone::parse("9011231122").unwrap());
        customer.middle_name = Some("Павловна".into());
        customer.email = Some("a@example.com".into());
        customer.sex = Some(Sex::Female);
        customer.ean = Some(Ean::parse("2000000051420").unwrap());
        customer.store = Some("Магазин 1".into());
        let patch = CustomerPatch::from(&customer);
        assert_eq!(patch.middle_name.as_deref(), Some("Павловна"));
        assert_eq!(patch.email.as_deref(), Some("a@example.com"));
        assert_eq!(patch.sex, Some(Sex::Female));
        assert_eq!(patch.card_number, customer.ean);
    }

    #[test]
    fn filter_skips_empty_lists_and_knows_when_it_filters_nothing() {
        let filter = CustomerFilter::last_name("Петров");
        assert_eq!(
            serde_json::to_string(&filter).unwrap(),
            r#"{"lastName":["Петров"]}"#
        );
        assert!(!filter.is_empty());
        assert!(CustomerFilter::default().is_empty());
        assert!(CustomerFilter::first_name("  ").is_empty());
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
    fn sale_skips_absent_reserve_and_certificates_and_writes_them_exactly() {
        let calc = CalcRequest {
            phone: Phone::parse("9011231122").unwrap(),
            store: "S".into(),
            bonus_debit: dec!(0),
            coupons: None,
            items: Vec::new(),
        };
        let mut sale = SaleRequest::from_calc(calc, "sale-1".into());
        assert_eq!(
            serde_json::to_string(&sale).unwrap(),
            r#"{"phone":"79011231122","store":"S","bonusDebit":0,"externalId":"sale-1","items":[]}"#
        );
        sale.reserve_id = Some("r-1".into());
        sale.gift_cards.push(GiftCardPayment {
            id: Uuid::from_u128(1),
            payment_sum: Decimal::new(50_000, 2),
        });
        let json = serde_json::to_string(&sale).unwrap();
        assert!(
            json.ends_with(r#""reserveId":"r-1","giftCards":[{"id":"00000000-0000-0000-0000-000000000001","paymentSum":500.00}]}"#),
            "{json}"
        );
    }

    #[test]
    fn sale_result_reads_retail_result_leniently() {
        let result: SaleResult = serde_json::from_str(
            r#"{"id":"1000001","orderUid":"0c0ffee0-0000-4000-8000-000000000001",
                "orderUrl":"https://bonusplus.pro/r/1","customer":{"phone":"79011231122"}}"#,
        )
        .unwrap();
        assert_eq!(result.id, Some(1_000_001));
        assert_eq!(
            result.order_uid,
            Some(Uuid::from_u128(0x0c0ffee0_0000_4000_8000_000000000001))
        );
        assert_eq!(
            result.order_url.as_deref(),
            Some("https://bonusplus.pro/r/1")
        );
        assert_eq!(result.customer.unwrap().phone, "79011231122");
        let sparse: SaleResult = serde_json::from_str(r#"{"id":null}"#).unwrap();
        assert_eq!((sparse.id, sparse.customer), (None, None));
    }

    #[test]
    fn certificate_status_reads_known_and_unknown_values() {
        assert_eq!(
            CertificateStatus::from_wire("CAN_BE_USED"),
            CertificateStatus::CanBeUsed
        );
        assert_eq!(
            CertificateStatus::from_wire(" partially_redeemed "),
            CertificateStatus::PartiallyRedeemed
        );
        assert_eq!(
            CertificateStatus::from_wire("BLOCKED"),
            CertificateStatus::Unknown("BLOCKED".into())
        );
        assert!(CertificateStatus::PartiallyRedeemed.is_usable());
        assert!(!CertificateStatus::Expired.is_usable());
        assert!(!CertificateStatus::Unknown("BLOCKED".into()).is_usable());
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
