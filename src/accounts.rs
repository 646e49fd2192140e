//! Shared service: installed accounts as the rest of the app uses them — a LoyaltyAPI token
//! resolved to an active [`LoyaltyAccount`] (briefly cached), and the one place where an account's
//! sealed secrets (the BonusPlus key, the MoySklad JSON API token) are opened.
//! Must not depend on `state`, on incoming modules (`loyalty_api`, `vendor_api`, `ui`) or on HTTP.
//!
//! The resolution stays in memory per token hash until the account changes, so a busy till costs
//! no database round trip per call. Whoever changes an account (status, settings, token) calls
//! [`Accounts::changed`]: this instance forgets it at once and the change is announced to every
//! instance sharing the database, which forgets it as soon as the announcement arrives
//! ([`crate::changes`]; SQLite serves one instance).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::bonusplus::ApiKey;
use crate::cache::UntilChanged;
use crate::crypto::{token_hash, Cipher, CryptoError, SecretKind};
use crate::domain::verification::{CodeDelivery, CodeMessage};
use crate::store::{Account, Change, CheckoutSettings, LoyaltySettings, Store, StoreError};

/// How long a resolved token is trusted at most: a backstop for changes made to the database by
/// hand, which nobody announces. Changes made by the app reach the cache at once.
pub const CACHE_TTL: Duration = Duration::from_secs(3600);
/// Most tokens remembered at once (a cache: an evicted token is simply resolved again).
const CACHE_CAPACITY: u64 = 100_000;
/// Reserve lifetime of settings that hold no usable one.
const DEFAULT_RESERVE_TTL: Duration = Duration::from_secs(900);

/// Why an account cannot be used. The JSON API variants read in Russian: the settings page and the
/// product sync's status show them as they are.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The token is missing, unknown or revoked.
    #[error("unknown LoyaltyAPI token")]
    UnknownToken,
    /// The app is not active for the account (not configured, suspended, uninstalled).
    #[error("the app is not active for the account")]
    Inactive,
    /// A stored secret does not open (wrong key configured, or tampered).
    #[error("a stored secret of the account cannot be opened: {0}")]
    Unreadable(#[from] CryptoError),
    /// The stored settings are not what we wrote.
    #[error("stored settings are corrupt: {0}")]
    CorruptSettings(String),
    /// MoySklad gave the app no JSON API access token at activation.
    #[error("МойСклад не передал приложению доступ к JSON API")]
    NoJsonApiAccess,
    /// The stored JSON API token does not open.
    #[error("Не удалось прочитать доступ к МоемуСкладу")]
    JsonApiTokenUnreadable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An account that may use the LoyaltyAPI, ready to talk to BonusPlus.
#[derive(Debug)]
pub struct LoyaltyAccount {
    pub account_id: String,
    pub key: ApiKey,
    pub default_store: String,
    /// MoySklad retail store id → BonusPlus store.
    pub store_map: HashMap<String, String>,
    pub external_search: bool,
    pub spend_requires_code: bool,
    pub register_requires_code: bool,
    pub reserve_ttl: Duration,
    // Verification codes (issue 14).
    /// How verification codes reach the customer.
    pub code_delivery: CodeDelivery,
    /// The text carrying the bridge's own code.
    pub code_message: CodeMessage,
    /// Customers BonusPlus does not know and returns without their sale (issue 15).
    pub checkout: CheckoutSettings,
}

impl LoyaltyAccount {
    /// The BonusPlus store for a MoySklad point of sale: its mapping, else the default store;
    /// `None` when the settings name neither.
    pub fn bonusplus_store(&self, retail_store_id: &str) -> Option<&str> {
        self.store_map
            .get(retail_store_id)
            .map(String::as_str)
            .or_else(|| (!self.default_store.is_empty()).then_some(self.default_store.as_str()))
    }
}

/// The accounts service. Cheap to clone (the store pool, the cipher and the cache are shared).
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    cipher: Cipher,
    /// Token hash → resolved account.
    cache: UntilChanged<String, Arc<LoyaltyAccount>>,
}

impl Accounts {
    pub fn new(store: Store, cipher: Cipher) -> Self {
        Accounts {
            store,
            cipher,
            cache: UntilChanged::new(CACHE_CAPACITY, CACHE_TTL),
        }
    }

    /// The active account a LoyaltyAPI token belongs to (kept in memory until it changes).
    pub async fn by_token(&self, token: &str) -> Result<Arc<LoyaltyAccount>, AccountError> {
        let hash = token_hash(token);
        let read = async { Ok(Arc::new(self.resolve(&hash).await?)) };
        self.cache.get_or_read(hash.clone(), read).await
    }

    /// The account id of a token without the rest (for the call log); `None` if unknown.
    pub async fn account_of_token(&self, token: &str) -> Option<String> {
        let hash = token_hash(token);
        if let Some(account) = self.cache.get(&hash) {
            return Some(account.account_id.clone());
        }
        self.store.account_by_token_hash(&hash).await.ok().flatten()
    }

    /// The account changed (status, settings, token; already committed): forgotten here at once
    /// and announced to the other instances. A failed announcement is logged by the store: the
    /// change itself is done, and the others forget it within [`CACHE_TTL`] at worst.
    pub async fn changed(&self, account_id: &str) {
        self.invalidate(account_id);
        self.store.announce(Change::Account(account_id.to_owned()));
    }

