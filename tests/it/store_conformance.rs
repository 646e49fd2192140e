//! One conformance suite for the store, run against SQLite and PostgreSQL alike.

use std::collections::HashSet;
use std::sync::Arc;

use bonusbridge::domain::activity::{total, UtcOffset, DAY_MS};
use bonusbridge::domain::phone::Phone;
use bonusbridge::store::{
    now_ms, AccountStatus, ActivationRecord, BookedBonuses, CheckoutSettings, CustomerLink,
    LoyaltySettings, NewJob, NewOperation, Operation, OperationKind, OperationState, Reserve,
    ReserveState, Store,
};

use crate::support::TestDb;

crate::on_both_backends!(
    migrations_are_idempotent,
    activation_is_idempotent_and_keeps_token,
    resume_of_configured_account_is_activated,
    uninstall_destroys_secrets,
    api_tokens_rotate,
    customers_link_without_losing_ids,
    operation_recorded_once_under_concurrency,
    jobs_claimed_once_by_concurrent_workers,
    expired_lease_makes_job_claimable_again,
    failed_jobs_retry_and_park,
    jwt_ids_are_single_use,
    reserves_move_through_states,
    accounts_are_isolated,
    sync_runs_and_fingerprints,
    rotated_tokens_are_pending_until_confirmed,
    a_return_needing_attention_is_matched_once,
    checkout_settings_and_sync_ids,
    activity_is_counted_by_the_database,
    a_failed_delivery_is_reopened_once,
    older_rows_are_backfilled,
);

