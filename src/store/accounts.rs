//! Installed accounts, their loyalty settings, LoyaltyAPI tokens, settings-page sessions and audit.

use super::{now_ms, with_pool, Store, StoreError};

/// Where an account stands in MoySklad's app life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::SettingsRequired => "SettingsRequired",
            AccountStatus::Activated => "Activated",
            AccountStatus::Suspended => "Suspended",
            AccountStatus::Uninstalled => "Uninstalled",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "SettingsRequired" => AccountStatus::SettingsRequired,
            "Activated" => AccountStatus::Activated,
            "Suspended" => AccountStatus::Suspended,
            "Uninstalled" => AccountStatus::Uninstalled,
            other => return Err(StoreError::Corrupt(format!("account status `{other}`"))),
        })
    }

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
            status: AccountStatus::parse(&row.status)?,
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

/// Loyalty settings of one account. The BonusPlus key stays encrypted here.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoyaltySettings {
    pub account_id: String,
    pub bonusplus_key_enc: Option<Vec<u8>>,
    pub default_store: String,
    /// JSON object: MoySklad retail store id → BonusPlus store.
    pub store_map: String,
    pub external_search: bool,
    pub spend_requires_code: bool,
    pub register_requires_code: bool,
    pub reserve_ttl_secs: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UiSession {
    pub account_id: String,
    pub user_name: String,
    pub user_login: String,
    pub is_admin: bool,
    pub expires_at: i64,
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
                .bind(status.as_str())
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

    pub async fn settings(&self, account_id: &str) -> Result<Option<LoyaltySettings>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT account_id, bonusplus_key_enc, default_store, store_map, external_search, spend_requires_code,
                        register_requires_code, reserve_ttl_secs, updated_at, updated_by
                 FROM loyalty_settings WHERE account_id = $1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Saves settings; `bonusplus_key_enc = None` keeps the stored key.
    pub async fn save_settings(&self, settings: &LoyaltySettings) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO loyalty_settings (account_id, bonusplus_key_enc, default_store, store_map, external_search,
                     spend_requires_code, register_requires_code, reserve_ttl_secs, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (account_id) DO UPDATE SET
                   bonusplus_key_enc = COALESCE(excluded.bonusplus_key_enc, loyalty_settings.bonusplus_key_enc),
                   default_store = excluded.default_store,
                   store_map = excluded.store_map,
                   external_search = excluded.external_search,
                   spend_requires_code = excluded.spend_requires_code,
                   register_requires_code = excluded.register_requires_code,
                   reserve_ttl_secs = excluded.reserve_ttl_secs,
                   updated_at = excluded.updated_at,
                   updated_by = excluded.updated_by",
            )
            .bind(&settings.account_id)
            .bind(&settings.bonusplus_key_enc)
            .bind(&settings.default_store)
            .bind(&settings.store_map)
            .bind(settings.external_search)
            .bind(settings.spend_requires_code)
            .bind(settings.register_requires_code)
            .bind(settings.reserve_ttl_secs)
            .bind(settings.updated_at)
            .bind(&settings.updated_by)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Replaces the account's LoyaltyAPI token: older ones stop working in the same transaction.
    pub async fn replace_api_token(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL")
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The account a (hashed) LoyaltyAPI token belongs to, if the token is current.
    pub async fn account_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let found: Option<(String, String)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT token_hash, account_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        // The index lookup already matched; the constant-time comparison keeps that true even if the
        // lookup were ever made by prefix or collation.
        Ok(found.and_then(|(stored, account)| {
            crate::crypto::constant_time_eq(stored.as_bytes(), token_hash.as_bytes())
                .then_some(account)
        }))
    }

    pub async fn create_ui_session(
        &self,
        token_hash: &str,
        session: &UiSession,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO ui_sessions (token_hash, account_id, user_name, user_login, is_admin, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_hash)
            .bind(&session.account_id)
            .bind(&session.user_name)
            .bind(&session.user_login)
            .bind(session.is_admin)
            .bind(session.expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn ui_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<UiSession>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT account_id, user_name, user_login, is_admin, expires_at FROM ui_sessions
                 WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Appends to the audit log (who, what; never a secret).
    pub async fn audit(
        &self,
        account_id: &str,
        actor: &str,
        action: &str,
        details: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("INSERT INTO audit_log (account_id, actor, action, details, at) VALUES ($1, $2, $3, $4, $5)")
                .bind(account_id)
                .bind(actor)
                .bind(action)
                .bind(details)
                .bind(now_ms())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The newest audit entries of an account: (actor, action, details, at).
    pub async fn audit_entries(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT actor, action, details, at FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Writes a batch of LoyaltyAPI call outcomes in one transaction.
    pub async fn record_api_calls(&self, calls: &[ApiCall]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for call in calls {
                sqlx::query("INSERT INTO api_calls (account_id, endpoint, status, error, at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&call.account_id)
                    .bind(&call.endpoint)
                    .bind(i64::from(call.status))
                    .bind(&call.error)
                    .bind(call.at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The newest LoyaltyAPI calls of an account: (endpoint, status, error, at).
    pub async fn recent_api_calls(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, i64, Option<String>, i64)>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT endpoint, status, error, at FROM api_calls WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

/// Where a sealed secret lives, for key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    /// `accounts.access_token_enc` (MoySklad JSON API token).
    AccessToken,
    /// `loyalty_settings.bonusplus_key_enc`.
    BonusPlusKey,
    /// `verification_requests.code_enc`.
    VerificationCode,
}

#[derive(Debug, Clone)]
pub struct SealedSecret {
    pub column: SecretColumn,
    pub account_id: String,
    /// Only for verification codes: (phone, purpose) complete the key.
    pub phone: String,
    pub purpose: String,
    pub sealed: Vec<u8>,
}

impl Store {
    /// Every sealed secret in the database.
    pub async fn sealed_secrets(&self) -> Result<Vec<SealedSecret>, StoreError> {
        let mut secrets = Vec::new();
        let rows: Vec<(String, Vec<u8>)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT account_id, access_token_enc FROM accounts WHERE access_token_enc IS NOT NULL")
                .fetch_all(pool)
                .await?
        });
        secrets.extend(rows.into_iter().map(|(account_id, sealed)| SealedSecret {
            column: SecretColumn::AccessToken,
            account_id,
            phone: String::new(),
            purpose: String::new(),
            sealed,
        }));
        let rows: Vec<(String, Vec<u8>)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT account_id, bonusplus_key_enc FROM loyalty_settings WHERE bonusplus_key_enc IS NOT NULL")
                .fetch_all(pool)
                .await?
        });
        secrets.extend(rows.into_iter().map(|(account_id, sealed)| SealedSecret {
            column: SecretColumn::BonusPlusKey,
            account_id,
            phone: String::new(),
            purpose: String::new(),
            sealed,
        }));
        let rows: Vec<(String, String, String, Vec<u8>)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT account_id, phone, purpose, code_enc FROM verification_requests WHERE code_enc IS NOT NULL",
            )
            .fetch_all(pool)
            .await?
        });
        secrets.extend(
            rows.into_iter()
                .map(|(account_id, phone, purpose, sealed)| SealedSecret {
                    column: SecretColumn::VerificationCode,
                    account_id,
                    phone,
                    purpose,
                    sealed,
                }),
        );
        Ok(secrets)
    }

    /// Replaces a sealed secret if it is still the one read (compare-and-swap, so a secret saved
    /// meanwhile is never overwritten with an older value).
    pub async fn replace_sealed_secret(
        &self,
        secret: &SealedSecret,
        resealed: &[u8],
    ) -> Result<bool, StoreError> {
        let sql = match secret.column {
            SecretColumn::AccessToken => {
                "UPDATE accounts SET access_token_enc = $1 WHERE account_id = $2 AND access_token_enc = $3 AND $4 = $4 AND $5 = $5"
            }
            SecretColumn::BonusPlusKey => {
                "UPDATE loyalty_settings SET bonusplus_key_enc = $1 WHERE account_id = $2 AND bonusplus_key_enc = $3 AND $4 = $4 AND $5 = $5"
            }
            SecretColumn::VerificationCode => {
                "UPDATE verification_requests SET code_enc = $1 WHERE account_id = $2 AND code_enc = $3 AND phone = $4 AND purpose = $5"
            }
        };
        let changed = with_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(resealed)
                .bind(&secret.account_id)
                .bind(&secret.sealed)
                .bind(&secret.phone)
                .bind(&secret.purpose)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }
}

/// One LoyaltyAPI call's outcome, as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    pub account_id: String,
    pub endpoint: String,
    pub status: u16,
    pub error: Option<String>,
    pub at: i64,
}
