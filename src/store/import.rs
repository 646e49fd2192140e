//! The customer import's runs, the counterparties each run took (`import_rows`) and the ledger of
//! what was done in BonusPlus per counterparty (`import_ledger`, across runs).
//! Storage only: the import itself is `import`'s; nothing here calls a client.

use super::{now_ms, with_pool, Store, StoreError};

/// A run of the import as stored. `phase`: read, match, execute, finished; `state`: running,
/// stopping, stopped, done, failed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ImportRun {
    pub id: String,
    pub account_id: String,
    pub actor: String,
    pub dry_run: bool,
    /// The administrator's choices (JSON).
    pub options: String,
    pub phase: String,
    pub state: String,
    pub total: i64,
    pub read_count: i64,
    pub filtered: i64,
    pub cursor: i64,
    pub processed: i64,
    pub phase_started_at: i64,
    pub last_error: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

const RUN_COLUMNS: &str = "id, account_id, actor, dry_run, options, phase, state, total, read_count, filtered, cursor, processed,
    phase_started_at, last_error, started_at, updated_at, finished_at";

/// One counterparty a run took.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ImportRow {
    pub run_id: String,
    pub seq: i64,
    pub account_id: String,
    pub counterparty_id: String,
    pub name: String,
    pub phone_raw: Option<String>,
    pub phone: Option<String>,
    pub card: Option<String>,
    pub ean: Option<String>,
    pub points_kopecks: i64,
    /// Names, e-mail, birth date, sex (JSON).
    pub person: String,
    pub decision: String,
    pub problem: Option<String>,
    pub note: Option<String>,
    pub target_phone: Option<String>,
    pub credit_kopecks: i64,
}

const ROW_COLUMNS: &str = "run_id, seq, account_id, counterparty_id, name, phone_raw, phone, card, ean, points_kopecks, person,
    decision, problem, note, target_phone, credit_kopecks";

/// What the ledger holds of one counterparty. `step`: planned, created, sent, done, parked, failed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerEntry {
    pub account_id: String,
    pub counterparty_id: String,
    pub phone: String,
    pub step: String,
    pub created_by_import: bool,
    pub credit_kopecks: i64,
    pub credited_kopecks: i64,
    pub balance_seen: Option<String>,
    pub reason: Option<String>,
    pub run_id: String,
}

const LEDGER_COLUMNS: &str =
    "account_id, counterparty_id, phone, step, created_by_import, credit_kopecks, credited_kopecks,
    balance_seen, reason, run_id";

/// Counts of a run's rows by decision and problem: (decision, problem, rows, Σ credit kopecks).
pub type DecisionCount = (String, Option<String>, i64, i64);
/// Counts of the ledger rows a run touched by step: (step, rows, created by the import, Σ credited).
pub type StepCount = (String, i64, i64, i64);

