//! Vendor API JWT ids already seen, so a replayed token is refused on every instance.
//! Storage only: verifying the token is `moysklad::jwt`'s.

use super::{with_pool, Store, StoreError};

impl Store {
    /// Records a Vendor API JWT id; `false` if it was seen before (a replay). Shared by every
    /// instance through the database, and durable across restarts.
    pub async fn remember_jwt_id(&self, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        let inserted = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO seen_jwt_ids (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }
}
