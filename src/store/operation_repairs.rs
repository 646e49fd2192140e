//! Changes people make to recorded sales and returns: the operator's and an administrator's retry
//! of failed deliveries, and an administrator's match or close of a return that waited for its
//! sale. Storage only: no clients, no HTTP.

use super::jobs::insert_job;
use super::operations::{OperationPayload, OperationRow, OPERATION_COLUMNS};
use super::{now_ms, with_pool, NewJob, Operation, Store, StoreError};
use crate::domain::phone::Phone;

impl Store {
    /// Puts permanently failed operations back to pending (operator retry); returns their ids.
    pub async fn reopen_failed_operations(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE operations SET state = 'pending', last_error = NULL, updated_at = $1 WHERE state = 'failed'
                 RETURNING id, account_id",
            )
            .bind(now_ms())
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Puts one failed operation of `account_id` back to pending with its delivery job due at
    /// `job.run_at` (an administrator's retry), in one transaction. `None` when it is not a failed
    /// operation of that account — already retried by another click or instance, or unknown:
    /// nothing changes then.
    pub async fn reopen_failed_operation<P: OperationPayload>(
        &self,
        account_id: &str,
        id: &str,
        job: &NewJob,
    ) -> Result<Option<Operation<P>>, StoreError> {
        let now = now_ms();
        let sql = format!(
            "UPDATE operations SET state = 'pending', last_error = NULL, updated_at = $3
             WHERE account_id = $1 AND id = $2 AND state = 'failed'
             RETURNING {OPERATION_COLUMNS}"
        );
        let reopened: Option<OperationRow> = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<OperationRow> = sqlx::query_as(&sql)
                .bind(account_id)
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_some() {
                // The job exists unless the operation predates jobs being kept; either way it is
                // made due, taken from whoever last held it (a worker still finishing its failure
                // then finds it gone and leaves it).
                insert_job!(&mut *tx, job, now);
                sqlx::query(
                    "UPDATE jobs SET state = 'ready', attempts = 0, run_at = $2, locked_by = NULL, locked_until = NULL,
                            last_error = NULL, updated_at = $3
                     WHERE dedupe_key = $1",
                )
                .bind(&job.dedupe_key)
                .bind(job.run_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            row
        });
        reopened.map(OperationRow::read).transpose()
    }

    /// Turns a return that needs attention into a return of `sale_id` to deliver (`payload`), with
    /// its delivery job, in one transaction. `false` when the return no longer needs attention
    /// (matched or closed already, by another click or another instance): nothing changes then.
    pub async fn match_return<P: OperationPayload>(
        &self,
        account_id: &str,
        id: &str,
        sale_id: &str,
        phone: Option<&Phone>,
        payload: &P,
        job: &NewJob,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let payload = payload.to_stored()?;
        let matched = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE operations SET state = 'pending', sale_id = $3, phone = $4, payload = $5, last_error = NULL, updated_at = $6
                 WHERE account_id = $1 AND id = $2 AND kind = 'return' AND state = 'needs_attention'",
            )
            .bind(account_id)
            .bind(id)
            .bind(sale_id)
            .bind(phone.map(Phone::as_str))
            .bind(&payload)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                insert_job!(&mut *tx, job, now);
            }
            tx.commit().await?;
            changed == 1
        });
        Ok(matched)
    }

    /// Closes a return that needs attention without reversing anything; `false` when it no longer
    /// needs attention.
    pub async fn close_return(
        &self,
        account_id: &str,
        id: &str,
        why: &str,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE operations SET state = 'nothing_to_do', last_error = $3, updated_at = $4
                 WHERE account_id = $1 AND id = $2 AND kind = 'return' AND state = 'needs_attention'",
            )
            .bind(account_id)
            .bind(id)
            .bind(why)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }
}
