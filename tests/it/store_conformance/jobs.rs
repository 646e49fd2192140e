//! The job queue and product sync: a job claimed once by concurrent workers, a lease that expires,
//! retries and parking, sync runs and fingerprints.

use std::collections::HashSet;
use std::sync::Arc;

use bonusbridge::store::NewJob;

use super::installed;
use crate::support::TestDb;

crate::on_both_backends!(
    jobs_claimed_once_by_concurrent_workers,
    expired_lease_makes_job_claimable_again,
    failed_jobs_retry_and_park,
    sync_runs_and_fingerprints,
);

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

async fn sync_runs_and_fingerprints(db: TestDb) {
    let store = db.store().await;
    installed(&store, "acc").await;
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
