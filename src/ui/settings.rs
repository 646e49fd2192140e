//! The settings JSON API: what the page shows (settings, points of sale, the account's health) and
//! what it changes (settings, the LoyaltyAPI token).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{parse_body, UiError, UiUser};
use crate::bonusplus::{ApiKey, BonusPlusError};
use crate::crypto::{new_token, token_hash, Purpose};
use crate::moysklad::client::{LoyaltyPatch, VendorApiError};
use crate::moysklad::remap::RetailStore;
use crate::startup::AppState;
use crate::store::{Account, AccountStatus, LoyaltySettings};
use crate::sync::SyncStatus;

const MIN_RESERVE_TTL_SECS: i64 = 60;
const MAX_RESERVE_TTL_SECS: i64 = 7 * 24 * 3600;
const MAX_MAPPINGS: usize = 1000;
const MAX_STORE_ID_CHARS: usize = 100;
const MAX_KEY_CHARS: usize = 512;
const RECENT_CALLS: i64 = 20;
const AUDIT_ENTRIES: i64 = 10;
const DEFAULT_RESERVE_TTL_SECS: i64 = 15 * 60;

/// Everything the page shows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    account: AccountView,
    user: UserView,
    settings: SettingsFields,
    loyalty_url: String,
    retail_stores: Vec<RetailStore>,
    retail_stores_error: Option<String>,
    recent_calls: Vec<CallView>,
    backlog: BacklogView,
    last_sync: Option<SyncStatus>,
    sync_queued: bool,
    audit: Vec<AuditView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountView {
    id: String,
    name: String,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserView {
    name: String,
    admin: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SettingsFields {
    /// The key itself never leaves the server: the page only learns whether one is stored.
    bonusplus_key_set: bool,
    default_store: String,
    store_map: BTreeMap<String, String>,
    external_search: bool,
    spend_requires_code: bool,
    register_requires_code: bool,
    reserve_ttl_secs: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallView {
    endpoint: String,
    status: i64,
    error: Option<String>,
    at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BacklogView {
    pending: i64,
    failed: i64,
    oldest_age_ms: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditView {
    actor: String,
    action: String,
    details: String,
    at: i64,
}

/// What the page sends to save.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveSettings {
    /// A new key; absent or empty keeps the stored one.
    #[serde(default)]
    bonusplus_key: Option<SecretString>,
    #[serde(default)]
    default_store: String,
    #[serde(default)]
    store_map: BTreeMap<String, String>,
    external_search: bool,
    spend_requires_code: bool,
    register_requires_code: bool,
    reserve_ttl_secs: i64,
}

/// `GET /ui/api/settings`.
pub async fn show(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<SettingsView>, UiError> {
    view(&state, &user).await.map(Json)
}

/// `PUT /ui/api/settings`: checks the key with BonusPlus, saves, and (first time) issues the
/// LoyaltyAPI token, pushes it to MoySklad and moves the app to `Activated`.
pub async fn save(
    State(state): State<AppState>,
    user: UiUser,
    body: axum::body::Bytes,
) -> Result<Json<SettingsView>, UiError> {
    user.require_admin()?;
    let body: SaveSettings = parse_body(&body)?;
    let account = changeable_account(&state, &user).await?;
    let stored = state.store.settings(&account.account_id).await?;
    validate(&body)?;
    let new_key = match body
        .bonusplus_key
        .as_ref()
        .filter(|k| !k.expose_secret().trim().is_empty())
    {
        Some(key) => Some(checked_key(&state, key).await?),
        None if stored
            .as_ref()
            .is_some_and(|s| s.bonusplus_key_enc.is_some()) =>
        {
            None
        }
        None => {
            return Err(UiError::invalid(
                "bonusplusKey",
                "Укажите ключ API БонусПлюс",
            ))
        }
    };
    let sealed_key = new_key
        .as_ref()
        .map(|key| {
            state
                .cipher
                .seal(&account.account_id, Purpose::BonusPlusKey, key.secret())
        })
        .transpose()
        .map_err(|_| {
            UiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Не удалось сохранить ключ",
            )
        })?;
    state
        .store
        .save_settings(&LoyaltySettings {
            account_id: account.account_id.clone(),
            bonusplus_key_enc: sealed_key,
            default_store: body.default_store.trim().to_owned(),
            store_map: serde_json::to_string(&body.store_map).unwrap_or_else(|_| "{}".into()),
            external_search: body.external_search,
            spend_requires_code: body.spend_requires_code,
            register_requires_code: body.register_requires_code,
            reserve_ttl_secs: body.reserve_ttl_secs,
            updated_at: crate::store::now_ms(),
            updated_by: user.actor(),
        })
        .await?;
    state.accounts.invalidate_account(&account.account_id);
    let details = format!(
        "key {}; {} store mappings; default store {}; externalSearch={}; spend code={}; register code={}; reserve ttl={}s",
        if new_key.is_some() { "changed" } else { "kept" },
        body.store_map.len(),
        if body.default_store.trim().is_empty() { "none" } else { "set" },
        body.external_search,
        body.spend_requires_code,
        body.register_requires_code,
        body.reserve_ttl_secs,
    );
    audit(
        &state,
        &account.account_id,
        &user,
        "settings saved",
        &details,
    )
    .await;
    push_to_moysklad(&state, &account, &user, body.external_search).await?;
    let stores_before = stored
        .as_ref()
        .map(crate::sync::bonusplus_stores)
        .unwrap_or_default();
    let stores_after = crate::sync::stores_of(&body.store_map, &body.default_store);
    // A key typed in may belong to another BonusPlus account (or follow an uninstall).
    let key_replaced = new_key.is_some();
    if key_replaced || stores_before != stores_after {
        catalogue_changed(&state, &account.account_id, key_replaced).await?;
    }
    view(&state, &user).await.map(Json)
}

/// Another BonusPlus account or other stores: they get the whole catalogue, now.
async fn catalogue_changed(
    state: &AppState,
    account_id: &str,
    key_replaced: bool,
) -> Result<(), UiError> {
    if key_replaced {
        // What the old BonusPlus account holds says nothing about the new one.
        state.store.forget_synced_products(account_id).await?;
    }
    crate::sync::request_sync(state, account_id).await?;
    Ok(())
}

/// `POST /ui/api/token/rotate`: a new LoyaltyAPI token; the old one stops working.
pub async fn rotate_token(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<SettingsView>, UiError> {
    user.require_admin()?;
    let account = changeable_account(&state, &user).await?;
    if account.reported_status.as_deref() != Some("Activated") {
        return Err(UiError::new(
            StatusCode::CONFLICT,
            "Сначала сохраните настройки: токен ещё не выдан",
        ));
    }
    let token = new_token();
    // MoySklad learns the new token first: if that fails, the till keeps working with the old one.
    let patch = LoyaltyPatch {
        token: Some(token.expose_secret()),
        ..LoyaltyPatch::default()
    };
    state
        .vendor
        .patch_loyalty(&account.account_id, &patch)
        .await
        .map_err(moysklad_refused)?;
    state
        .store
        .replace_api_token(&account.account_id, &token_hash(token.expose_secret()))
        .await?;
    state.accounts.invalidate_account(&account.account_id);
    audit(&state, &account.account_id, &user, "token rotated", "").await;
    view(&state, &user).await.map(Json)
}

/// What `/ui/api/sync` answers: the latest run, and whether this request started one.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncAnswer {
    started: bool,
    /// A run is asked for and waits for a worker.
    queued: bool,
    last_sync: Option<SyncStatus>,
}

/// `GET /ui/api/sync`: progress of the running product sync, or the result of the last one.
pub async fn sync_progress(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<SyncAnswer>, UiError> {
    let (last_sync, queued) = crate::sync::sync_status(&state, &user.account_id).await?;
    Ok(Json(SyncAnswer {
        started: false,
        queued,
        last_sync,
    }))
}

/// `POST /ui/api/sync`: product sync now (administrators; the account must be live).
pub async fn start_sync(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<(StatusCode, Json<SyncAnswer>), UiError> {
    user.require_admin()?;
    let account = changeable_account(&state, &user).await?;
    if account.status != AccountStatus::Activated {
        return Err(UiError::new(
            StatusCode::CONFLICT,
            "Сначала сохраните настройки: синхронизация товаров начнётся после подключения",
        ));
    }
    let started = crate::sync::request_sync(&state, &account.account_id).await?;
    if started {
        audit(
            &state,
            &account.account_id,
            &user,
            "product sync requested",
            "",
        )
        .await;
    }
    let (last_sync, queued) = crate::sync::sync_status(&state, &account.account_id).await?;
    let answer = SyncAnswer {
        started,
        queued,
        last_sync,
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// The first save issues the token and activates the app; later saves update what MoySklad holds.
async fn push_to_moysklad(
    state: &AppState,
    account: &Account,
    user: &UiUser,
    external_search: bool,
) -> Result<(), UiError> {
    let url = format!("{}/loyalty", state.settings.public_base());
    let id = &account.account_id;
    if account.reported_status.as_deref() == Some("Activated") {
        let patch = LoyaltyPatch {
            url: Some(&url),
            external_search: Some(external_search),
            ..LoyaltyPatch::default()
        };
        state
            .vendor
            .patch_loyalty(id, &patch)
            .await
            .map_err(moysklad_refused)?;
        state
            .store
            .set_account_status(id, AccountStatus::Activated)
            .await?;
        return Ok(());
    }
    // Our side first: a token MoySklad never received is harmless, the reverse would lock the till out.
    let token = new_token();
    state
        .store
        .replace_api_token(id, &token_hash(token.expose_secret()))
        .await?;
    state
        .vendor
        .put_loyalty(id, &url, token.expose_secret(), external_search)
        .await
        .map_err(moysklad_refused)?;
    match state.vendor.set_status(id, "Activated").await {
        // 409: MoySklad already has the app Activated.
        Ok(()) | Err(VendorApiError::BadTransition(_)) => {}
        Err(error) => return Err(moysklad_refused(error)),
    }
    state.store.set_reported_status(id, "Activated").await?;
    state
        .store
        .set_account_status(id, AccountStatus::Activated)
        .await?;
    state.accounts.invalidate_account(id);
    audit(
        state,
        id,
        user,
        "activated",
        "LoyaltyAPI token issued and sent to MoySklad",
    )
    .await;
    Ok(())
}

async fn changeable_account(state: &AppState, user: &UiUser) -> Result<Account, UiError> {
    let account = state
        .store
        .account(&user.account_id)
        .await?
        .ok_or_else(|| UiError::new(StatusCode::NOT_FOUND, "Аккаунт не найден"))?;
    match account.status {
        AccountStatus::SettingsRequired | AccountStatus::Activated => Ok(account),
        AccountStatus::Suspended => Err(UiError::new(
            StatusCode::CONFLICT,
            "Приложение приостановлено: продлите подписку в МоёмСкладе",
        )),
        AccountStatus::Uninstalled => Err(UiError::new(StatusCode::CONFLICT, "Приложение удалено")),
    }
}

fn validate(body: &SaveSettings) -> Result<(), UiError> {
    if !(MIN_RESERVE_TTL_SECS..=MAX_RESERVE_TTL_SECS).contains(&body.reserve_ttl_secs) {
        return Err(UiError::invalid(
            "reserveTtlSecs",
            "Время жизни резерва: от 1 минуты до 7 дней",
        ));
    }
    if body.store_map.len() > MAX_MAPPINGS {
        return Err(UiError::invalid("storeMap", "Слишком много точек продаж"));
    }
    let too_long = |s: &str| s.trim().is_empty() || s.chars().count() > MAX_STORE_ID_CHARS;
    for (retail_store, store) in &body.store_map {
        if too_long(retail_store) || too_long(store) {
            return Err(UiError::invalid(
                format!(
                    "storeMap.{}",
                    retail_store.chars().take(40).collect::<String>()
                ),
                "Магазин БонусПлюс: от 1 до 100 символов",
            ));
        }
    }
    if body.default_store.chars().count() > MAX_STORE_ID_CHARS {
        return Err(UiError::invalid("defaultStore", "Не длиннее 100 символов"));
    }
    if body.store_map.is_empty() && body.default_store.trim().is_empty() {
        return Err(UiError::invalid(
            "storeMap",
            "Сопоставьте хотя бы одну точку продаж или укажите магазин по умолчанию",
        ));
    }
    Ok(())
}

/// The new key, if BonusPlus accepts it.
async fn checked_key(state: &AppState, key: &SecretString) -> Result<ApiKey, UiError> {
    if key.expose_secret().len() > MAX_KEY_CHARS {
        return Err(UiError::invalid("bonusplusKey", "Ключ слишком длинный"));
    }
    let key = ApiKey::new(key.clone())
        .map_err(|_| UiError::invalid("bonusplusKey", "Укажите ключ API БонусПлюс"))?;
    match state.bonusplus.check_key(&key).await {
        Ok(()) => Ok(key),
        Err(BonusPlusError::Unauthorized) => Err(UiError::invalid(
            "bonusplusKey",
            "БонусПлюс не принял этот ключ API: проверьте его в личном кабинете БонусПлюс",
        )),
        Err(error) => {
            tracing::warn!(%error, "key check failed");
            Err(UiError::new(
                StatusCode::BAD_GATEWAY,
                "БонусПлюс не ответил, настройки не сохранены: попробуйте ещё раз",
            ))
        }
    }
}

fn moysklad_refused(error: VendorApiError) -> UiError {
    tracing::warn!(%error, "MoySklad refused the loyalty settings");
    UiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "Настройки сохранены, но МойСклад их не принял: {error}. Попробуйте сохранить ещё раз"
        ),
    )
}

async fn audit(state: &AppState, account_id: &str, user: &UiUser, action: &str, details: &str) {
    if let Err(error) = state
        .store
        .audit(account_id, &user.actor(), action, details)
        .await
    {
        tracing::warn!(%error, "audit entry not written");
    }
}

async fn view(state: &AppState, user: &UiUser) -> Result<SettingsView, UiError> {
    let id = user.account_id.as_str();
    let account = state
        .store
        .account(id)
        .await?
        .ok_or_else(|| UiError::new(StatusCode::NOT_FOUND, "Аккаунт не найден"))?;
    let (stores, settings, calls, backlog, sync, audit) = tokio::join!(
        retail_stores(state, &account),
        state.store.settings(id),
        state.store.recent_api_calls(id, RECENT_CALLS),
        state
            .store
            .job_backlog(Some(id), Some(crate::jobs::delivery::DELIVER_KIND)),
        crate::sync::sync_status(state, id),
        state.store.audit_entries(id, AUDIT_ENTRIES),
    );
    let (retail_stores, retail_stores_error) = match stores {
        Ok(stores) => (stores, None),
        Err(message) => (Vec::new(), Some(message)),
    };
    let backlog = backlog?;
    let (last_sync, sync_queued) = sync?;
    Ok(SettingsView {
        account: AccountView {
            id: account.account_id.clone(),
            name: account.account_name.clone(),
            status: account.status.as_str(),
        },
        user: UserView {
            name: user.name.clone(),
            admin: user.admin,
        },
        settings: fields(settings?),
        loyalty_url: format!("{}/loyalty", state.settings.public_base()),
        retail_stores,
        retail_stores_error,
        recent_calls: calls?
            .into_iter()
            .map(|(endpoint, status, error, at)| CallView {
                endpoint,
                status,
                error,
                at,
            })
            .collect(),
        backlog: BacklogView {
            pending: backlog.ready + backlog.running,
            failed: backlog.failed,
            oldest_age_ms: backlog.oldest_age_ms,
        },
        last_sync,
        sync_queued,
        audit: audit?
            .into_iter()
            .map(|(actor, action, details, at)| AuditView {
                actor,
                action,
                details,
                at,
            })
            .collect(),
    })
}

fn fields(settings: Option<LoyaltySettings>) -> SettingsFields {
    match settings {
        Some(s) => SettingsFields {
            bonusplus_key_set: s.bonusplus_key_enc.is_some(),
            default_store: s.default_store,
            store_map: serde_json::from_str(&s.store_map).unwrap_or_default(),
            external_search: s.external_search,
            spend_requires_code: s.spend_requires_code,
            register_requires_code: s.register_requires_code,
            reserve_ttl_secs: s.reserve_ttl_secs,
        },
        None => SettingsFields {
            bonusplus_key_set: false,
            default_store: String::new(),
            store_map: BTreeMap::new(),
            external_search: true,
            spend_requires_code: false,
            register_requires_code: false,
            reserve_ttl_secs: DEFAULT_RESERVE_TTL_SECS,
        },
    }
}

/// The account's points of sale from MoySklad, or a message the page shows instead.
async fn retail_stores(state: &AppState, account: &Account) -> Result<Vec<RetailStore>, String> {
    let sealed = account
        .access_token_enc
        .as_ref()
        .ok_or_else(|| "МойСклад не передал приложению доступ к JSON API".to_owned())?;
    let token = state
        .cipher
        .open(&account.account_id, Purpose::MoySkladToken, sealed)
        .map_err(|_| "Не удалось прочитать доступ к МоемуСкладу".to_owned())?;
    state.remap.retail_stores(&token).await.map_err(|error| {
        tracing::warn!(%error, "points of sale not read");
        format!("Не удалось получить точки продаж из МоегоСклада: {error}")
    })
}
