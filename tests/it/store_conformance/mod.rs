//! One conformance suite for the store, run against SQLite and PostgreSQL alike, by topic; the
//! records the topics share are built here.

mod accounts;
mod activity;
mod jobs;
mod operations;

use bonusbridge::store::{
    ActivationRecord, CustomerLink, LoyaltySettings, NewOperation, OperationKind, OperationState,
    Store,
};

/// `account` installed (no token yet).
pub async fn installed(store: &Store, account: &str) {
    store
        .activate_account(&activation(account, None))
        .await
        .unwrap();
}

/// `account` installed with a token and configured with a BonusPlus key.
pub async fn configured(store: &Store, account: &str) {
    store
        .activate_account(&activation(account, Some(b"t")))
        .await
        .unwrap();
    store
        .save_settings(&settings(account, Some(b"key")))
        .await
        .unwrap();
}

pub fn activation(account: &str, token: Option<&[u8]>) -> ActivationRecord {
    ActivationRecord {
        account_id: account.to_owned(),
        app_id: "app-1".to_owned(),
        account_name: format!("name of {account}"),
        subscription: Some(r#"{"tariffId":"t"}"#.to_owned()),
        access_token_enc: token.map(<[u8]>::to_vec),
    }
}

pub fn settings(account: &str, key: Option<&[u8]>) -> LoyaltySettings {
    LoyaltySettings {
        account_id: account.to_owned(),
        bonusplus_key_enc: key.map(<[u8]>::to_vec),
        default_store: "Магазин 1".to_owned(),
        store_map: "{}".to_owned(),
        external_search: true,
        spend_requires_code: false,
        register_requires_code: false,
        reserve_ttl_secs: 600,
        updated_at: 1,
        updated_by: "admin".to_owned(),
        code_delivery: "own".to_owned(),
        code_message: "Код для кассы: {code}".to_owned(),
    }
}

pub fn pending(account: &str, id: &str, kind: OperationKind) -> NewOperation {
    NewOperation {
        id: id.into(),
        account_id: account.into(),
        kind,
        idempotency_key: id.into(),
        ms_id: None,
        sale_id: None,
        phone: None,
        state: OperationState::Pending,
        payload: String::from("{}"),
        retail_store_id: None,
        counterparty_id: None,
        notes: None,
    }
}

pub fn link(account: &str, phone: &str) -> CustomerLink {
    CustomerLink {
        account_id: account.into(),
        phone: phone.into(),
        customer_guid: format!("guid-{phone}"),
        ms_counterparty_id: None,
        card_number: None,
    }
}
