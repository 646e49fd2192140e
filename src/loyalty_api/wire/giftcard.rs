//! Wire types of `GET /giftcard` (conventions: [`super`]).
//! Plain data: must not depend on handlers, state, storage or clients.

use serde::{Deserialize, Serialize};

use super::*;

/// Query string of `GET /giftcard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardQuery {
    /// The certificate number.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_store_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GiftCardStatus {
    CanBeUsed,
    PartiallyRedeemed,
    Expired,
    Redeemed,
    Invalid,
}

/// Answer of `GET /giftcard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCard {
    /// The number asked for.
    pub name: String,
    /// The certificate's GUID in the loyalty system.
    pub id: String,
    pub status: GiftCardStatus,
    /// `"YYYY-MM-DD HH:MM:SS"`, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    /// Required for `CAN_BE_USED` and `PARTIALLY_REDEEMED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_balance: Option<Kopecks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_balance: Option<Kopecks>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loyalty_api::wire::test_support::*;
    use serde_json::json;

    #[test]
    fn gift_card_balance_as_string_or_number() {
        let query: GiftCardQuery =
            serde_json::from_value(json!({"name": "123456", "retailStoreId": "r1"})).unwrap();
        assert_eq!(query.name, "123456");
        let body = r#"{"name": "123456", "id": "g1", "status": "CAN_BE_USED",
            "expireDate": "2030-07-14 00:00:00", "currentBalance": "1000", "initialBalance": 1500}"#;
        let card: GiftCard = parse(body);
        assert_eq!(card.current_balance, Some(Kopecks(1000)));
        assert_eq!(card.initial_balance, Some(Kopecks(1500)));
        assert_eq!(card.status, GiftCardStatus::CanBeUsed);
        assert_eq!(
            serde_json::to_value(&card).unwrap(),
            json!({"name": "123456", "id": "g1", "status": "CAN_BE_USED",
                   "expireDate": "2030-07-14 00:00:00", "currentBalance": 1000, "initialBalance": 1500})
        );
        for bad in [r#""10.5""#, "10.5", r#""abc""#, "true", "[]"] {
            let body = format!(
                r#"{{"name": "1", "id": "g", "status": "INVALID", "currentBalance": {bad}}}"#
            );
            assert!(
                serde_json::from_str::<GiftCard>(&body).is_err(),
                "{bad} accepted"
            );
        }
        assert!(
            serde_json::from_str::<GiftCard>(r#"{"name":"1","id":"g","status":"LOST"}"#).is_err()
        );
    }
}
