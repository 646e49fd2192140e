//! Wire types of the customer endpoints: `GET /counterparty`, `POST /counterparty`,
//! `POST /counterparty/detail`, `POST /counterparty/verify` (conventions: [`super`]).
//! Plain data: must not depend on handlers, state, storage or clients.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::*;

/// Whether a new customer's registration was confirmed with a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusCheck {
    Unchecked,
    Checked,
    Ignore,
}

/// `POST /counterparty`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyCreate {
    pub retail_store: RetailStoreRef,
    pub meta: Meta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_check: Option<StatusCheck>,
}

/// Query string of `GET /counterparty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartySearchQuery {
    /// Free text typed at the till: a phone, a card number, a name.
    #[serde(default)]
    pub search: String,
    /// Required by the documentation since 2024-06-28; older tills may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_store_id: Option<String>,
}

/// One customer found by `GET /counterparty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyRow {
    /// The customer's id in the loyalty system (a GUID).
    pub id: String,
    /// MoySklad's counterparty UUID, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
}

/// Answer of `GET /counterparty` (empty `rows` when nothing matches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterpartySearchResponse {
    pub rows: Vec<CounterpartyRow>,
}

/// `POST /counterparty/detail`: the customer is `meta.id`; the attributes are informational.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyDetailRequest {
    pub retail_store: RetailStoreRef,
    pub meta: Meta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyDetailResponse {
    pub bonus_program: BonusBalance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BonusBalance {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub agent_bonus_balance: Decimal,
}

/// `POST /counterparty/verify`. The summary marks `retailStore` required but the documentation's
/// own example omits it, so it is optional here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyVerifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_store: Option<RetailStoreRef>,
    pub meta: HrefMeta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loyalty_api::wire::test_support::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn counterparty_create_round_trips() {
        let body = format!(
            r#"{{"retailStore": {STORE},
                "meta": {{"href": "https://ms.example/entity/counterparty/c1", "id": "c1"}},
                "name": "Sidorov Petr", "discountCardNumber": "123", "phone": "89011231122",
                "email": "p@example.org", "syncId": "sync-1", "legalFirstName": "Petr",
                "legalMiddleName": "Ivanovich", "legalLastName": "Sidorov",
                "birthDate": "1980-01-02 00:00:00", "sex": "MALE", "statusCheck": "UNCHECKED",
                "someNumber": 12.5}}"#
        );
        let create: CounterpartyCreate = parse(&body);
        assert_eq!(create.status_check, Some(StatusCheck::Unchecked));
        assert_eq!(
            create.attributes.legal_middle_name.as_deref(),
            Some("Ivanovich")
        );
        assert_eq!(create.sync_id.as_deref(), Some("sync-1"));
        let mut expected = json_value(&body);
        expected.as_object_mut().unwrap().remove("someNumber");
        assert_eq!(reserialised(&create), expected);
    }

    #[test]
    fn counterparty_search_and_rows() {
        let query: CounterpartySearchQuery =
            serde_json::from_value(json!({"search": "9039993344", "retailStoreId": "r1"})).unwrap();
        assert_eq!(query.retail_store_id.as_deref(), Some("r1"));
        let body = r#"{"rows": [{"id": "7d1f0c58-1111-2222-3333-444455556666", "msId": "m1",
            "name": "Ivanova Olga", "discountCardNumber": "D1", "phone": "+7 555 123 4567",
            "email": "o@example.org", "legalFirstName": "Olga", "legalMiddleName": "P",
            "legalLastName": "Ivanova", "birthDate": "1970-10-10 00:00:00", "sex": "FEMALE"}]}"#;
        let response: CounterpartySearchResponse = parse(body);
        assert_eq!(response.rows[0].ms_id.as_deref(), Some("m1"));
        assert_eq!(reserialised(&response), json_value(body));
        let empty = CounterpartySearchResponse { rows: vec![] };
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"rows":[]}"#);
    }

    #[test]
    fn counterparty_detail_round_trips() {
        let body = format!(
            r#"{{"retailStore": {STORE}, "meta": {{"href": "h", "id": "c1"}}, "phone": "+7 555 123 4567"}}"#
        );
        let request: CounterpartyDetailRequest = parse(&body);
        assert_eq!(request.meta.id, "c1");
        assert_eq!(reserialised(&request), json_value(&body));
        let response = CounterpartyDetailResponse {
            bonus_program: BonusBalance {
                agent_bonus_balance: dec!(500.25),
            },
        };
        let text = serde_json::to_string(&response).unwrap();
        assert_eq!(text, r#"{"bonusProgram":{"agentBonusBalance":500.25}}"#);
        assert_eq!(parse::<CounterpartyDetailResponse>(&text), response);
    }

    #[test]
    fn counterparty_verify_accepts_href_only_meta_without_store() {
        let body = r#"{"meta": {"href": "https://ms.example/api/posap/1.0/entity/counterparty/syncid/abc"},
            "name": "Romashkina Vera", "phone": "+79011231122", "birthDate": "1992-08-01 00:00:00.000",
            "sex": "FEMALE"}"#;
        let request: CounterpartyVerifyRequest = parse(body);
        assert!(request.retail_store.is_none());
        assert!(request.meta.id.is_none());
        assert_eq!(reserialised(&request), json_value(body));
    }
}
