//! Accounts: install and resume, secrets destroyed on uninstall, LoyaltyAPI tokens (rotation,
//! pending until confirmed), single-use JWT ids, accounts kept apart, the checkout settings.

use bonusbridge::store::{
    AccountStatus, CheckoutSettings, CustomerLink, NewOperation, OperationKind, ReserveState, Store,
};

use super::{activation, configured, installed, pending, settings};
use crate::support::TestDb;

crate::on_both_backends!(
    migrations_are_idempotent,
    activation_is_idempotent_and_keeps_token,
    resume_of_configured_account_is_activated,
    uninstall_destroys_secrets,
    api_tokens_rotate,
    jwt_ids_are_single_use,
    accounts_are_isolated,
    rotated_tokens_are_pending_until_confirmed,
    checkout_settings_and_sync_ids,
);

async fn migrations_are_idempotent(db: TestDb) {
    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("second migration run is a no-op");
    store.ping().await.expect("ping");
}

async fn activation_is_idempotent_and_keeps_token(db: TestDb) {
    let store = db.store().await;
    let first = store
        .activate_account(&activation("acc", Some(b"tok1")))
        .await
        .unwrap();
    assert_eq!(first.status, AccountStatus::SettingsRequired);
    let again = store
        .activate_account(&activation("acc", Some(b"tok1")))
        .await
        .unwrap();
    assert_eq!(again.account_id, first.account_id);
    assert_eq!(again.created_at, first.created_at);
    // TariffChanged brings no token: the stored one stays.
    let tariff = store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    assert_eq!(tariff.access_token_enc.as_deref(), Some(&b"tok1"[..]));
    assert_eq!(
        store
            .account("acc")
            .await
            .unwrap()
            .unwrap()
            .access_token_enc
            .as_deref(),
        Some(&b"tok1"[..])
    );
    assert!(store.account("other").await.unwrap().is_none());
}

async fn resume_of_configured_account_is_activated(db: TestDb) {
    let store = db.store().await;
    configured(&store, "acc").await;
    assert!(store
        .set_account_status("acc", AccountStatus::Activated)
        .await
        .unwrap());
    assert!(store
        .set_account_status("acc", AccountStatus::Suspended)
        .await
        .unwrap());
    let resumed = store
        .activate_account(&activation("acc", Some(b"t2")))
        .await
        .unwrap();
    assert_eq!(resumed.status, AccountStatus::Activated);
    assert_eq!(resumed.access_token_enc.as_deref(), Some(&b"t2"[..]));
    // Saving settings again without a key keeps the stored key.
    store.save_settings(&settings("acc", None)).await.unwrap();
    assert_eq!(
        store
            .settings("acc")
            .await
            .unwrap()
            .unwrap()
            .bonusplus_key_enc
            .as_deref(),
        Some(&b"key"[..])
    );
}

async fn uninstall_destroys_secrets(db: TestDb) {
    let store = db.store().await;
    configured(&store, "acc").await;
    store.replace_api_token("acc", "hash-1").await.unwrap();
    assert!(store.uninstall_account("acc").await.unwrap());
    assert!(
        !store.uninstall_account("acc").await.unwrap(),
        "second uninstall changes nothing"
    );
    let account = store.account("acc").await.unwrap().unwrap();
    assert_eq!(account.status, AccountStatus::Uninstalled);
    assert!(account.access_token_enc.is_none());
    assert!(store
        .settings("acc")
        .await
        .unwrap()
        .unwrap()
        .bonusplus_key_enc
        .is_none());
    assert!(store
        .account_by_token_hash("hash-1")
        .await
        .unwrap()
        .is_none());
    // Reinstalling starts over: settings required again.
    let reinstalled = store
        .activate_account(&activation("acc", Some(b"t3")))
        .await
        .unwrap();
    assert_eq!(reinstalled.status, AccountStatus::SettingsRequired);
}

async fn api_tokens_rotate(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
    store.replace_api_token("acc", "old").await.unwrap();
    assert_eq!(
        store.account_by_token_hash("old").await.unwrap().as_deref(),
        Some("acc")
    );
    store.replace_api_token("acc", "new").await.unwrap();
    assert!(store.account_by_token_hash("old").await.unwrap().is_none());
    assert_eq!(
        store.account_by_token_hash("new").await.unwrap().as_deref(),
        Some("acc")
    );
    assert!(store.account_by_token_hash("").await.unwrap().is_none());
}

