//! Every sealed secret in the database, listed and replaced for key rotation (`admin`).
//! Storage only: sealing and opening is `crypto`'s.

use super::{with_pool, Store, StoreError};

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
