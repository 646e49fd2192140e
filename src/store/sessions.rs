//! Settings-page sessions, kept only as token hashes with their user and expiry.
//! Storage only: no HTTP, no MoySklad client.

use super::{with_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UiSession {
    pub account_id: String,
    pub user_name: String,
    pub user_login: String,
    pub is_admin: bool,
    pub expires_at: i64,
}

impl Store {
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
}
