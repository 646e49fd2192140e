//! The shapes the till page reads, made from what the stand-ins hold. Money leaves as decimal text
//! (never a binary float): roubles with two decimals, bonuses as BonusPlus keeps them.
//! Pure: no I/O, no handlers.

use bonusbridge_testkit::moysklad::{Captured, FakeMoySklad};
use bonusplus_emulator::{CustomerSnapshot, SaleSnapshot, SentMessage};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TillView {
    /// The account's LoyaltyAPI token as MoySklad last received it (`PUT`/`PATCH …/loyalty`).
    pub token: Option<String>,
    pub retail_stores: Vec<RetailStoreView>,
    pub products: Vec<ProductView>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RetailStoreView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    pub id: String,
    pub name: String,
    /// Roubles, two decimals.
    pub price: String,
    pub weighed: bool,
}

impl TillView {
    pub fn read(moysklad: &FakeMoySklad) -> TillView {
        TillView {
            token: loyalty_token(&moysklad.calls()),
            retail_stores: moysklad
                .rows("retailstore")
                .iter()
                .filter_map(|row| {
                    Some(RetailStoreView {
                        id: row["id"].as_str()?.to_owned(),
                        name: row["name"].as_str()?.to_owned(),
                    })
                })
                .collect(),
            products: moysklad
                .rows("product")
                .iter()
                .filter_map(product)
                .collect(),
        }
    }
}

/// The token of the latest `…/loyalty` call that carried one (a rotation `PATCH`es a new one).
fn loyalty_token(calls: &[Captured]) -> Option<String> {
    calls
        .iter()
        .rev()
        .filter(|call| call.path.ends_with("/loyalty"))
        .find_map(|call| call.body["token"].as_str().map(str::to_owned))
}

/// A sellable product row: not archived, with a sale price.
fn product(row: &Value) -> Option<ProductView> {
    if row["archived"].as_bool() == Some(true) {
        return None;
    }
    let kopecks = row["salePrices"][0]["value"].as_number()?.to_string();
    Some(ProductView {
        id: row["id"].as_str()?.to_owned(),
        name: row["name"].as_str()?.to_owned(),
        price: roubles(&kopecks)?,
        weighed: row["weighed"].as_bool().unwrap_or(false),
    })
}

/// `8990` or `8990.0` kopecks → `"89.90"`.
fn roubles(kopecks: &str) -> Option<String> {
    let mut value = Decimal::from_str_exact(kopecks).ok()? / Decimal::ONE_HUNDRED;
    value = value.round_dp(2);
    value.rescale(2);
    Some(value.to_string())
}

/// A customer in the BonusPlus emulator, with the sales booked for them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub phone: String,
    pub name: String,
    pub card: Option<String>,
    pub balance: String,
    pub reserved: String,
    pub available: String,
    pub sales: Vec<SaleView>,
    /// Texts BonusPlus sent the customer (verification codes, registration notices).
    pub messages: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleView {
    pub id: i64,
    pub store: String,
    pub bonus_debit: String,
    pub earned: String,
    /// Bonuses earned, then taken back by returns.
    pub returned_earned: String,
    /// Bonuses spent, then given back by returns.
    pub returned_debit: String,
}

impl CustomerView {
    pub fn new(
        customer: &CustomerSnapshot,
        sales: &[SaleSnapshot],
        messages: &[SentMessage],
    ) -> CustomerView {
        let person = &customer.person;
        let name = [&person.last_name, &person.first_name, &person.middle_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        CustomerView {
            phone: customer.phone.clone(),
            name,
            card: customer.discount_card_number.clone(),
            balance: customer.balance.to_string(),
            reserved: customer.reserved.to_string(),
            available: customer.available.to_string(),
            sales: sales
                .iter()
                .filter(|sale| sale.phone == customer.phone)
                .map(sale)
                .collect(),
            messages: messages.iter().map(|m| m.text.clone()).collect(),
        }
    }
}

fn sale(sale: &SaleSnapshot) -> SaleView {
    let returned = |pick: fn(&bonusplus_emulator::SoldItemSnapshot) -> Decimal| {
        sale.items.iter().map(pick).sum::<Decimal>().to_string()
    };
    SaleView {
        id: sale.id,
        store: sale.store.clone(),
        bonus_debit: sale.bonus_debit.to_string(),
        earned: sale.earned.to_string(),
        returned_earned: returned(|item| item.returned_cb),
        returned_debit: returned(|item| item.returned_db),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;
    use serde_json::json;

    fn call(method: Method, path: &str, body: Value) -> Captured {
        Captured {
            method,
            path: path.to_owned(),
            body,
        }
    }

    #[test]
    fn the_token_is_the_latest_one_moysklad_was_given() {
        let loyalty = "/api/vendor/1.0/apps/a/b/loyalty";
        let calls = vec![
            call(Method::PUT, loyalty, json!({"url": "u", "token": "first"})),
            call(
                Method::PUT,
                "/api/vendor/1.0/apps/a/b/status",
                json!({"status": "Activated"}),
            ),
            call(Method::PATCH, loyalty, json!({"externalSearch": true})),
            call(Method::PATCH, loyalty, json!({"token": "rotated"})),
            call(Method::PATCH, loyalty, json!({"url": "u"})),
        ];
        assert_eq!(loyalty_token(&calls).as_deref(), Some("rotated"));
        assert_eq!(loyalty_token(&calls[1..2]), None);
    }

    #[test]
    fn prices_are_roubles_with_two_decimals() {
        assert_eq!(roubles("8990").as_deref(), Some("89.90"));
        assert_eq!(roubles("129000.0").as_deref(), Some("1290.00"));
        assert_eq!(roubles("5").as_deref(), Some("0.05"));
        assert_eq!(roubles("сто"), None);
    }

    #[test]
    fn products_without_a_price_or_archived_are_not_sold() {
        let priced =
            json!({"id": "p", "name": "Сыр", "weighed": true, "salePrices": [{"value": 74900}]});
        assert_eq!(
            product(&priced),
            Some(ProductView {
                id: "p".into(),
                name: "Сыр".into(),
                price: "749.00".into(),
                weighed: true
            })
        );
        assert_eq!(product(&json!({"id": "p", "name": "Без цены"})), None);
        let mut archived = priced.clone();
        archived["archived"] = json!(true);
        assert_eq!(product(&archived), None);
    }
}