    /// Forgets every cached token of an account on this instance only (see [`Accounts::changed`]).
    pub fn invalidate(&self, account_id: &str) {
        self.cache
            .forget_where(|_, account| account.account_id == account_id);
    }

    /// Forgets every cached account on this instance.
    pub fn invalidate_all(&self) {
        self.cache.forget_all();
    }

    /// The account's BonusPlus key, if it still has a usable one (workers: delivery, reserve
    /// expiry, product sync).
    pub async fn bonusplus_key(&self, account_id: &str) -> Result<Option<ApiKey>, StoreError> {
        let Some(sealed) = self
            .store
            .settings(account_id)
            .await?
            .and_then(|s| s.bonusplus_key_enc)
        else {
            return Ok(None);
        };
        Ok(self.open_bonusplus_key(account_id, &sealed).ok())
    }

    /// The MoySklad JSON API token the account gave us at activation.
    pub fn json_api_token(&self, account: &Account) -> Result<SecretString, AccountError> {
        let sealed = account
            .access_token_enc
            .as_ref()
            .ok_or(AccountError::NoJsonApiAccess)?;
        self.cipher
            .open(&account.account_id, SecretKind::MoySkladToken, sealed)
            .map_err(|_| AccountError::JsonApiTokenUnreadable)
    }

    /// The one place a BonusPlus key is opened: `Unreadable` when the ciphertext does not open,
    /// `Inactive` when what it holds is no usable key.
    fn open_bonusplus_key(&self, account_id: &str, sealed: &[u8]) -> Result<ApiKey, AccountError> {
        let secret = self
            .cipher
            .open(account_id, SecretKind::BonusPlusKey, sealed)?;
        ApiKey::new(secret)
            .map(|key| key.owned_by(account_id))
            .map_err(|_| AccountError::Inactive)
    }

    async fn resolve(&self, hash: &str) -> Result<LoyaltyAccount, AccountError> {
        let (account_id, pending) = self
            .store
            .token_owner(hash)
            .await?
            .ok_or(AccountError::UnknownToken)?;
        if pending {
            self.confirm_rotated_token(&account_id, hash).await?;
        }
        let account = self
            .store
            .account(&account_id)
            .await?
            .ok_or(AccountError::UnknownToken)?;
        if !account.status.is_active() {
            return Err(AccountError::Inactive);
        }
        let (settings, checkout) = tokio::join!(
            self.store.settings(&account_id),
            self.store.checkout_settings(&account_id),
        );
        let settings = settings?.ok_or(AccountError::Inactive)?;
        self.loyalty_account(settings, checkout?)
    }

    // ---- Token rotation (issue 15) ----

    /// The till called with a rotated token still pending: MoySklad has it, so it becomes the
    /// account's token and the previous one stops working on every instance.
    async fn confirm_rotated_token(&self, account_id: &str, hash: &str) -> Result<(), StoreError> {
        if self.store.confirm_api_token(account_id, hash).await? {
            tracing::info!(account = %account_id, "rotated LoyaltyAPI token confirmed by use");
            self.changed(account_id).await;
        }
        Ok(())
    }

    fn loyalty_account(
        &self,
        settings: LoyaltySettings,
        checkout: CheckoutSettings,
    ) -> Result<LoyaltyAccount, AccountError> {
        let sealed = settings
            .bonusplus_key_enc
            .as_deref()
            .ok_or(AccountError::Inactive)?;
        let key = self
            .open_bonusplus_key(&settings.account_id, sealed)
            .inspect_err(|error| {
                if let AccountError::Unreadable(error) = error {
                    tracing::error!(%error, account = %settings.account_id, "cannot open the stored BonusPlus key");
                }
            })?;
        let store_map: HashMap<String, String> =
            serde_json::from_str(&settings.store_map).map_err(|error| {
                tracing::error!(%error, account = %settings.account_id, "stored store map is not valid JSON");
                AccountError::CorruptSettings(format!("store map: {error}"))
            })?;
        let (code_delivery, code_message) = code_settings(&settings)?;
        Ok(LoyaltyAccount {
            account_id: settings.account_id,
            key,
            default_store: settings.default_store,
            store_map,
            external_search: settings.external_search,
            spend_requires_code: settings.spend_requires_code,
            register_requires_code: settings.register_requires_code,
            reserve_ttl: u64::try_from(settings.reserve_ttl_secs)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_RESERVE_TTL),
            code_delivery,
            code_message,
            checkout,
        })
    }
}

/// The code settings as typed values; the settings page only ever stores valid ones.
fn code_settings(settings: &LoyaltySettings) -> Result<(CodeDelivery, CodeMessage), AccountError> {
    let corrupt = |what: &str| {
        tracing::error!(account = %settings.account_id, "stored {what} is not valid");
        AccountError::CorruptSettings(what.to_owned())
    };
    let delivery = settings
        .code_delivery
        .parse()
        .map_err(|_| corrupt("code delivery"))?;
    let message =
        CodeMessage::parse(&settings.code_message).map_err(|_| corrupt("code message"))?;
    Ok((delivery, message))
}
