//! Announcing what changed — an account (status, settings, LoyaltyAPI token), a customer link or a
//! customer's reserves at a point of sale —
//! to every instance that shares the database, so each can forget what it keeps of it in memory.
//! PostgreSQL carries the announcement with `NOTIFY`; SQLite serves one instance, which forgets
//! in-process, so there is nothing to carry.

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

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
    /// The bonus reserves of the customer with `phone` at point of sale `retail_store_id` changed.
    Reserves {
        account_id: String,
        phone: String,
        retail_store_id: String,
    },
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
            Change::Reserves {
                account_id,
                phone,
                retail_store_id,
            } => format!("reserves\n{account_id}\n{phone}\n{retail_store_id}"),
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
            ["reserves", account_id, phone, retail_store_id] => Change::Reserves {
                account_id: (*account_id).to_owned(),
                phone: (*phone).to_owned(),
                retail_store_id: (*retail_store_id).to_owned(),
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

/// Most announcements sent in one transaction.
const BATCH: usize = 1000;

/// Sends announcements from one task, in batches. `NOTIFY` serialises the commits of every
/// notifying transaction in the cluster, so announcing from each request (one commit and WAL
/// flush each) would queue them, holding pool connections the till needs; here whatever piles up
/// while one batch is sent goes in the next, in one commit that waits for no WAL flush (an
/// announcement is worth nothing after a crash).
#[derive(Debug, Clone)]
pub(super) struct Announcer {
    queue: mpsc::UnboundedSender<Change>,
}

impl Announcer {
    /// Starts the sending task; it ends when the last [`Store`] clone is dropped.
    pub(super) fn start(pool: PgPool) -> Announcer {
        let (queue, mut pending) = mpsc::unbounded_channel::<Change>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while pending.recv_many(&mut batch, BATCH).await > 0 {
                let mut payloads: Vec<String> = batch.drain(..).map(|c| c.payload()).collect();
                payloads.sort_unstable();
                payloads.dedup();
                if let Err(error) = notify(&pool, &payloads).await {
                    tracing::error!(%error, count = payloads.len(), "changes not announced to other instances; they forget them within the cache's lifetime");
                }
            }
        });
        Announcer { queue }
    }
}

async fn notify(pool: &PgPool, payloads: &[String]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit TO OFF")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
        .bind(CHANNEL)
        .bind(payloads)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

impl Store {
    /// Tells every instance what changed (sent within moments, in the background). Call it after
    /// the change is committed.
    pub fn announce(&self, change: Change) {
        if let Some(announcer) = &self.announcer {
            // Only fails once the sending task is gone, i.e. while the process stops.
            let _ = announcer.queue.send(change);
        }
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
            Change::Reserves {
                account_id: "acc-1".into(),
                phone: "79011231122".into(),
                retail_store_id: "pos-1".into(),
            },
        ] {
            assert_eq!(Change::parse(&change.payload()), change);
        }
        assert_eq!(Change::parse("something else"), Change::Missed);
        assert_eq!(Change::parse("account\na\nb"), Change::Missed);
    }
}
