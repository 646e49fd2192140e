//! The activity as the database counts it, and rows older than the activity backfilled by a
//! migration.

use bonusbridge::domain::activity::{total, UtcOffset, DAY_MS};
use bonusbridge::store::{now_ms, BookedBonuses, NewJob, OperationKind, OperationState};

use super::{installed, link, pending, settings};
use crate::support::TestDb;

crate::on_both_backends!(
    activity_is_counted_by_the_database,
    older_rows_are_backfilled,
);

/// Sums beyond 32 bits stay exact on both backends, each kind of event counts on the shop's day,
/// a customer counts once, and nothing of another account or outside the window is counted.
async fn activity_is_counted_by_the_database(db: TestDb) {
    let store = db.store().await;
    for account in ["acc", "other"] {
        installed(&store, account).await;
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