impl Store {
    pub async fn create_import_run(&self, run: &ImportRun) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO import_runs (id, account_id, actor, dry_run, options, phase, state, started_at, updated_at,
                                          phase_started_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)",
            )
            .bind(&run.id)
            .bind(&run.account_id)
            .bind(&run.actor)
            .bind(run.dry_run)
            .bind(&run.options)
            .bind(&run.phase)
            .bind(&run.state)
            .bind(run.started_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn import_run(&self, id: &str) -> Result<Option<ImportRun>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM import_runs WHERE id = $1");
        self.select_one(&sql, &[id]).await
    }

    pub async fn latest_import_run(
        &self,
        account_id: &str,
    ) -> Result<Option<ImportRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM import_runs WHERE account_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        self.select_one(&sql, &[account_id]).await
    }

    /// Saves a run's progress. The state is not written here (see [`Store::set_import_state`]),
    /// so a stop asked for meanwhile is never overwritten.
    pub async fn save_import_progress(&self, run: &ImportRun) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE import_runs SET phase = $2, total = $3, read_count = $4, filtered = $5, cursor = $6, processed = $7,
                        phase_started_at = $8, last_error = $9, updated_at = $10
                 WHERE id = $1",
            )
            .bind(&run.id)
            .bind(&run.phase)
            .bind(run.total)
            .bind(run.read_count)
            .bind(run.filtered)
            .bind(run.cursor)
            .bind(run.processed)
            .bind(run.phase_started_at)
            .bind(&run.last_error)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Moves a run to `to` if it is in one of `from`; whether it moved. A finished state stamps
    /// `finished_at`.
    pub async fn set_import_state(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, StoreError> {
        let finished = matches!(to, "done" | "failed" | "stopped").then(now_ms);
        let states = from.join(",");
        let moved = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE import_runs SET state = $2, finished_at = $3, updated_at = $4
                 WHERE id = $1 AND (',' || $5 || ',') LIKE ('%,' || state || ',%')",
            )
            .bind(id)
            .bind(to)
            .bind(finished)
            .bind(now_ms())
            .bind(&states)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(moved > 0)
    }

    /// Adds the counterparties of one page to a run, in one transaction.
    pub async fn add_import_rows(&self, rows: &[ImportRow]) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO import_rows ({ROW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (run_id, seq) DO NOTHING"
        );
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for row in rows {
                sqlx::query(&sql)
                    .bind(&row.run_id)
                    .bind(row.seq)
                    .bind(&row.account_id)
                    .bind(&row.counterparty_id)
                    .bind(&row.name)
                    .bind(&row.phone_raw)
                    .bind(&row.phone)
                    .bind(&row.card)
                    .bind(&row.ean)
                    .bind(row.points_kopecks)
                    .bind(&row.person)
                    .bind(&row.decision)
                    .bind(&row.problem)
                    .bind(&row.note)
                    .bind(&row.target_phone)
                    .bind(row.credit_kopecks)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// After reading: counterparties an earlier run finished become `done_before`, and the pending
    /// ones sharing a phone with another row of the run are skipped as duplicates.
    pub async fn settle_read_import_rows(
        &self,
        run_id: &str,
        account_id: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE import_rows SET decision = 'done_before', problem = NULL
                 WHERE run_id = $1 AND decision = 'pending' AND counterparty_id IN
                   (SELECT counterparty_id FROM import_ledger WHERE account_id = $2 AND step IN ('done', 'parked'))",
            )
            .bind(run_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE import_rows SET decision = 'skipped', problem = 'duplicate_phone'
                 WHERE run_id = $1 AND decision = 'pending' AND phone IN
                   (SELECT phone FROM import_rows WHERE run_id = $1 AND phone IS NOT NULL
                    GROUP BY phone HAVING COUNT(*) > 1)",
            )
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Up to `limit` rows of a run after `after_seq` whose decision is one of `decisions`
    /// (comma-separated), in order.
    pub async fn import_rows_after(
        &self,
        run_id: &str,
        decisions: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ImportRow>, StoreError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM import_rows
             WHERE run_id = $1 AND seq > $2 AND (',' || $3 || ',') LIKE ('%,' || decision || ',%')
             ORDER BY seq LIMIT $4"
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(run_id)
                .bind(after_seq)
                .bind(decisions)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Rows of a run with a problem or a note, in order, `limit` after `after_seq` (the CSV).
    pub async fn import_problem_rows(
        &self,
        run_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ImportRow>, StoreError> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM import_rows
             WHERE run_id = $1 AND seq > $2 AND (problem IS NOT NULL OR note IS NOT NULL)
             ORDER BY seq LIMIT $3"
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(run_id)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Saves the matching's outcome of rows (decision, problem, target phone, credit), in one
    /// transaction.
    pub async fn save_import_decisions(&self, rows: &[ImportRow]) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for row in rows {
                sqlx::query(
                    "UPDATE import_rows SET decision = $3, problem = $4, target_phone = $5, credit_kopecks = $6
                     WHERE run_id = $1 AND seq = $2",
                )
                .bind(&row.run_id)
                .bind(row.seq)
                .bind(&row.decision)
                .bind(&row.problem)
                .bind(&row.target_phone)
                .bind(row.credit_kopecks)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A run's rows counted by decision and problem, with their planned credit.
    pub async fn import_decision_counts(
        &self,
        run_id: &str,
    ) -> Result<Vec<DecisionCount>, StoreError> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT decision, problem, COUNT(*), CAST(COALESCE(SUM(credit_kopecks), 0) AS BIGINT) FROM import_rows
                 WHERE run_id = $1 GROUP BY decision, problem ORDER BY decision, problem",
            )
            .bind(run_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Rows of a run carrying a note (brought over, with a remark), by note.
    pub async fn import_note_counts(&self, run_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT note, COUNT(*) FROM import_rows WHERE run_id = $1 AND note IS NOT NULL GROUP BY note",
            )
            .bind(run_id)
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn ledger_entry(
        &self,
        account_id: &str,
        counterparty_id: &str,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM import_ledger WHERE account_id = $1 AND counterparty_id = $2"
        );
        self.select_one(&sql, &[account_id, counterparty_id]).await
    }

    /// Writes a ledger row (committed before the call it announces is made).
    pub async fn save_ledger_entry(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO import_ledger (account_id, counterparty_id, phone, step, created_by_import, credit_kopecks,
                                            credited_kopecks, balance_seen, reason, run_id, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (account_id, counterparty_id) DO UPDATE SET
                   phone = excluded.phone, step = excluded.step, created_by_import = excluded.created_by_import,
                   credit_kopecks = excluded.credit_kopecks, credited_kopecks = excluded.credited_kopecks,
                   balance_seen = excluded.balance_seen, reason = excluded.reason, run_id = excluded.run_id,
                   updated_at = excluded.updated_at",
            )
            .bind(&entry.account_id)
            .bind(&entry.counterparty_id)
            .bind(&entry.phone)
            .bind(&entry.step)
            .bind(entry.created_by_import)
            .bind(entry.credit_kopecks)
            .bind(entry.credited_kopecks)
            .bind(&entry.balance_seen)
            .bind(&entry.reason)
            .bind(&entry.run_id)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Ledger rows of an account in `step`, at most `limit`.
    pub async fn ledger_in_step(
        &self,
        account_id: &str,
        step: &str,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM import_ledger WHERE account_id = $1 AND step = $2
             ORDER BY counterparty_id LIMIT $3"
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(step)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The ledger rows a run wrote, counted by step.
    pub async fn ledger_counts(&self, run_id: &str) -> Result<Vec<StepCount>, StoreError> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT step, COUNT(*), CAST(COALESCE(SUM(CASE WHEN created_by_import THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(credited_kopecks), 0) AS BIGINT)
                 FROM import_ledger WHERE run_id = $1 GROUP BY step ORDER BY step",
            )
            .bind(run_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// How many rows of a run have points to carry.
    pub async fn import_credit_rows(&self, run_id: &str) -> Result<i64, StoreError> {
        let (count,): (i64,) = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*) FROM import_rows WHERE run_id = $1 AND credit_kopecks > 0",
            )
            .bind(run_id)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// How many counterparties a run credited.
    pub async fn ledger_credited_rows(&self, run_id: &str) -> Result<i64, StoreError> {
        let (count,): (i64,) = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*) FROM import_ledger WHERE run_id = $1 AND credited_kopecks > 0",
            )
            .bind(run_id)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Forgets the rows of the account's earlier runs (the ledger stays): only the latest run's
    /// rows are shown and downloaded.
    pub async fn forget_old_import_rows(
        &self,
        account_id: &str,
        keep_run_id: &str,
    ) -> Result<u64, StoreError> {
        Ok(with_pool!(self, |pool| {
            sqlx::query("DELETE FROM import_rows WHERE account_id = $1 AND run_id <> $2")
                .bind(account_id)
                .bind(keep_run_id)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
