//! Wire types of sales and returns: `POST /retaildemand` and `POST /retailsalesreturn`
//! (conventions: [`super`]). Plain data: must not depend on handlers, state, storage or clients.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::*;

/// The customer of a sale. Anonymous sales may omit it entirely or, defensively, send it without
/// `meta`, so `meta` is optional here (unlike in recalc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

/// `bonusProgram` of a sale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleBonusProgram {
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
}

/// A gift certificate used to pay a sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardPayment {
    pub id: String,
    /// The certificate number.
    pub name: String,
    pub payment_sum: Kopecks,
}

/// `POST /retaildemand`: a sale was made. `meta` may arrive with empty strings (the documentation's
/// own example does), so it must not be the only idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailDemand {
    pub retail_store: RetailStoreRef,
    /// Sale number, e.g. "00001".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `"YYYY-MM-DD HH:MM:SS"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moment: Option<String>,
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<SaleAgent>,
    #[serde(default)]
    pub positions: Vec<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_program: Option<SaleBonusProgram>,
    /// Roubles.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cash_sum: Option<Decimal>,
    /// Roubles.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub no_cash_sum: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gift_cards: Vec<GiftCardPayment>,
}

/// The customer of a return. Documented (2021-04-19) as a bare `{id, href}`; the documentation's
/// example sends `{}`; the sale's shape `{meta: {...}}` is accepted too. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReturnAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ReturnAgent {
    /// MoySklad's counterparty id in whichever shape it arrived; `None` for an anonymous return.
    pub fn counterparty_id(&self) -> Option<&str> {
        let from_meta = self.meta.as_ref().map(|meta| meta.id.as_str());
        [from_meta, self.id.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|id| !id.is_empty())
    }
}

/// `demand` of a return: the original sale, whose `meta` may be empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// `POST /retailsalesreturn`. No bonus figures: the loyalty system reverses the linked sale itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailSalesReturn {
    pub retail_store: RetailStoreRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moment: Option<String>,
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<DemandRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<ReturnAgent>,
    #[serde(default)]
    pub positions: Vec<Position>,
    /// Roubles.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cash_sum: Option<Decimal>,
    /// Documented as kopecks while `cashSum` is roubles (example: 283100.0). Kept as received; the
    /// domain layer decides how to read it.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub no_cash_sum: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loyalty_api::wire::test_support::*;
    use rust_decimal_macros::dec;
    use serde_json::{json, Value};

    fn sale_body() -> String {
        format!(
            r#"{{"retailStore": {STORE}, "name": "00042", "moment": "2024-04-18 15:06:00",
                "meta": {{"href": "", "id": ""}},
                "agent": {{"meta": {{"href": "https://ms.example/entity/counterparty/c1", "id": "c1"}},
                           "name": "Ivanov Ivan", "phone": "+7 555 123 4567"}},
                "positions": [{{"assortment": {{"syncId": "s-1",
                                 "meta": {{"href": "https://ms.example/entity/product/p1", "id": "p1"}}}},
                                "quantity": 1.234, "price": 100.00, "discountPercent": 5.00,
                                "discountedPrice": 95.00}}],
                "bonusProgram": {{"bonusValueToSpend": 0, "bonusValueToEarn": 11.70}},
                "cashSum": 17.23, "noCashSum": 100.00,
                "giftCards": [{{"id": "g1", "name": "123456", "paymentSum": 1000}},
                              {{"id": "g2", "name": "654321", "paymentSum": "500"}}]}}"#
        )
    }

    #[test]
    fn retail_demand_reads_and_round_trips() {
        let sale: RetailDemand = parse(&sale_body());
        assert_eq!(sale.meta.id, "");
        assert_eq!(sale.positions[0].assortment.sync_id.as_deref(), Some("s-1"));
        assert_eq!(sale.positions[0].discounted_price, Some(dec!(95.00)));
        assert_eq!(
            sale.bonus_program.as_ref().unwrap().bonus_value_to_earn,
            Some(dec!(11.70))
        );
        assert_eq!(sale.gift_cards[0].payment_sum, Kopecks(1000));
        assert_eq!(sale.gift_cards[1].payment_sum, Kopecks(500));
        assert_eq!(sale.agent.as_ref().unwrap().meta.as_ref().unwrap().id, "c1");
        let mut expected = json_value(&sale_body());
        // Kopecks are written back as integers.
        expected["giftCards"][1]["paymentSum"] = json!(500);
        assert_eq!(reserialised(&sale), expected);
    }

    #[test]
    fn anonymous_sale_is_accepted() {
        let mut body = json_value(&sale_body());
        body.as_object_mut().unwrap().remove("agent");
        let sale: RetailDemand = serde_json::from_str(&body.to_string()).unwrap();
        assert!(sale.agent.is_none());
        body["agent"] = json!({});
        let sale: RetailDemand = serde_json::from_str(&body.to_string()).unwrap();
        assert!(sale.agent.unwrap().meta.is_none());
    }

    fn return_body(agent: Value) -> String {
        format!(
            r#"{{"retailStore": {STORE}, "name": "00001", "moment": "2024-04-27 15:43:00",
                "meta": {{"href": "", "id": ""}}, "demand": {{"meta": {{"href": "", "id": ""}}}},
                "agent": {agent},
                "positions": [{{"assortment": {{"meta": {{"href": "h", "id": "p1"}}}}, "quantity": 1,
                                "price": 123.45, "discountPercent": 49.99, "discountedPrice": 62.95}}],
                "cashSum": 62.95, "noCashSum": 283100.0}}"#
        )
    }

    #[test]
    fn return_agent_in_every_shape() {
        let bare: RetailSalesReturn = parse(&return_body(json!({"id": "c1", "href": "h1"})));
        assert_eq!(bare.agent.as_ref().unwrap().counterparty_id(), Some("c1"));
        let with_meta: RetailSalesReturn =
            parse(&return_body(json!({"meta": {"href": "h1", "id": "c2"}})));
        assert_eq!(
            with_meta.agent.as_ref().unwrap().counterparty_id(),
            Some("c2")
        );
        let empty: RetailSalesReturn = parse(&return_body(json!({})));
        assert_eq!(empty.agent.as_ref().unwrap().counterparty_id(), None);
        assert_eq!(empty.no_cash_sum, Some(dec!(283100.0)));
        let body = return_body(json!({"id": "c1", "href": "h1"}));
        assert_eq!(reserialised(&bare), json_value(&body));
        assert!(reserialised(&bare).to_string().contains("283100.0"));
    }
}
