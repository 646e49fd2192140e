//! Announcing what changed — an account (status, settings, LoyaltyAPI token) or a customer link —
//! to every instance that shares the database, so each can forget what it keeps of it in memory.
//! PostgreSQL carries the announcement with `NOTIFY`; SQLite serves one instance, which forgets
//! in-process, so there is nothing to carry.

use sqlx::postgres::PgListener;

use super::{DbPool, Store, StoreError};

/// The PostgreSQL channel of changes; the payload is [`Change::payload`].
const CHANNEL: &str = "bonusbridge_changed";

/// What changed, as announced and heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// This account changed.
    Account(String),
    /// The link of MoySklad's counterparty (or our customer GUID) `id` of the account changed.
    CustomerLink { account_id: String, id: String },
    /// The connection was lost (or an announcement was not understood) and changes may have been
    /// missed: forget everything.
    Missed,
}

impl Change {
    /// The `NOTIFY` payload: fields separated by new lines, which no id contains.
    fn payload(&self) -> String {
        match self {
            Change::Account(account_id) => format!("account\n{account_id}"),
            Change::CustomerLink { account_id, id } => format!("link\n{account_id}\n{id}"),
            Change::Missed => "missed".to_owned(),
        }
    }

    fn parse(payload: &str) -> Change {
        let fields: Vec<&str> = payload.split('\n').collect();
        match fields.as_slice() {
            ["account", account_id] => Change::Account((*account_id).to_owned()),
            ["link", account_id, id] => Change::CustomerLink {
                account_id: (*account_id).to_owned(),
                id: (*id).to_owned(),
            },
            _ => Change::Missed,
        }
    }
}

/// Changes announced by any instance (PostgreSQL only).
pub struct Changes {
    listener: PgListener,
}

impl Changes {
    /// The next change. After [`Change::Missed`] the next call reconnects; an error means
    /// reconnecting failed (the caller waits and asks again).
    pub async fn next(&mut self) -> Result<Change, StoreError> {
        Ok(match self.listener.try_recv().await? {
            Some(notification) => Change::parse(notification.payload()),
            None => Change::Missed,
        })
    }
}

impl Store {
    /// Tells every instance what changed. Call it after the change is committed.
    pub async fn announce(&self, change: &Change) -> Result<(), StoreError> {
        if let DbPool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(change.payload())
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Listens to changes; `None` on SQLite, where only this instance makes changes.
    pub async fn listen_to_changes(&self) -> Result<Option<Changes>, StoreError> {
        let DbPool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Changes { listener }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_as_announced() {
        for change in [
            Change::Account("acc-1".into()),
            Change::CustomerLink {
                account_id: "acc-1".into(),
                id: "c0ffee00-0000-4000-8000-000000000001".into(),
            },
        ] {
            assert_eq!(Change::parse(&change.payload()), change);
        }
        assert_eq!(Change::parse("something else"), Change::Missed);
        assert_eq!(Change::parse("account\na\nb"), Change::Missed);
    }
}
