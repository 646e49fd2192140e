//! Who is calling: the `Lognex-Discount-API-Auth-Token` header resolved to one active account,
//! with its settings and decrypted BonusPlus key.
//!
//! The resolution is cached in memory per token hash for a few seconds, so a busy till costs no
//! database round trip per call. A status change or token rotation on this instance invalidates the
//! account at once ([`AccountCache::invalidate_account`]); other instances sharing the database
//! see it within [`CACHE_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::bonusplus::ApiKey;
use crate::crypto::{token_hash, Purpose};
use crate::http::error::{codes, ApiError};
use crate::startup::AppState;
use crate::store::LoyaltySettings;

pub const TOKEN_HEADER: &str = "lognex-discount-api-auth-token";
/// How long a resolved token is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

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
}

impl LoyaltyAccount {
    /// The BonusPlus store for a MoySklad point of sale: its mapping, else the default store.
    pub fn bonusplus_store(&self, retail_store_id: &str) -> Result<&str, ApiError> {
        self.store_map
            .get(retail_store_id)
            .map(String::as_str)
            .or_else(|| (!self.default_store.is_empty()).then_some(self.default_store.as_str()))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    codes::INVALID_INPUT,
                    "Точка продаж не сопоставлена с магазином БонусПлюс",
                    "The point of sale has no BonusPlus store in the app settings",
                )
                .with_parameter("retailStore")
            })
    }
}

#[derive(Default)]
pub struct AccountCache {
    entries: RwLock<HashMap<String, (Arc<LoyaltyAccount>, Instant)>>,
}

impl AccountCache {
    fn get(&self, hash: &str) -> Option<Arc<LoyaltyAccount>> {
        let entries = self.entries.read().ok()?;
        let (account, at) = entries.get(hash)?;
        (at.elapsed() < CACHE_TTL).then(|| account.clone())
    }

    fn put(&self, hash: String, account: Arc<LoyaltyAccount>) {
        if let Ok(mut entries) = self.entries.write() {
            // Bounded: expired entries go whenever the map grows large.
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            }
            entries.insert(hash, (account, Instant::now()));
        }
    }

    /// Forgets every cached token of an account (status change, new settings, token rotation).
    pub fn invalidate_account(&self, account_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, (account, _)| account.account_id != account_id);
        }
    }
}

/// Extractor: the calling account, or a 401/403 in MoySklad's error format.
pub struct Caller(pub Arc<LoyaltyAccount>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(TOKEN_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|token| !token.is_empty() && token.len() <= 512)
            .ok_or_else(unauthorized)?;
        let hash = token_hash(token);
        if let Some(account) = state.accounts.get(&hash) {
            return Ok(Caller(account));
        }
        let account = Arc::new(resolve(state, &hash).await?);
        state.accounts.put(hash, account.clone());
        Ok(Caller(account))
    }
}

/// The account id of a token without the rest (for the call log); `None` if unknown.
pub async fn account_of_token(state: &AppState, token: &str) -> Option<String> {
    let hash = token_hash(token);
    if let Some(account) = state.accounts.get(&hash) {
        return Some(account.account_id.clone());
    }
    state
        .store
        .account_by_token_hash(&hash)
        .await
        .ok()
        .flatten()
}

async fn resolve(state: &AppState, hash: &str) -> Result<LoyaltyAccount, ApiError> {
    let account_id = state
        .store
        .account_by_token_hash(hash)
        .await?
        .ok_or_else(unauthorized)?;
    let account = state
        .store
        .account(&account_id)
        .await?
        .ok_or_else(unauthorized)?;
    if !account.status.is_active() {
        return Err(inactive());
    }
    let settings = state
        .store
        .settings(&account_id)
        .await?
        .ok_or_else(inactive)?;
    build_account(state, settings)
}

fn build_account(state: &AppState, settings: LoyaltySettings) -> Result<LoyaltyAccount, ApiError> {
    let sealed = settings.bonusplus_key_enc.as_deref().ok_or_else(inactive)?;
    let secret = state
        .cipher
        .open(&settings.account_id, Purpose::BonusPlusKey, sealed)
        .map_err(|error| {
            tracing::error!(%error, account = %settings.account_id, "cannot open the stored BonusPlus key");
            ApiError::internal()
        })?;
    let key = ApiKey::new(secret).map_err(|_| inactive())?;
    let store_map: HashMap<String, String> =
        serde_json::from_str(&settings.store_map).map_err(|error| {
            tracing::error!(%error, account = %settings.account_id, "stored store map is not valid JSON");
            ApiError::internal()
        })?;
    Ok(LoyaltyAccount {
        account_id: settings.account_id,
        key,
        default_store: settings.default_store,
        store_map,
        external_search: settings.external_search,
        spend_requires_code: settings.spend_requires_code,
        register_requires_code: settings.register_requires_code,
        reserve_ttl: Duration::from_secs(u64::try_from(settings.reserve_ttl_secs).unwrap_or(900)),
    })
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
        "Неверный токен доступа к программе лояльности",
        "The Lognex-Discount-API-Auth-Token header is missing or unknown",
    )
    .with_parameter("Lognex-Discount-API-Auth-Token")
}

fn inactive() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        codes::ACCOUNT_INACTIVE,
        "Программа лояльности отключена для этого аккаунта",
        "The app is not activated (not configured, suspended or uninstalled) for this account",
    )
}
