//! Shared service: hears the changes other instances announce (accounts, customer links, reserves)
//! and makes this instance's caches forget them, so what each instance keeps in memory stays true.
//! Must not depend on `state` or on incoming modules; announcing is the changer's business
//! ([`Accounts::changed`], [`Customers::save_link`], [`Reserves`]).

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::customers::Customers;
use crate::reserves::Reserves;
use crate::store::{Change, Changes, Store, StoreError};

/// How often everything is forgotten when no announcements can be heard (a PostgreSQL that
/// refuses `LISTEN`, e.g. behind a transaction-pooling proxy, or a lost connection that does
/// not come back): the staleness instances had before announcements existed.
pub const UNHEARD_TTL: Duration = Duration::from_secs(5);

/// What this instance keeps in memory and must forget on a change.
#[derive(Clone)]
pub struct Caches {
    pub accounts: Accounts,
    pub customers: Customers,
    pub reserves: Reserves,
}

impl Caches {
    fn forget(&self, change: Change) {
        match change {
            Change::Account(account_id) => self.accounts.invalidate(&account_id),
            Change::CustomerLink { account_id, id } => self.customers.forget_link(&account_id, &id),
            Change::Reserves {
                account_id,
                phone,
                retail_store_id,
            } => self
                .reserves
                .forget_held(&account_id, &phone, &retail_store_id),
            Change::Missed => self.forget_everything(),
        }
    }

    fn forget_everything(&self) {
        self.accounts.invalidate_all();
        self.customers.forget_all_links();
        self.reserves.forget_all_held();
    }
}

/// Listening to the changes other instances announce, from before this instance serves anything:
/// a change announced while it starts (between its first reads and a later `LISTEN`) would
/// otherwise never be heard, and what it read would be kept until the cache's backstop.
pub struct Listening(Result<Option<Changes>, StoreError>);

/// Starts listening; returns once `LISTEN` is in place. SQLite: nothing to hear (one instance,
/// which forgets as it changes).
pub async fn listen(store: &Store) -> Listening {
    Listening(store.listen_to_changes().await)
}

impl Listening {
    /// Forgets each change heard (and those that arrived since [`listen`]) until `shutdown`.
    pub fn follow(self, caches: Caches, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            match self.0 {
                Ok(Some(changes)) => hear(changes, &caches, &shutdown).await,
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot listen to announced changes; forgetting cached accounts every {} s instead", UNHEARD_TTL.as_secs());
                    forget_periodically(&caches, &shutdown).await;
                }
            }
        })
    }
}

async fn hear(mut changes: Changes, caches: &Caches, shutdown: &CancellationToken) {
    loop {
        let heard = tokio::select! {
            () = shutdown.cancelled() => return,
            heard = changes.next() => heard,
        };
        match heard {
            Ok(change) => {
                if change == Change::Missed {
                    tracing::warn!(
                        "announced changes may have been missed; everything cached forgotten"
                    );
                }
                caches.forget(change);
            }
            Err(error) => {
                tracing::warn!(%error, "cannot reconnect to hear announced changes");
                caches.forget_everything();
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(UNHEARD_TTL) => {}
                }
            }
        }
    }
}

async fn forget_periodically(caches: &Caches, shutdown: &CancellationToken) {
    let mut every = tokio::time::interval(UNHEARD_TTL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => caches.forget_everything(),
        }
    }
}