fn activation(account: &str, token: Option<&[u8]>) -> ActivationRecord {
    ActivationRecord {
        account_id: account.to_owned(),
        app_id: "app-1".to_owned(),
        account_name: format!("name of {account}"),
        subscription: Some(r#"{"tariffId":"t"}"#.to_owned()),
        access_token_enc: token.map(<[u8]>::to_vec),
    }
}

fn settings(account: &str, key: Option<&[u8]>) -> LoyaltySettings {
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
    store
        .activate_account(&activation("acc", Some(b"t")))
        .await
        .unwrap();
    store
        .save_settings(&settings("acc", Some(b"key")))
        .await
        .unwrap();
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
    store
        .activate_account(&activation("acc", Some(b"t")))
        .await
        .unwrap();
    store
        .save_settings(&settings("acc", Some(b"key")))
        .await
        .unwrap();
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
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
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

async fn customers_link_without_losing_ids(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    let link = CustomerLink {
        account_id: "acc".into(),
        phone: "79011231122".into(),
        customer_guid: "g-1".into(),
        ms_counterparty_id: Some("ms-1".into()),
        card_number: None,
    };
    store.link_customer(&link).await.unwrap();
    let relinked = store
        .link_customer(&CustomerLink {
            ms_counterparty_id: None,
            card_number: Some("card".into()),
            ..link.clone()
        })
        .await
        .unwrap();
    assert_eq!(relinked.ms_counterparty_id.as_deref(), Some("ms-1"));
    assert_eq!(relinked.card_number.as_deref(), Some("card"));
    assert_eq!(
        store
            .customer_by_id("acc", "g-1")
            .await
            .unwrap()
            .unwrap()
            .phone,
        "79011231122"
    );
    assert_eq!(
        store
            .customer_by_id("acc", "ms-1")
            .await
            .unwrap()
            .unwrap()
            .customer_guid,
        "g-1"
    );
    assert!(store
        .customer_by_phone("acc", "79011231122")
        .await
        .unwrap()
        .is_some());
}

async fn operation_recorded_once_under_concurrency(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_operation(
                    &NewOperation {
                        id: format!("op-{i}"),
                        account_id: "acc".into(),
                        kind: OperationKind::Sale,
                        idempotency_key: "sale-42".into(),
                        ms_id: Some("ms-sale".into()),
                        sale_id: None,
                        phone: Some(Phone::parse("79011231122").unwrap()),
                        state: OperationState::Pending,
                        payload: String::from("{}"),
                        retail_store_id: None,
                        counterparty_id: None,
                        notes: None,
                    },
                    None,
                )
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for task in tasks {
        let (op, was_created) = task.await.unwrap();
        created += usize::from(was_created);
        ids.insert(op.id);
    }
    assert_eq!(created, 1, "exactly one call records the sale");
    assert_eq!(ids.len(), 1, "every caller sees the same operation");
    let id = ids.into_iter().next().unwrap();
    store
        .finish_operation(&id, OperationState::Delivered, Some("{\"ok\":1}"), None)
        .await
        .unwrap();
    let op = store
        .sale_by_ms_id::<String>("acc", "ms-sale")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(op.state, OperationState::Delivered);
    assert_eq!(op.attempts, 1);
    assert_eq!(store.operation_counts(Some("acc")).await.unwrap(), (0, 0));
}

async fn jobs_claimed_once_by_concurrent_workers(db: TestDb) {
    let store = db.store().await;
    const JOBS: usize = 200;
    for i in 0..JOBS {
        store
            .enqueue_job(&job(&format!("{i}"), None))
            .await
            .unwrap()
            .expect("new job");
    }
    let claimed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        let claimed = claimed.clone();
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            loop {
                let jobs = store.claim_jobs(&worker, 7, 60_000).await.unwrap();
                if jobs.is_empty() {
                    break;
                }
                for job in jobs {
                    assert!(store.complete_job(job.id, &worker).await.unwrap());
                    claimed.lock().unwrap().push(job.id);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let claimed = claimed.lock().unwrap().clone();
    let unique: HashSet<_> = claimed.iter().collect();
    assert_eq!(claimed.len(), JOBS, "every job processed");
    assert_eq!(unique.len(), JOBS, "no job processed twice");
    let backlog = store.job_backlog(None, None).await.unwrap();
    assert_eq!((backlog.ready, backlog.running, backlog.failed), (0, 0, 0));
}

fn job(payload: &str, dedupe: Option<&str>) -> NewJob {
    NewJob {
        account_id: Some("acc".into()),
        kind: "test".into(),
        payload: payload.into(),
        dedupe_key: dedupe.map(str::to_owned),
        max_attempts: 3,
        run_at: 0,
    }
}

async fn expired_lease_makes_job_claimable_again(db: TestDb) {
    let store = db.store().await;
    assert!(store
        .enqueue_job(&job("x", Some("only-once")))
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .enqueue_job(&job("x", Some("only-once")))
            .await
            .unwrap()
            .is_none(),
        "dedupe key"
    );
    // A worker claims with a lease that has already run out, then "dies".
    let first = store.claim_jobs("dead-worker", 10, -1).await.unwrap();
    assert_eq!(first.len(), 1);
    let second = store.claim_jobs("live-worker", 10, 60_000).await.unwrap();
    assert_eq!(second.len(), 1, "the abandoned job is claimable again");
    assert_eq!(second[0].attempts, 2);
    assert!(
        !store
            .complete_job(first[0].id, "dead-worker")
            .await
            .unwrap(),
        "the dead worker lost it"
    );
    assert!(store
        .extend_lease(second[0].id, "live-worker", 60_000)
        .await
        .unwrap());
    assert!(store
        .complete_job(second[0].id, "live-worker")
        .await
        .unwrap());
    assert!(store
        .claim_jobs("any", 10, 60_000)
        .await
        .unwrap()
        .is_empty());
}

async fn failed_jobs_retry_and_park(db: TestDb) {
    let store = db.store().await;
    store.enqueue_job(&job("x", None)).await.unwrap();
    let claimed = store.claim_jobs("w", 1, 60_000).await.unwrap();
    let far_future = bonusbridge::store::now_ms() + 3_600_000;
    assert!(store
        .fail_job(claimed[0].id, "w", "timeout", Some(far_future))
        .await
        .unwrap());
    assert!(
        store.claim_jobs("w", 1, 60_000).await.unwrap().is_empty(),
        "not due yet"
    );
    let backlog = store.job_backlog(Some("acc"), None).await.unwrap();
    assert_eq!(backlog.ready, 1);
    assert!(backlog.oldest_age_ms.is_some());
    // Park it as failed, then an operator retries it.
    store.retry_failed_jobs(None).await.unwrap();
    let mut claimed = store.claim_jobs("w", 1, 60_000).await.unwrap();
    assert!(
        claimed.is_empty(),
        "a ready job is not touched by retry_failed_jobs"
    );
    store.enqueue_job(&job("y", None)).await.unwrap();
    claimed = store.claim_jobs("w", 1, 60_000).await.unwrap();
    assert!(store
        .fail_job(claimed[0].id, "w", "permanent", None)
        .await
        .unwrap());
    assert_eq!(store.job_backlog(None, None).await.unwrap().failed, 1);
    assert_eq!(store.retry_failed_jobs(Some("test")).await.unwrap(), 1);
    assert_eq!(store.claim_jobs("w", 5, 60_000).await.unwrap().len(), 1);
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

async fn reserves_move_through_states(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    let reserve = Reserve {
        id: "r-1".into(),
        account_id: "acc".into(),
        phone: Phone::parse("79011231122").unwrap(),
        retail_store_id: "pos-1".into(),
        amount: "12.50".parse().unwrap(),
        state: ReserveState::Intended,
        expires_at: 100,
    };
    store.insert_reserve(&reserve).await.unwrap();
    assert_eq!(
        store
            .open_reserves("acc", &reserve.phone, "pos-1")
            .await
            .unwrap(),
        vec![reserve.clone()]
    );
    assert!(store
        .transition_reserve("acc", "r-1", ReserveState::Intended, ReserveState::Active)
        .await
        .unwrap());
    assert!(!store
        .transition_reserve("acc", "r-1", ReserveState::Intended, ReserveState::Active)
        .await
        .unwrap());
    assert_eq!(store.outstanding_reserves().await.unwrap(), 1);
    assert_eq!(store.expired_reserves(50, 10).await.unwrap().len(), 0);
    assert_eq!(
        store.expired_reserves(100, 10).await.unwrap()[0]
            .amount
            .to_string(),
        "12.50"
    );
    assert!(store
        .transition_reserve("acc", "r-1", ReserveState::Active, ReserveState::Released)
        .await
        .unwrap());
    assert_eq!(store.outstanding_reserves().await.unwrap(), 0);
}

async fn accounts_are_isolated(db: TestDb) {
    let store: Store = db.store().await;
    store
        .activate_account(&activation("a", None))
        .await
        .unwrap();
    store
        .activate_account(&activation("b", None))
        .await
        .unwrap();
    let (op, _) = store
        .record_operation(
            &NewOperation {
                id: "op-b".into(),
                account_id: "b".into(),
                kind: OperationKind::Sale,
                idempotency_key: "k".into(),
                ms_id: Some("sale-b".into()),
                sale_id: None,
                phone: None,
                state: OperationState::Pending,
                payload: String::from("{}"),
                retail_store_id: None,
                counterparty_id: None,
                notes: None,
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

async fn sync_runs_and_fingerprints(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    assert_eq!(store.sync_run_counts().await.unwrap(), (0, 0, 0));
    let mut run = store.start_sync_run("run-1", "acc", true).await.unwrap();
    run.total = 2500;
    run.processed = 1000;
    run.cursor = Some("1000".into());
    store.update_sync_run(&run).await.unwrap();
    assert_eq!(store.latest_sync_run("acc").await.unwrap().unwrap(), run);
    assert_eq!(store.sync_run_counts().await.unwrap(), (1, 0, 0));
    let mut failed = store.start_sync_run("run-0", "acc", false).await.unwrap();
    failed.state = bonusbridge::store::SyncState::Failed;
    store.update_sync_run(&failed).await.unwrap();
    assert_eq!(store.sync_run_counts().await.unwrap(), (1, 0, 1));
    assert!(store
        .synced_fingerprint("acc", "s", "p")
        .await
        .unwrap()
        .is_none());
    store
        .save_synced_fingerprint("acc", "s", "p", "f1")
        .await
        .unwrap();
    store
        .save_synced_fingerprint("acc", "s", "p", "f2")
        .await
        .unwrap();
    assert_eq!(
        store
            .synced_fingerprint("acc", "s", "p")
            .await
            .unwrap()
            .as_deref(),
        Some("f2")
    );
}

async fn rotated_tokens_are_pending_until_confirmed(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
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

async fn a_return_needing_attention_is_matched_once(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    let operation = |id: &str, kind, state| NewOperation {
        id: id.into(),
        account_id: "acc".into(),
        kind,
        idempotency_key: id.into(),
        ms_id: None,
        sale_id: None,
        phone: None,
        state,
        payload: String::from("{}"),
        retail_store_id: Some("pos".into()),
        counterparty_id: Some("cp".into()),
        notes: Some("rounded".into()),
    };
    store
        .record_operation(
            &operation("s-1", OperationKind::Sale, OperationState::Delivered),
            None,
        )
        .await
        .unwrap();
    store
        .record_operation(
            &operation("r-1", OperationKind::Return, OperationState::NeedsAttention),
            None,
        )
        .await
        .unwrap();
    let sales = store
        .recent_customer_sales::<String>("acc", "pos", "cp", 0, 10)
        .await
        .unwrap();
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0].notes.as_deref(), Some("rounded"));
    assert!(store
        .recent_customer_sales::<String>("acc", "other-pos", "cp", 0, 10)
        .await
        .unwrap()
        .is_empty());
    let job = |n: &str| NewJob {
        account_id: Some("acc".into()),
        kind: "deliver_operation".into(),
        payload: "r-1".into(),
        dedupe_key: Some(format!("deliver:r-1:{n}")),
        max_attempts: 3,
        run_at: 0,
    };
    let tries = futures::future::join_all((0..5).map(|n| {
        let (store, job) = (store.clone(), job(&n.to_string()));
        async move {
            store
                .match_return(
                    "acc",
                    "r-1",
                    "s-1",
                    None,
                    &r#"{"parts":[]}"#.to_owned(),
                    &job,
                )
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(tries.iter().filter(|matched| **matched).count(), 1);
    let matched: Operation = store.operation("acc", "r-1").await.unwrap().unwrap();
    assert_eq!(matched.state, OperationState::Pending);
    assert_eq!(matched.sale_id.as_deref(), Some("s-1"));
    assert_eq!(store.job_backlog(Some("acc"), None).await.unwrap().ready, 1);
    assert!(!store.close_return("acc", "r-1", "late").await.unwrap());
    assert!(!store
        .match_return("b", "r-1", "s-1", None, &"{}".to_owned(), &job("x"))
        .await
        .unwrap());
}

async fn checkout_settings_and_sync_ids(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
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

fn pending(account: &str, id: &str, kind: OperationKind) -> NewOperation {
    NewOperation {
        id: id.into(),
        account_id: account.into(),
        kind,
        idempotency_key: id.into(),
        ms_id: None,
        sale_id: None,
        phone: None,
        state: OperationState::Pending,
        payload: "{}".into(),
        retail_store_id: None,
        counterparty_id: None,
        notes: None,
    }
}

fn link(account: &str, phone: &str) -> CustomerLink {
    CustomerLink {
        account_id: account.into(),
        phone: phone.into(),
        customer_guid: format!("guid-{phone}"),
        ms_counterparty_id: None,
        card_number: None,
    }
}

/// Sums beyond 32 bits stay exact on both backends, each kind of event counts on the shop's day,
/// a customer counts once, and nothing of another account or outside the window is counted.
async fn activity_is_counted_by_the_database(db: TestDb) {
    let store = db.store().await;
    for account in ["acc", "other"] {
        store
            .activate_account(&activation(account, None))
            .await
            .unwrap();
    }
    assert_eq!(store.utc_offset("acc").await.unwrap(), UtcOffset::MOSCOW);
    store.save_settings(&settings("acc", None)).await.unwrap();
    let vladivostok = UtcOffset::from_minutes(600).unwrap();
    store.save_utc_offset("acc", vladivostok).await.unwrap();
    assert_eq!(store.utc_offset("acc").await.unwrap(), vladivostok);

    let since = now_ms();
    let big = BookedBonuses {
        spent_kopecks: 3_000_000_001,
        earned_kopecks: 7,
    };
    for (account, id) in [("acc", "s-1"), ("acc", "s-2"), ("other", "s-3")] {
        store
            .record_operation(&pending(account, id, OperationKind::Sale), None)
            .await
            .unwrap();
        store.book_sale(id, "{}", big).await.unwrap();
    }
    // Booked again (a repeated delivery): still one sale.
    store.book_sale("s-1", "{}", big).await.unwrap();
    store
        .record_operation(&pending("acc", "r-1", OperationKind::Return), None)
        .await
        .unwrap();
    store
        .finish_operation("r-1", OperationState::Delivered, None, None)
        .await
        .unwrap();
    for id in ["f-1", "f-2"] {
        store
            .record_operation(&pending("acc", id, OperationKind::Sale), None)
            .await
            .unwrap();
        store
            .finish_operation(id, OperationState::Failed, None, Some("refused"))
            .await
            .unwrap();
    }
    store
        .link_registered_customer(&link("acc", "79010000001"))
        .await
        .unwrap();
    store
        .link_registered_customer(&link("acc", "79010000001"))
        .await
        .unwrap();
    store
        .link_customer(&link("acc", "79010000002"))
        .await
        .unwrap();
    store
        .link_registered_customer(&link("other", "79010000003"))
        .await
        .unwrap();
    // A reopened failure no longer counts as failed.
    let job = NewJob {
        account_id: Some("acc".into()),
        kind: "deliver_operation".into(),
        payload: "f-2".into(),
        dedupe_key: Some("deliver:f-2".into()),
        max_attempts: 3,
        run_at: 0,
    };
    assert!(store
        .reopen_failed_operation::<String>("acc", "f-2", &job)
        .await
        .unwrap()
        .is_some());
    let until = now_ms() + 1;

    let offset = vladivostok.millis();
    let days = store
        .activity_by_day("acc", since, until, offset)
        .await
        .unwrap();
    let total = total(&days);
    assert_eq!(total.sales_booked, 2);
    assert_eq!(total.returns_booked, 1);
    assert_eq!(
        total.bonuses_spent_kopecks, 6_000_000_002,
        "exact beyond 32 bits"
    );
    assert_eq!(total.bonuses_earned_kopecks, 14);
    assert_eq!(
        total.customers_registered, 1,
        "registered once, the known customer not at all"
    );
    assert_eq!(total.deliveries_failed, 1);
    for (day, _) in &days {
        assert!(
            (since + offset) / DAY_MS <= *day && *day <= (until + offset) / DAY_MS,
            "{day} is a day of the shop's clock"
        );
    }
    assert!(store
        .activity_by_day("acc", until, until + DAY_MS, offset)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .activity_by_day("nobody", since, until, offset)
        .await
        .unwrap()
        .is_empty());
}

/// Only a failed operation of the account is reopened, once however many ask at once, with its job
/// made due again (or made, when it had none).
async fn a_failed_delivery_is_reopened_once(db: TestDb) {
    let store = db.store().await;
    store
        .activate_account(&activation("acc", None))
        .await
        .unwrap();
    let job = NewJob {
        account_id: Some("acc".into()),
        kind: "deliver_operation".into(),
        payload: "f-1".into(),
        dedupe_key: Some("deliver:f-1".into()),
        max_attempts: 3,
        run_at: 0,
    };
    store
        .record_operation(&pending("acc", "f-1", OperationKind::Sale), Some(&job))
        .await
        .unwrap();
    store
        .finish_operation("f-1", OperationState::Failed, None, Some("refused"))
        .await
        .unwrap();
    let worker = store.claim_jobs("w", 10, 60_000).await.unwrap();
    assert_eq!(worker.len(), 1);
    store
        .fail_job(worker[0].id, "w", "refused", None)
        .await
        .unwrap();
    assert_eq!(
        store.job_backlog(Some("acc"), None).await.unwrap().failed,
        1
    );

    assert!(store
        .reopen_failed_operation::<String>("other", "f-1", &job)
        .await
        .unwrap()
        .is_none());
    let due = NewJob {
        run_at: 5,
        ..job.clone()
    };
    let tries = futures::future::join_all((0..5).map(|_| {
        let (store, due) = (store.clone(), due.clone());
        async move {
            store
                .reopen_failed_operation::<String>("acc", "f-1", &due)
                .await
                .unwrap()
        }
    }))
    .await;
    let reopened: Vec<_> = tries.into_iter().flatten().collect();
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].state, OperationState::Pending);
    assert_eq!(reopened[0].last_error, None);
    let backlog = store.job_backlog(Some("acc"), None).await.unwrap();
    assert_eq!((backlog.ready, backlog.failed), (1, 0));
    assert_eq!(
        store.claim_jobs("w2", 10, 60_000).await.unwrap().len(),
        1,
        "due again"
    );

    // A failure without a job (older rows) gets one.
    store
        .record_operation(&pending("acc", "f-2", OperationKind::Return), None)
        .await
        .unwrap();
    store
        .finish_operation("f-2", OperationState::Failed, None, Some("x"))
        .await
        .unwrap();
    let fresh = NewJob {
        payload: "f-2".into(),
        dedupe_key: Some("deliver:f-2".into()),
        ..job
    };
    assert!(store
        .reopen_failed_operation::<String>("acc", "f-2", &fresh)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.job_backlog(Some("acc"), None).await.unwrap().ready, 1);
}

/// Runs `$sql` (one statement each) on the database of `$url`, whichever backend it is.
macro_rules! raw_sql {
    ($url:expr, $migrations:expr, [$($sql:expr),+ $(,)?]) => {{
        let migrator = sqlx::migrate::Migrator::new($migrations).await.unwrap();
        if $url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect($url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            $(sqlx::query($sql).execute(&pool).await.unwrap();)+
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect($url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            $(sqlx::query($sql).execute(&pool).await.unwrap();)+
            pool.close().await;
        }
    }};
}

/// Operations delivered or refused before the activity existed count on the day they were last
/// updated (with zero bonuses); the database is migrated from the version before.
async fn older_rows_are_backfilled(db: TestDb) {
    let backend = if db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let before = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "20261130000003" {
            std::fs::copy(&path, before.path().join(name)).unwrap();
        }
    }
    let at = now_ms() - 2 * DAY_MS;
    let row = |id: &str, kind: &str, state: &str| {
        format!(
            "INSERT INTO operations (id, account_id, kind, idempotency_key, state, payload, created_at, updated_at)
             VALUES ('{id}', 'acc', '{kind}', '{id}', '{state}', '{{\"bonus_debit\":\"30\"}}', {at}, {at})"
        )
    };
    raw_sql!(
        &db.url,
        before.path(),
        [
            &format!(
                "INSERT INTO accounts (account_id, app_id, status, created_at, updated_at)
                 VALUES ('acc', 'app', 'Activated', {at}, {at})"
            ),
            &row("old-sale", "sale", "delivered"),
            &row("old-return", "return", "delivered"),
            &row("old-failed", "sale", "failed"),
            &row("old-pending", "sale", "pending"),
        ]
    );
    let store = db.store().await;
    let offset = UtcOffset::MOSCOW.millis();
    let days = store
        .activity_by_day("acc", at - DAY_MS, now_ms(), offset)
        .await
        .unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    let (day, figures) = days[0];
    assert_eq!(day, (at + offset) / DAY_MS);
    assert_eq!(
        (
            figures.sales_booked,
            figures.returns_booked,
            figures.deliveries_failed
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (
            figures.bonuses_spent_kopecks,
            figures.bonuses_earned_kopecks
        ),
        (0, 0),
        "older bonuses are not read out of their payloads"
    );
    assert_eq!(store.utc_offset("acc").await.unwrap(), UtcOffset::MOSCOW);
}
