//! Operator commands beside `main.rs` that work on the stored data: key rotation, the accounts report.
//! The top layer, beside `startup`: it imports downward only, and nothing in the library imports it.

mod accounts;
mod differences;

pub use accounts::{accounts_report, ReportError};

use crate::crypto::{Cipher, SecretKind};
use crate::store::{SealedSecret, SecretColumn, Store, StoreError};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Re-sealed with the active key.
    pub rotated: usize,
    /// Already on the active key.
    pub current: usize,
    /// Could not be opened with any configured key (left as they are, reported).
    pub unreadable: usize,
}

/// Re-seals every stored secret that is not sealed with the active key. Run it after adding a new key
/// and making it `security.active_key` (keep the old key configured until this reports 0 unreadable).
pub async fn rotate_keys(store: &Store, cipher: &Cipher) -> Result<Rotation, StoreError> {
    let mut outcome = Rotation::default();
    for secret in store.sealed_secrets().await? {
        if Cipher::key_of(&secret.sealed).ok() == Some(cipher.active_key()) {
            outcome.current += 1;
            continue;
        }
        match reseal(cipher, &secret) {
            Some(resealed) => {
                if store.replace_sealed_secret(&secret, &resealed).await? {
                    outcome.rotated += 1;
                }
            }
            None => {
                tracing::warn!(account = %secret.account_id, column = ?secret.column, "secret cannot be opened with any configured key");
                outcome.unreadable += 1;
            }
        }
    }
    Ok(outcome)
}

fn reseal(cipher: &Cipher, secret: &SealedSecret) -> Option<Vec<u8>> {
    let purpose = match secret.column {
        SecretColumn::AccessToken => SecretKind::MoySkladToken,
        SecretColumn::BonusPlusKey => SecretKind::BonusPlusKey,
        SecretColumn::VerificationCode => SecretKind::VerificationCode,
    };
    let clear = cipher
        .open(&secret.account_id, purpose, &secret.sealed)
        .ok()?;
    cipher.seal(&secret.account_id, purpose, &clear).ok()
}
