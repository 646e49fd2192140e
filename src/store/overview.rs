//! The operator's view of installed accounts (`bonusbridge accounts`): status and health per
//! account, counted by the database. Storage only: formatting lives in `admin`.
//! Never selects a secret column (keys, tokens, codes).

use super::{with_pool, Store, StoreError, DELIVER_KIND};

/// One account's health as the operator CLI lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountOverview {
    pub account_id: String,
    pub account_name: String,
    pub status: String,
    /// Time of the newest LoyaltyAPI call kept in the call log.
    pub last_call_at: Option<i64>,
    /// LoyaltyAPI calls since the `since` given to the query.
    pub calls: i64,
    /// Of those, the ones answered with an error (HTTP ≥ 400).
    pub errors: i64,
    /// Deliveries waiting or running.
    pub backlog: i64,
    /// Sales and returns BonusPlus refused for good (parked).
    pub failed: i64,
    /// The newest product-sync run: state and start time.
    pub sync_state: Option<String>,
    pub sync_started_at: Option<i64>,
}

/// What `bonusbridge accounts <id>` adds to the overview: settings in outline, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountDetail {
    pub reported_status: Option<String>,
    pub subscription: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub has_json_api_access: bool,
    pub has_bonusplus_key: Option<bool>,
    pub default_store: Option<String>,
    pub store_map: Option<String>,
    pub code_delivery: Option<String>,
    pub reserve_ttl_secs: Option<i64>,
    pub settings_updated_at: Option<i64>,
    pub open_reserves: i64,
}

/// A recent problem of an account: a LoyaltyAPI error, a parked delivery, a return waiting to be
/// matched to its sale.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountProblem {
    pub what: String,
    pub detail: Option<String>,
    pub at: i64,
}

const OVERVIEW: &str = "
    SELECT a.account_id, a.account_name, a.status,
        (SELECT MAX(c.at) FROM api_calls c WHERE c.account_id = a.account_id) AS last_call_at,
        (SELECT COUNT(*) FROM api_calls c WHERE c.account_id = a.account_id AND c.at >= $1) AS calls,
        (SELECT COUNT(*) FROM api_calls c
          WHERE c.account_id = a.account_id AND c.at >= $1 AND c.status >= 400) AS errors,
        (SELECT COUNT(*) FROM jobs j
          WHERE j.account_id = a.account_id AND j.kind = $2 AND j.state IN ('ready', 'running')) AS backlog,
        (SELECT COUNT(*) FROM operations o WHERE o.account_id = a.account_id AND o.state = 'failed') AS failed,
        (SELECT s.state FROM sync_runs s WHERE s.account_id = a.account_id
          ORDER BY s.started_at DESC LIMIT 1) AS sync_state,
        (SELECT MAX(s.started_at) FROM sync_runs s WHERE s.account_id = a.account_id) AS sync_started_at
    FROM accounts a
    WHERE ($3 IS NULL OR a.account_id = $3)
    ORDER BY a.account_name, a.account_id";

const DETAIL: &str = "
    SELECT a.reported_status, a.subscription, a.created_at, a.updated_at,
        (a.access_token_enc IS NOT NULL) AS has_json_api_access,
        (s.bonusplus_key_enc IS NOT NULL) AS has_bonusplus_key,
        s.default_store, s.store_map, s.code_delivery, s.reserve_ttl_secs,
        s.updated_at AS settings_updated_at,
        (SELECT COUNT(*) FROM reserves r
          WHERE r.account_id = a.account_id AND r.state IN ('intended', 'active')) AS open_reserves
    FROM accounts a LEFT JOIN loyalty_settings s ON s.account_id = a.account_id
    WHERE a.account_id = $1";

const PROBLEMS: &str = "
    SELECT what, detail, at FROM (
        SELECT 'LoyaltyAPI ' || endpoint || ' → ' || CAST(status AS TEXT) AS what, error AS detail, at
          FROM api_calls WHERE account_id = $1 AND status >= 400
        UNION ALL
        SELECT 'delivery failed: ' || kind || COALESCE(' ' || ms_id, '') AS what, last_error AS detail,
               updated_at AS at
          FROM operations WHERE account_id = $1 AND state = 'failed'
        UNION ALL
        SELECT 'return without its sale: ' || COALESCE(ms_id, id) AS what, notes AS detail,
               created_at AS at
          FROM operations WHERE account_id = $1 AND state = 'needs_attention'
    ) problems
    ORDER BY at DESC LIMIT $2";

impl Store {
    /// Every account (or the one named), with its calls and errors since `since` (epoch ms).
    pub async fn account_overviews(
        &self,
        since: i64,
        account_id: Option<&str>,
    ) -> Result<Vec<AccountOverview>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(OVERVIEW)
                .bind(since)
                .bind(DELIVER_KIND)
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Settings in outline and counts of one account; `None` if it was never installed.
    pub async fn account_detail(
        &self,
        account_id: &str,
    ) -> Result<Option<AccountDetail>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as(DETAIL)
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// The newest problems of an account, newest first.
    pub async fn account_problems(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<AccountProblem>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(PROBLEMS)
                .bind(account_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}
