//! Secrets at rest and bearer tokens.
//! A utility: must not depend on any other module of the crate.
//!
//! * [`Cipher`] seals secrets (BonusPlus keys, MoySklad tokens) with AES-256-GCM. The envelope names
//!   the key that sealed it, so keys can be rotated; the associated data binds a ciphertext to its
//!   account and [`SecretKind`], so a ciphertext copied into another row does not open.
//! * Bearer tokens (LoyaltyAPI, settings-page sessions) are random, shown once, and stored only as a
//!   SHA-256 hash: they have 256 bits of entropy, so a fast hash is enough and a dump holds nothing usable.

use std::collections::BTreeMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const ENVELOPE_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the ciphertext is malformed")]
    Malformed,
    #[error("the ciphertext was sealed with unknown key `{0}`")]
    UnknownKey(String),
    #[error("the ciphertext does not open with its key (tampered, or bound to another account)")]
    Unseal,
    #[error("encryption failed")]
    Seal,
}

/// Which secret a ciphertext holds (a BonusPlus key, a MoySklad token, a verification code); part
/// of the associated data, so one kind never opens as another.
#[derive(Debug, Clone, Copy)]
pub enum SecretKind {
    BonusPlusKey,
    MoySkladToken,
    VerificationCode,
}

impl SecretKind {
    fn label(self) -> &'static str {
        match self {
            SecretKind::BonusPlusKey => "bonusplus-key",
            SecretKind::MoySkladToken => "moysklad-token",
            SecretKind::VerificationCode => "verification-code",
        }
    }
}

#[derive(Clone)]
pub struct Cipher {
    inner: Arc<CipherKeys>,
}

struct CipherKeys {
    active: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("active_key", &self.inner.active)
            .field("keys", &self.inner.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Cipher {
    /// `keys` maps key names to 32-byte keys; `active` must be one of them (checked by the caller's
    /// configuration validation).
    pub fn new(active: String, keys: &BTreeMap<String, [u8; 32]>) -> Self {
        let keys = keys
            .iter()
            .map(|(name, key)| (name.clone(), Aes256Gcm::new(key.into())))
            .collect();
        Cipher {
            inner: Arc::new(CipherKeys { active, keys }),
        }
    }

    pub fn active_key(&self) -> &str {
        &self.inner.active
    }

    /// Seals `secret` for `account_id`: version ‖ key-name length ‖ key name ‖ nonce ‖ ciphertext+tag.
    pub fn seal(
        &self,
        account_id: &str,
        kind: SecretKind,
        secret: &SecretString,
    ) -> Result<Vec<u8>, CryptoError> {
        let name = &self.inner.active;
        let cipher = self
            .inner
            .keys
            .get(name)
            .ok_or_else(|| CryptoError::UnknownKey(name.clone()))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = associated_data(account_id, kind);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(2 + name.len() + NONCE_LEN + sealed.len());
        out.push(ENVELOPE_VERSION);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(
        &self,
        account_id: &str,
        kind: SecretKind,
        envelope: &[u8],
    ) -> Result<SecretString, CryptoError> {
        let (name, nonce, sealed) = split_envelope(envelope)?;
        let cipher = self
            .inner
            .keys
            .get(name)
            .ok_or_else(|| CryptoError::UnknownKey(name.to_owned()))?;
        let aad = associated_data(account_id, kind);
        let clear = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Unseal)?;
        let text = String::from_utf8(clear).map_err(|_| CryptoError::Malformed)?;
        Ok(SecretString::from(text))
    }

    /// The name of the key that sealed `envelope` (for rotation: re-seal what is not on the active key).
    pub fn key_of(envelope: &[u8]) -> Result<&str, CryptoError> {
        split_envelope(envelope).map(|(name, _, _)| name)
    }
}

fn associated_data(account_id: &str, kind: SecretKind) -> Vec<u8> {
    format!("bonusbridge:{}:{}", kind.label(), account_id).into_bytes()
}

fn split_envelope(envelope: &[u8]) -> Result<(&str, &[u8], &[u8]), CryptoError> {
    let (&version, rest) = envelope.split_first().ok_or(CryptoError::Malformed)?;
    if version != ENVELOPE_VERSION {
        return Err(CryptoError::Malformed);
    }
    let (&name_len, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
    let name_len = usize::from(name_len);
    if rest.len() < name_len + NONCE_LEN + 16 {
        return Err(CryptoError::Malformed);
    }
    let (name, rest) = rest.split_at(name_len);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let name = std::str::from_utf8(name).map_err(|_| CryptoError::Malformed)?;
    Ok((name, nonce, sealed))
}

/// A new random bearer token (256 bits, URL-safe base64) — shown once, stored as [`token_hash`].
pub fn new_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a bearer token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        use std::fmt::Write;
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Constant-time equality of two byte strings (token hashes, signatures).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(active: &str) -> Cipher {
        let mut keys = BTreeMap::new();
        keys.insert("old".to_owned(), [1u8; 32]);
        keys.insert("new".to_owned(), [2u8; 32]);
        Cipher::new(active.to_owned(), &keys)
    }

    #[test]
    fn sealed_secret_opens_only_for_its_account_and_kind() {
        let c = cipher("new");
        let secret = SecretString::from("bp-key-123");
        let env = c.seal("acc-1", SecretKind::BonusPlusKey, &secret).unwrap();
        assert_eq!(
            c.open("acc-1", SecretKind::BonusPlusKey, &env)
                .unwrap()
                .expose_secret(),
            "bp-key-123"
        );
        assert!(matches!(
            c.open("acc-2", SecretKind::BonusPlusKey, &env),
            Err(CryptoError::Unseal)
        ));
        assert!(matches!(
            c.open("acc-1", SecretKind::MoySkladToken, &env),
            Err(CryptoError::Unseal)
        ));
        assert!(!env.windows(10).any(|w| w == b"bp-key-123"));
    }

    #[test]
    fn envelope_names_its_key_so_old_keys_still_open() {
        let old = cipher("old");
        let env = old
            .seal("a", SecretKind::MoySkladToken, &SecretString::from("t"))
            .unwrap();
        assert_eq!(Cipher::key_of(&env).unwrap(), "old");
        let rotated = cipher("new");
        assert_eq!(
            rotated
                .open("a", SecretKind::MoySkladToken, &env)
                .unwrap()
                .expose_secret(),
            "t"
        );
    }

    #[test]
    fn tampered_or_truncated_envelopes_are_refused() {
        let c = cipher("new");
        let mut env = c
            .seal("a", SecretKind::BonusPlusKey, &SecretString::from("k"))
            .unwrap();
        let last = env.len() - 1;
        env[last] ^= 1;
        assert!(c.open("a", SecretKind::BonusPlusKey, &env).is_err());
        assert!(c.open("a", SecretKind::BonusPlusKey, &env[..5]).is_err());
        assert!(c.open("a", SecretKind::BonusPlusKey, &[]).is_err());
    }

    #[test]
    fn tokens_are_unique_and_hashes_stable() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(token_hash("x"), token_hash("x"));
        assert_eq!(token_hash("x").len(), 64);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
