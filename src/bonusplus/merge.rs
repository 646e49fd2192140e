//! Read–merge–write for `PUT customer/{phoneNumber}`, a full replace: the body carries back every
//! field BonusPlus answered for the customer, with the change on top — or no body at all (and a
//! reason) when some answered field could not be carried back, since the PUT would erase it.
//! Pure: must not depend on I/O, `state`, services or `store`.

use serde_json::{Map, Value};

use super::wire::{dotted_date, CustomerPatch, UpdateCustomer};
use super::wire_assumptions;

/// The `UpdateCustomer` body that writes `patch` and keeps everything else of `current` (the
/// `GET customer` answer, as JSON). `Err` names, in Russian, what could not be carried back.
pub(crate) fn replace_body(
    current: &Map<String, Value>,
    patch: &CustomerPatch,
) -> Result<UpdateCustomer, String> {
    let mut body = Map::new();
    carry_back(current, &mut body)?;
    if let Some(Value::Object(person)) = current.get("person") {
        carry_back(person, &mut body)?;
    }
    let mut update: UpdateCustomer = serde_path_to_error::deserialize(Value::Object(body))
        .map_err(|err| {
            format!(
                "поле «{}» ответа БонусПлюс нельзя вернуть в PUT (другой тип): PUT стёр бы его",
                err.path()
            )
        })?;
    apply(&mut update, patch)?;
    Ok(update)
}

/// Copies every member of `from` into `body` under its `UpdateCustomer` name.
fn carry_back(from: &Map<String, Value>, body: &mut Map<String, Value>) -> Result<(), String> {
    for (name, value) in from {
        if is_empty(value) || wire_assumptions::CUSTOMER_READ_ONLY.contains(&name.as_str()) {
            continue;
        }
        let Some(target) = wire_assumptions::update_field_of(name) else {
            return Err(format!(
                "поле «{name}» ответа БонусПлюс не предусмотрено в PUT: PUT стёр бы его"
            ));
        };
        if body.contains_key(target) {
            continue;
        }
        body.insert(target.to_owned(), converted(target, name, value)?);
    }
    Ok(())
}

/// A value as `UpdateCustomer` takes it: the card as Int32, the birthday as `ДД.ММ.ГГГГ`.
fn converted(target: &str, name: &str, value: &Value) -> Result<Value, String> {
    let text = match value {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    match (target, text) {
        ("newCardNumber", Some(card)) => wire_assumptions::card_number_int(&card)
            .map(Value::from)
            .ok_or_else(|| {
                format!("карта клиента «{card}» не помещается в целое число (Int32), которое принимает PUT: PUT стёр бы её")
            }),
        ("birthDay", Some(day)) => wire_assumptions::parse_answered_date(&day)
            .and_then(|date| date.format(dotted_date::FORMAT).ok())
            .map(Value::String)
            .ok_or_else(|| format!("дата «{name}» в ответе БонусПлюс не прочитана: PUT стёр бы её")),
        _ => Ok(value.clone()),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The change on top of what is kept. A card that is not an Int32 must have been left out of
/// `patch` by the caller.
fn apply(update: &mut UpdateCustomer, patch: &CustomerPatch) -> Result<(), String> {
    let given = |value: &Option<String>, kept: &mut Option<String>| {
        if value.is_some() {
            kept.clone_from(value);
        }
    };
    given(&patch.first_name, &mut update.first_name);
    given(&patch.last_name, &mut update.last_name);
    given(&patch.middle_name, &mut update.middle_name);
    given(&patch.email, &mut update.email);
    if let Some(day) = patch.birthday {
        update.birth_day = Some(
            day.format(dotted_date::FORMAT)
                .map_err(|err| format!("дата рождения: {err}"))?,
        );
    }
    if let Some(sex) = patch.sex {
        update.sex = Some(Value::from(wire_assumptions::sex_to_wire(sex)));
    }
    if let Some(card) = &patch.card_number {
        let number = wire_assumptions::card_number_int(card.as_str())
            .ok_or_else(|| format!("карта «{}» не помещается в Int32", card.as_str()))?;
        update.new_card_number = Some(number);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bonusplus::wire::Sex;
    use crate::domain::ean::Ean;
    use time::macros::date;

    fn answer(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_answered_field_goes_back_with_the_change_on_top() {
        let current = answer(
            r#"{"id":"9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f","phone":"79011231122",
                "discountCardNumber":"12345678","discountCardName":"Золотая",
                "availableBonuses":10.5,"parentphone":"79990000001","desc":"VIP",
                "address":"Ленина, 1","profileVkontakte":"vk.com/anna","disablePromoSMS":true,
                "person":{"fn":"Анна","ln":"Иванова","sex":2,"email":"old@example.com",
                          "birthDay":"1990-05-17T00:00:00"}}"#,
        );
        let patch = CustomerPatch {
            last_name: Some("Сидорова".into()),
            ..CustomerPatch::default()
        };
        let body = replace_body(&current, &patch).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"newCardNumber": 12345678, "newCard": "Золотая",
                "parentphone": "79990000001", "fn": "Анна", "ln": "Сидорова", "sex": 2,
                "email": "old@example.com", "desc": "VIP", "birthDay": "17.05.1990",
                "profileVkontakte": "vk.com/anna", "address": "Ленина, 1",
                "disablePromoSMS": true})
        );
    }

    #[test]
    fn an_ean13_card_or_an_unknown_field_refuses_the_put() {
        let patch = CustomerPatch::default();
        let card = answer(r#"{"phone":"79011231122","discountCardNumber":"2000000051420"}"#);
        let reason = replace_body(&card, &patch).unwrap_err();
        assert!(reason.contains("2000000051420"), "{reason}");
        let odd = answer(r#"{"phone":"79011231122","person":{"nickname":"Аня"}}"#);
        let reason = replace_body(&odd, &patch).unwrap_err();
        assert!(
            reason.contains("nickname") && !reason.contains("Аня"),
            "{reason}"
        );
        let typed = answer(r#"{"phone":"79011231122","disablePromoSMS":"maybe"}"#);
        assert!(replace_body(&typed, &patch).is_err());
        // Empty members hold nothing to lose.
        let empty = answer(r#"{"phone":"79011231122","nickname":null,"desc":""}"#);
        assert_eq!(replace_body(&empty, &patch), Ok(UpdateCustomer::default()));
    }

    #[test]
    fn the_change_writes_birthday_sex_and_an_int_card() {
        let current = answer(r#"{"phone":"79011231122"}"#);
        let patch = CustomerPatch {
            birthday: Some(date!(1985 - 02 - 01)),
            sex: Some(Sex::Male),
            card_number: Some(Ean::parse("12345670").unwrap()),
            ..CustomerPatch::default()
        };
        let body = replace_body(&current, &patch).unwrap();
        assert_eq!(body.birth_day.as_deref(), Some("01.02.1985"));
        assert_eq!(body.sex, Some(Value::from(1)));
        assert_eq!(body.new_card_number, Some(12_345_670));
    }
}
