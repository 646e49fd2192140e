//! Installed accounts and their place in MoySklad's app life cycle (install, suspend, uninstall).
//! Storage only: no crypto, no clients, no HTTP; settings, tokens and sessions have their own files.

use super::{decode, now_ms, with_pool, Store, StoreError};

/// Where an account stands in MoySklad's app life cycle.
/// Stored as its variant name (`SettingsRequired`, …), the word MoySklad uses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
pub enum AccountStatus {
    /// Installed, not configured yet.
    SettingsRequired,
    /// Configured: the LoyaltyAPI answers for it.
    Activated,
    /// Suspended by MoySklad (unpaid); settings kept, calls refused.
    Suspended,
    /// Uninstalled; secrets destroyed.
    Uninstalled,
}

impl AccountStatus {
    /// Whether LoyaltyAPI calls are answered.
    pub fn is_active(self) -> bool {
        self == AccountStatus::Activated
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct AccountRow {
    account_id: String,
    app_id: String,
    account_name: String,
    status: String,
    reported_status: Option<String>,
    subscription: Option<String>,
    access_token_enc: Option<Vec<u8>>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: String,
    pub app_id: String,
    pub account_name: String,
    pub status: AccountStatus,
    pub reported_status: Option<String>,
    pub subscription: Option<String>,
    /// Encrypted JSON API token (see `crypto::Cipher`).
    pub access_token_enc: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(row: AccountRow) -> Result<Self, StoreError> {
        Ok(Account {
            status: decode("account status", &row.status)?,
            account_id: row.account_id,
            app_id: row.app_id,
            account_name: row.account_name,
            reported_status: row.reported_status,
            subscription: row.subscription,
            access_token_enc: row.access_token_enc,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What an activation call brings.
#[derive(Debug, Clone)]
pub struct ActivationRecord {
    pub account_id: String,
    pub app_id: String,
    pub account_name: String,
    pub subscription: Option<String>,
    /// `None` keeps the token already stored (TariffChanged / Autoprolongation bring none).
    pub access_token_enc: Option<Vec<u8>>,
}

const ACCOUNT_COLUMNS: &str = "account_id, app_id, account_name, status, reported_status, subscription, access_token_enc, created_at, updated_at";

impl Store {
    /// Records an activation idempotently: a new account starts as `SettingsRequired`; a known one
    /// keeps its settings, becomes `Activated` again if it was configured (Resume), and keeps its
    /// token when the call brings none. Returns the account as stored.
    pub async fn activate_account(&self, record: &ActivationRecord) -> Result<Account, StoreError> {
        let now = now_ms();
        let sql = format!(
            "INSERT INTO accounts (account_id, app_id, account_name, status, subscription, access_token_enc, created_at, updated_at)
             VALUES ($1, $2, $3, 'SettingsRequired', $4, $5, $6, $6)
             ON CONFLICT (account_id) DO UPDATE SET
               app_id = excluded.app_id,
               account_name = excluded.account_name,
               subscription = COALESCE(excluded.subscription, accounts.subscription),
               access_token_enc = COALESCE(excluded.access_token_enc, accounts.access_token_enc),
               status = CASE
                 WHEN EXISTS (SELECT 1 FROM loyalty_settings s WHERE s.account_id = accounts.account_id AND s.bonusplus_key_enc IS NOT NULL)
                   THEN 'Activated'
                 ELSE 'SettingsRequired' END,
               updated_at = excluded.updated_at
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row: AccountRow = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&record.account_id)
                .bind(&record.app_id)
                .bind(&record.account_name)
                .bind(&record.subscription)
                .bind(&record.access_token_enc)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        row.try_into()
    }

    pub async fn account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1");
        let row: Option<AccountRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Account::try_from).transpose()
    }

    /// Ids of the accounts the app currently serves (`Activated`).
    pub async fn active_account_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT account_id FROM accounts WHERE status = 'Activated' ORDER BY account_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Sets the status; returns `false` if the account is unknown.
    pub async fn set_account_status(
        &self,
        account_id: &str,
        status: AccountStatus,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query("UPDATE accounts SET status = $2, updated_at = $3 WHERE account_id = $1")
                .bind(account_id)
                .bind(status.as_ref())
                .bind(now_ms())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Remembers the status MoySklad has from us (so `Activated` is never pushed twice).
    pub async fn set_reported_status(
        &self,
        account_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE accounts SET reported_status = $2, updated_at = $3 WHERE account_id = $1",
            )
            .bind(account_id)
            .bind(status)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Uninstall: the account is kept as a tombstone, every secret is destroyed (token, key, LoyaltyAPI
    /// tokens, sessions) so nothing stored for it can be used again.
    pub async fn uninstall_account(&self, account_id: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let changed = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE accounts SET status = 'Uninstalled', access_token_enc = NULL, reported_status = NULL, updated_at = $2
                 WHERE account_id = $1 AND status <> 'Uninstalled'",
            )
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("UPDATE loyalty_settings SET bonusplus_key_enc = NULL, updated_at = $2 WHERE account_id = $1")
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL")
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM ui_sessions WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            changed
        });
        Ok(changed == 1)
    }
}
