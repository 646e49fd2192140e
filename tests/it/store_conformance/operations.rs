//! Sales and returns: customers linked without losing ids, an operation recorded once however many
//! record it, reserves through their states, a return matched once, a failed delivery reopened once.

use std::collections::HashSet;

use bonusbridge::domain::phone::Phone;
use bonusbridge::store::{
    CustomerLink, NewJob, NewOperation, Operation, OperationKind, OperationState, Reserve,
    ReserveState,
};

use super::{installed, pending};
use crate::support::TestDb;

crate::on_both_backends!(
    customers_link_without_losing_ids,
    operation_recorded_once_under_concurrency,
    reserves_move_through_states,
    a_return_needing_attention_is_matched_once,
    a_failed_delivery_is_reopened_once,
);

async fn customers_link_without_losing_ids(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
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
    installed(&store, "acc").await;
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

async fn reserves_move_through_states(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
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

async fn a_return_needing_attention_is_matched_once(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
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

/// Only a failed operation of the account is reopened, once however many ask at once, with its job
/// made due again (or made, when it had none).
async fn a_failed_delivery_is_reopened_once(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
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
