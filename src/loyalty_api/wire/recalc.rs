//! Wire types of the receipt endpoints: `POST /retaildemand/recalc` and `POST /retaildemand/verify`
//! (conventions: [`super`]). Plain data: must not depend on handlers, state, storage or clients.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::*;

/// A customer as sent in a receipt: `meta` plus attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterpartyRef {
    pub meta: Meta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionType {
    #[default]
    Earning,
    Spending,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcBonusRequest {
    /// Absent means `EARNING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<TransactionType>,
}

/// `POST /retaildemand/recalc`: a receipt without discounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcRequest {
    pub retail_store: RetailStoreRef,
    /// Echoed verbatim in the answer.
    pub agent: Verbatim<CounterpartyRef>,
    pub positions: Vec<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_program: Option<RecalcBonusRequest>,
    /// Absent or null with `SPENDING` ⇒ answer the maximum spendable.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub preferred_bonus_to_spend: Option<Decimal>,
}

/// `bonusProgram` of our recalc answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcBonusResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<TransactionType>,
    /// Balance before the sale.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_bonus_balance: Option<Decimal>,
    /// Bonuses that will be spent (the maximum when no preference was given).
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub bonus_value_to_spend: Option<Decimal>,
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub bonus_value_to_earn: Option<Decimal>,
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_bonus_balance_after: Option<Decimal>,
    /// Roubles paid by bonuses, 2 decimals.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub paid_by_bonus_points: Option<Decimal>,
    /// Printed on the receipt; may contain line breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_extra_info: Option<String>,
}

/// Answer of `POST /retaildemand/recalc`: the receipt with all discounts applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcResponse {
    pub agent: Verbatim<CounterpartyRef>,
    pub positions: Vec<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_program: Option<RecalcBonusResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_verification: Option<bool>,
}