async fn jwt_ids_are_single_use(db: TestDb) {
    let store = db.store().await;
    assert!(store.remember_jwt_id("jti-1", 10).await.unwrap());
    assert!(!store.remember_jwt_id("jti-1", 10).await.unwrap());
    assert!(store.remember_jwt_id("jti-2", 10).await.unwrap());
    store.prune(1_000, 0).await.unwrap();
    assert!(
        store.remember_jwt_id("jti-1", 10_000).await.unwrap(),
        "pruned after expiry"
    );
}

async fn accounts_are_isolated(db: TestDb) {
    let store: Store = db.store().await;
    installed(&store, "a").await;
    installed(&store, "b").await;
    let (op, _) = store
        .record_operation(
            &NewOperation {
                idempotency_key: "k".into(),
                ms_id: Some("sale-b".into()),
                ..pending("b", "op-b", OperationKind::Sale)
            },
            None,
        )
        .await
        .unwrap();
    assert!(store
        .operation::<String>("a", &op.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .sale_by_ms_id::<String>("a", "sale-b")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .operation::<String>("b", &op.id)
        .await
        .unwrap()
        .is_some());
    store
        .link_customer(&CustomerLink {
            account_id: "b".into(),
            phone: "79011231122".into(),
            customer_guid: "guid-b".into(),
            ms_counterparty_id: None,
            card_number: None,
        })
        .await
        .unwrap();
    assert!(store.customer_by_id("a", "guid-b").await.unwrap().is_none());
    assert!(!store
        .transition_reserve("a", "r", ReserveState::Intended, ReserveState::Active)
        .await
        .unwrap());
}

async fn rotated_tokens_are_pending_until_confirmed(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
    store.replace_api_token("acc", "current").await.unwrap();
    store.add_pending_api_token("acc", "next").await.unwrap();
    assert_eq!(
        store.token_owner("current").await.unwrap(),
        Some(("acc".to_owned(), false))
    );
    assert_eq!(
        store.token_owner("next").await.unwrap(),
        Some(("acc".to_owned(), true)),
        "both work while MoySklad has not confirmed"
    );
    // A newer rotation replaces a pending one; withdrawing leaves the current token.
    store.add_pending_api_token("acc", "newer").await.unwrap();
    assert!(store.token_owner("next").await.unwrap().is_none());
    assert!(store
        .withdraw_pending_api_token("acc", "newer")
        .await
        .unwrap());
    assert!(store.token_owner("newer").await.unwrap().is_none());
    assert!(store.token_owner("current").await.unwrap().is_some());
    // Confirmed once: the other tokens stop; confirming again changes nothing.
    store.add_pending_api_token("acc", "last").await.unwrap();
    assert!(store.confirm_api_token("acc", "last").await.unwrap());
    assert!(!store.confirm_api_token("acc", "last").await.unwrap());
    assert!(!store
        .withdraw_pending_api_token("acc", "last")
        .await
        .unwrap());
    assert!(store.token_owner("current").await.unwrap().is_none());
    assert_eq!(
        store.token_owner("last").await.unwrap(),
        Some(("acc".to_owned(), false))
    );
}

async fn checkout_settings_and_sync_ids(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
    assert_eq!(
        store.checkout_settings("acc").await.unwrap(),
        CheckoutSettings::default()
    );
    store.save_settings(&settings("acc", None)).await.unwrap();
    let changed = CheckoutSettings {
        create_customers: false,
        return_window_days: 30,
    };
    store.save_checkout_settings("acc", &changed).await.unwrap();
    assert_eq!(store.checkout_settings("acc").await.unwrap(), changed);
    store.save_settings(&settings("acc", None)).await.unwrap();
    assert_eq!(
        store.checkout_settings("acc").await.unwrap(),
        changed,
        "saving the other settings keeps them"
    );

    let pairs = [("s-1".to_owned(), "p-1".to_owned())];
    store.save_product_sync_ids("acc", &pairs).await.unwrap();
    store
        .save_product_sync_ids("acc", &[("s-1".to_owned(), "p-2".to_owned())])
        .await
        .unwrap();
    let found = store
        .products_of_sync_ids("acc", &["s-1".to_owned(), "s-9".to_owned()])
        .await
        .unwrap();
    assert_eq!(found.get("s-1").map(String::as_str), Some("p-2"));
    assert!(!found.contains_key("s-9"));
    assert_eq!(store.product_sync_ids("acc").await.unwrap().len(), 1);
    store
        .save_synced_fingerprint("acc", "Магазин 1", "p-2", "f")
        .await
        .unwrap();
    let known = store
        .known_product_ids("acc", &["p-2".to_owned(), "p-3".to_owned()])
        .await
        .unwrap();
    assert!(known.contains("p-2") && !known.contains("p-3"));
}
