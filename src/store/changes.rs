//! Announcing that an account changed (status, settings, LoyaltyAPI token) to every instance that
//! shares the database, so each can forget what it keeps of the account in memory.
//! PostgreSQL carries the announcement with `NOTIFY`; SQLite serves one instance, which forgets
//! in-process, so there is nothing to carry.

use sqlx::postgres::PgListener;

use super::{DbPool, Store, StoreError};

/// The PostgreSQL channel of account changes; the payload is the account id.
const CHANNEL: &str = "bonusbridge_account_changed";

/// What a listener hears.
#[derive(Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// This account changed.
    Account(String),
    /// The connection was lost and announcements may have been missed: forget every account.
    Missed,
}

/// Account changes announced by any instance (PostgreSQL only).
pub struct AccountChanges {
    listener: PgListener,
}

impl AccountChanges {
    /// The next change. After [`AccountChange::Missed`] the next call reconnects; an error means
    /// reconnecting failed (the caller waits and asks again).
    pub async fn next(&mut self) -> Result<AccountChange, StoreError> {
        Ok(match self.listener.try_recv().await? {
            Some(notification) => AccountChange::Account(notification.payload().to_owned()),
            None => AccountChange::Missed,
        })
    }
}

impl Store {
    /// Tells every instance that `account_id` changed. Call it after the change is committed.
    pub async fn announce_account_change(&self, account_id: &str) -> Result<(), StoreError> {
        if let DbPool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(account_id)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Listens to account changes; `None` on SQLite, where only this instance makes changes.
    pub async fn listen_account_changes(&self) -> Result<Option<AccountChanges>, StoreError> {
        let DbPool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(AccountChanges { listener }))
    }
}