/// `POST /retaildemand/verify`: ask for a code confirming that bonuses may be spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailDemandVerifyRequest {
    pub retail_store: RetailStoreRef,
    pub counterparty_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loyalty_api::wire::test_support::*;
    use rust_decimal_macros::dec;
    use serde_json::{json, Value};

    fn recalc_request_body() -> String {
        format!(
            r#"{{
            "retailStore": {STORE},
            "agent": {{
                "meta": {{"href": "https://ms.example/entity/counterparty/aaaa", "id": "aaaa"}},
                "name": "Petrova Anna", "discountCardNumber": "C-77", "phone": "+7 900 000 11 22",
                "email": "anna@example.org", "legalFirstName": "Anna", "legalLastName": "Petrova",
                "sex": "FEMALE", "birthDate": "1991-02-03 00:00:00", "futureField": {{"n": 1.10}}
            }},
            "positions": [{{
                "assortment": {{"meta": {{"href": "https://ms.example/entity/product/p1", "id": "p1",
                                          "idType": "native", "type": "product", "extra": 5.50}}}},
                "quantity": 2.500, "price": 199.90,
                "sn": [{{"meta": {{"href": "https://ms.example/sn/s1", "id": "s1"}}, "name": "SN-1", "x": 0.10}}],
                "pack": {{"id": "pk1", "name": "Bottle 1.5 l", "quantity": 1.50, "barcode": "2000000051420", "ratio": 3.000}}
            }}],
            "bonusProgram": {{"transactionType": "SPENDING"}},
            "preferredBonusToSpend": 120.50
        }}"#
        )
    }

    #[test]
    fn recalc_request_reads_every_field() {
        let request: RecalcRequest = parse(&recalc_request_body());
        assert_eq!(
            request.retail_store.meta.id,
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(request.agent.meta.id, "aaaa");
        assert_eq!(request.agent.attributes.sex, Some(Sex::Female));
        assert_eq!(
            request.agent.attributes.phone.as_deref(),
            Some("+7 900 000 11 22")
        );
        let line = &request.positions[0];
        assert_eq!(line.quantity, dec!(2.5));
        assert_eq!(line.price, dec!(199.90));
        assert_eq!(line.assortment.meta.id_type.as_deref(), Some("native"));
        assert_eq!(line.assortment.meta.entity_type.as_deref(), Some("product"));
        assert_eq!(line.sn[0].name.as_deref(), Some("SN-1"));
        assert_eq!(line.pack.as_ref().unwrap().quantity, dec!(1.5));
        assert_eq!(
            request.bonus_program.unwrap().transaction_type,
            Some(TransactionType::Spending)
        );
        assert_eq!(request.preferred_bonus_to_spend, Some(dec!(120.50)));
    }

    #[test]
    fn recalc_request_round_trips_with_unknown_sub_fields_of_echoed_objects() {
        let body = recalc_request_body();
        let request: RecalcRequest = parse(&body);
        let expected = json_value(&body);
        assert_eq!(reserialised(&request), expected);
        // Numbers keep their exact spelling (trailing zeros included).
        let text = serde_json::to_string(&request.positions[0]).unwrap();
        assert!(text.contains(r#""quantity":1.50"#), "{text}");
        assert!(text.contains(r#""ratio":3.000"#), "{text}");
        assert!(text.contains(r#""price":199.90"#), "{text}");
    }

    #[test]
    fn recalc_response_serialises_money_as_exact_numbers() {
        let request: RecalcRequest = parse(&recalc_request_body());
        let mut position = request.positions[0].clone();
        position.discounted_price = Some(dec!(179.91));
        position.discount_percent = Some(dec!(10.00));
        let response = RecalcResponse {
            agent: request.agent.clone(),
            positions: vec![position],
            bonus_program: Some(RecalcBonusResult {
                transaction_type: Some(TransactionType::Spending),
                agent_bonus_balance: Some(dec!(500)),
                bonus_value_to_spend: Some(dec!(49.98)),
                bonus_value_to_earn: Some(dec!(0)),
                agent_bonus_balance_after: Some(dec!(450.02)),
                paid_by_bonus_points: Some(dec!(49.98)),
                receipt_extra_info: Some("Thank you!\nSee you soon".into()),
            }),
            need_verification: Some(false),
        };
        let text = serde_json::to_string(&response).unwrap();
        for expected in [
            r#""discountedPrice":179.91"#,
            r#""discountPercent":10.00"#,
            r#""paidByBonusPoints":49.98"#,
            r#""agentBonusBalanceAfter":450.02"#,
            r#""needVerification":false"#,
            r#""futureField":{"n":1.10}"#,
        ] {
            assert!(text.contains(expected), "{expected} missing in {text}");
        }
        let back: RecalcResponse = parse(&text);
        assert_eq!(back, response);
        assert_eq!(
            reserialised(&back)["agent"],
            json_value(&recalc_request_body())["agent"]
        );
    }

    #[test]
    fn wrong_types_are_refused() {
        let mut body = json_value(&recalc_request_body());
        body["positions"][0]["price"] = json!(true);
        assert!(serde_json::from_value::<RecalcRequest>(body).is_err());

        let mut body = json_value(&recalc_request_body());
        body["positions"][0]["pack"]["quantity"] = json!({"a": 1});
        assert!(serde_json::from_str::<RecalcRequest>(&body.to_string()).is_err());

        let mut body = json_value(&recalc_request_body());
        body["agent"]["sex"] = json!("OTHER");
        assert!(serde_json::from_str::<RecalcRequest>(&body.to_string()).is_err());

        let mut body = json_value(&recalc_request_body());
        body["positions"][0]["sn"][0]["meta"] = json!("s1");
        assert!(serde_json::from_str::<RecalcRequest>(&body.to_string()).is_err());

        assert!(serde_json::from_str::<RecalcRequest>(r#"{"positions": []}"#).is_err());
    }

    #[test]
    fn retail_demand_verify_round_trips() {
        let body = format!(
            r#"{{"retailStore": {STORE}, "counterpartyId": "c9", "phone": "+79011231122"}}"#
        );
        let request: RetailDemandVerifyRequest = parse(&body);
        assert_eq!(request.counterparty_id, "c9");
        assert_eq!(reserialised(&request), json_value(&body));
    }

    #[test]
    fn null_optional_money_reads_as_absent() {
        let mut body = json_value(&recalc_request_body());
        body["preferredBonusToSpend"] = Value::Null;
        let request: RecalcRequest = serde_json::from_str(&body.to_string()).unwrap();
        assert_eq!(request.preferred_bonus_to_spend, None);
    }
}
