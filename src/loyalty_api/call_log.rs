//! The LoyaltyAPI call log behind the settings page ("why did the till get no bonuses?").
//! Must not depend on `vendor_api` or `ui`; its writer gets the accounts service and the store, never `state`.
//!
//! The till must never wait for it: a request only drops its outcome into a bounded channel, and one
//! writer task resolves the accounts and writes whatever has accumulated in one transaction — a
//! single commit for a whole burst instead of one per request. When the channel is full (the
//! database is far behind), entries are dropped: the log is a diagnostic, not a record of money.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::store::{now_ms, ApiCall, Store};

const CAPACITY: usize = 10_000;
const MAX_BATCH: usize = 500;

/// One answered LoyaltyAPI call, before its account is known.
#[derive(Debug)]
pub struct CallRecord {
    /// The caller's token, kept only until its account is resolved (never written).
    pub token: String,
    pub endpoint: String,
    pub status: u16,
    pub error: Option<String>,
    pub at: i64,
}

/// The request side: cheap to clone, never blocks.
#[derive(Clone)]
pub struct CallLog {
    tx: mpsc::Sender<CallRecord>,
}

impl CallLog {
    pub fn channel() -> (CallLog, mpsc::Receiver<CallRecord>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        (CallLog { tx }, rx)
    }

    pub fn record(&self, token: String, endpoint: String, status: u16, error: Option<String>) {
        let record = CallRecord {
            token,
            endpoint,
            status,
            error,
            at: now_ms(),
        };
        if self.tx.try_send(record).is_err() {
            tracing::debug!("call log is behind: entry dropped");
        }
    }
}

/// Writes batches until shutdown, then what is still queued.
pub async fn write(
    accounts: Accounts,
    store: Store,
    mut rx: mpsc::Receiver<CallRecord>,
    shutdown: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    return;
                }
                flush(&accounts, &store, &mut batch).await;
            }
            () = shutdown.cancelled() => {
                while rx.try_recv().map(|record| batch.push(record)).is_ok() {}
                flush(&accounts, &store, &mut batch).await;
                return;
            }
        }
    }
}

async fn flush(accounts: &Accounts, store: &Store, batch: &mut Vec<CallRecord>) {
    let mut calls = Vec::with_capacity(batch.len());
    for record in batch.drain(..) {
        // Calls with an unknown token belong to no account and are not kept.
        if let Some(account_id) = accounts.account_of_token(&record.token).await {
            calls.push(ApiCall {
                account_id,
                endpoint: record.endpoint,
                status: record.status,
                error: record.error,
                at: record.at,
            });
        }
    }
    if let Err(error) = store.record_api_calls(&calls).await {
        tracing::debug!(%error, count = calls.len(), "call log not written");
    }
}
