//! MoySklad's counterparties (`entity/counterparty`) as the JSON API 1.2 lists them, read page by
//! page for the customer import, and turned into the import's [`Counterparty`].
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Field names follow MoySklad's reference (moysklad/api-remap-1.2-doc): `phone` and
//! `discountCardNumber` are free text, `bonusPoints` is an integer (read only, the balance of the
//! shop's active MoySklad bonus programme), `tags` are the customer groups, `birthDate` a
//! date-time, `sex` `MALE`/`FEMALE`, and the name parts `legalFirstName`, `legalLastName`,
//! `legalMiddleName` (individuals and entrepreneurs). A field of an unexpected type is read as
//! absent rather than failing the whole page.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::json_api::{JsonApiClient, JsonApiError, Page};
use crate::domain::customer_import::{Counterparty, Gender};

/// The list's name in the JSON API.
pub const COUNTERPARTY_ENTITY: &str = "counterparty";

/// One row of `entity/counterparty`, the fields the import reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyRow {
    pub id: String,
    #[serde(default, deserialize_with = "text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub legal_first_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub legal_last_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub legal_middle_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub birth_date: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub sex: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub discount_card_number: Option<String>,
    #[serde(default, deserialize_with = "integer")]
    pub bonus_points: Option<i64>,
    #[serde(default, deserialize_with = "texts")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "flag")]
    pub archived: bool,
}

impl From<CounterpartyRow> for Counterparty {
    fn from(row: CounterpartyRow) -> Counterparty {
        let birth_date = row
            .birth_date
            .as_deref()
            .and_then(|text| text.get(..10))
            .map(str::to_owned);
        let sex = match row.sex.as_deref() {
            Some("MALE") => Some(Gender::Male),
            Some("FEMALE") => Some(Gender::Female),
            _ => None,
        };
        Counterparty {
            id: row.id,
            name: row.name.unwrap_or_default(),
            first_name: row.legal_first_name,
            last_name: row.legal_last_name,
            middle_name: row.legal_middle_name,
            phone: row.phone,
            email: row.email,
            birth_date,
            sex,
            card: row.discount_card_number,
            points: row.bonus_points.unwrap_or(0),
            tags: row.tags,
            archived: row.archived,
        }
    }
}

impl JsonApiClient {
    /// One page of the account's counterparties, in MoySklad's stable list order.
    pub async fn counterparty_page(
        &self,
        token: &SecretString,
        offset: u64,
        limit: u32,
    ) -> Result<Page<Counterparty>, JsonApiError> {
        let page: Page<CounterpartyRow> = self
            .page(token, COUNTERPARTY_ENTITY, offset, limit, &[])
            .await?;
        Ok(Page {
            rows: page.rows.into_iter().map(Counterparty::from).collect(),
            total: page.total,
            offset: page.offset,
        })
    }
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}

fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    })
}

fn texts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    })
}

fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(matches!(
        Value::deserialize(deserializer)?,
        Value::Bool(true)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_row_becomes_a_counterparty() {
        let row: CounterpartyRow = serde_json::from_value(serde_json::json!({
            "id": "c1", "name": "Иванов Иван", "companyType": "individual",
            "legalFirstName": "Иван", "legalLastName": "Иванов", "phone": "+7 (901) 123-11-22",
            "email": "ivan@example.ru", "birthDate": "1990-05-17 00:00:00.000", "sex": "MALE",
            "discountCardNumber": " 2000000051420 ", "bonusPoints": 1400, "tags": ["вип"],
            "archived": false
        }))
        .unwrap();
        let cp = Counterparty::from(row);
        assert_eq!(cp.first_name.as_deref(), Some("Иван"));
        assert_eq!(cp.birth_date.as_deref(), Some("1990-05-17"));
        assert_eq!(cp.sex, Some(Gender::Male));
        assert_eq!(cp.card.as_deref(), Some("2000000051420"));
        assert_eq!(cp.points, 1400);
        assert_eq!(cp.tags, vec!["вип".to_owned()]);
    }

    #[test]
    fn odd_fields_are_absent_not_fatal() {
        let row: CounterpartyRow = serde_json::from_value(serde_json::json!({
            "id": "c2", "phone": {"x": 1}, "bonusPoints": "12", "tags": "nope", "archived": "yes"
        }))
        .unwrap();
        let cp = Counterparty::from(row);
        assert_eq!(cp.phone, None);
        assert_eq!(cp.points, 12);
        assert!(cp.tags.is_empty());
        assert!(!cp.archived);
    }
}
