//! The settings themselves: `GET /ui/api/settings` shows them, `PUT /ui/api/settings` validates,
//! checks the key with BonusPlus, saves, and (first time) activates the app in MoySklad.
//! Must not depend on `loyalty_api` or `vendor_api`.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::view::{view, SettingsView};
use super::{audit, changeable_account, moysklad_refused, parse_body, UiError, UiUser};
use crate::bonusplus::{ApiKey, BonusPlusError};
use crate::crypto::{new_token, token_hash, SecretKind};
use crate::domain::activity::UtcOffset;
use crate::domain::audit::{AuditAction, SettingsSaved};
use crate::domain::verification::{CodeDelivery, CodeMessage, MessageRoute};
use crate::moysklad::vendor_client::{LoyaltyPatch, VendorApiError};
use crate::state::AppState;
use crate::store::{Account, AccountStatus, CheckoutSettings, LoyaltySettings};

const MIN_RESERVE_TTL_SECS: i64 = 60;
const MAX_RESERVE_TTL_SECS: i64 = 7 * 24 * 3600;
const MAX_MAPPINGS: usize = 1000;
const MAX_STORE_ID_CHARS: usize = 100;
const MAX_KEY_CHARS: usize = 512;
const MAX_RETURN_WINDOW_DAYS: i64 = 365;

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
    // Verification codes (issue 14); absent keeps what is stored (or the defaults).
    #[serde(default)]
    code_delivery: Option<String>,
    #[serde(default)]
    code_message: Option<String>,
    // ---- Checkout settings (issue 15); absent in older pages' bodies: the defaults. ----
    #[serde(default = "default_create_customers")]
    create_customers: bool,
    #[serde(default = "default_return_window_days")]
    return_window_days: i64,
    // ---- The shop's time zone (issue 18); absent keeps what is stored. ----
    /// Minutes east of UTC: which day the activity counts an operation on.
    #[serde(default)]
    utc_offset_minutes: Option<i64>,
    // ---- «Куда отправлять код» (issue 22); absent keeps what is stored. ----
    /// `sms` or `telegram_vk_sms`.
    #[serde(default)]
    message_route: Option<String>,
}

fn default_create_customers() -> bool {
    CheckoutSettings::default().create_customers
}

fn default_return_window_days() -> i64 {
    CheckoutSettings::default().return_window_days
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
    let time_zone = time_zone(&state, &account.account_id, body.utc_offset_minutes).await?;
    let (code_delivery, code_message) = code_settings(&body, stored.as_ref())?;
    let message_route = match body.message_route.as_deref() {
        None => state.store.message_route(&account.account_id).await?,
        Some(name) => MessageRoute::from_str(name)
            .map_err(|_| UiError::invalid("messageRoute", "Выберите, куда отправлять код"))?,
    };
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
    let checked = match &new_key {
        Some(key) => Some(key.clone()),
        None => state.accounts.bonusplus_key(&account.account_id).await?,
    };
    if let Some(key) = checked {
        super::doctor::refuse_unknown_stores(&state, &key, &body.store_map, &body.default_store)
            .await?;
    }
    let sealed_key = new_key
        .as_ref()
        .map(|key| {
            state
                .cipher
                .seal(&account.account_id, SecretKind::BonusPlusKey, key.secret())
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
            code_delivery: code_delivery.as_ref().to_owned(),
            code_message: code_message.as_str().to_owned(),
        })
        .await?;
    let checkout = CheckoutSettings {
        create_customers: body.create_customers,
        return_window_days: body.return_window_days,
    };
    state
        .store
        .save_checkout_settings(&account.account_id, &checkout)
        .await?;
    state
        .store
        .save_utc_offset(&account.account_id, time_zone)
        .await?;
    state
        .store
        .save_message_route(&account.account_id, message_route)
        .await?;
    state.accounts.changed(&account.account_id).await;
    let saved = SettingsSaved {
        key_changed: new_key.is_some(),
        store_mappings: body.store_map.len(),
        default_store_set: !body.default_store.trim().is_empty(),
        external_search: body.external_search,
        spend_requires_code: body.spend_requires_code,
        register_requires_code: body.register_requires_code,
        reserve_ttl_secs: body.reserve_ttl_secs,
        code_delivery: code_delivery.as_ref(),
        create_customers: body.create_customers,
        return_window_days: body.return_window_days,
        time_zone: &time_zone.label(),
    };
    let details = saved.details();
    audit(
        &state,
        &account.account_id,
        &user,
        AuditAction::SettingsSaved,
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
    crate::sync::request_sync(&state.store, account_id).await?;
    Ok(())
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
    state.accounts.changed(id).await;
    audit(
        state,
        id,
        user,
        AuditAction::Connected,
        "токен LoyaltyAPI выдан и передан в МойСклад",
    )
    .await;
    Ok(())
}

fn validate(body: &SaveSettings) -> Result<(), UiError> {
    if !(MIN_RESERVE_TTL_SECS..=MAX_RESERVE_TTL_SECS).contains(&body.reserve_ttl_secs) {
        return Err(UiError::invalid(
            "reserveTtlSecs",
            "Время жизни резерва: от 1 минуты до 7 дней",
        ));
    }
    if !(1..=MAX_RETURN_WINDOW_DAYS).contains(&body.return_window_days) {
        return Err(UiError::invalid(
            "returnWindowDays",
            "Срок поиска продажи для возврата: от 1 до 365 дней",
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

/// The shop's time zone: what the page sent, else what is stored (Moscow by default).
async fn time_zone(
    state: &AppState,
    account_id: &str,
    sent: Option<i64>,
) -> Result<UtcOffset, UiError> {
    match sent {
        Some(minutes) => UtcOffset::from_minutes(minutes)
            .map_err(|error| UiError::invalid("utcOffsetMinutes", error.to_string())),
        None => Ok(state.store.utc_offset(account_id).await?),
    }
}

/// How codes reach the customer and the text carrying them: what the page sent, else what is
/// stored, else the defaults. Codes switched off while a code is required would leave the till
/// asking for codes nobody sends.
fn code_settings(
    body: &SaveSettings,
    stored: Option<&LoyaltySettings>,
) -> Result<(CodeDelivery, CodeMessage), UiError> {
    let delivery = match body
        .code_delivery
        .as_deref()
        .or(stored.map(|s| s.code_delivery.as_str()))
    {
        Some(text) => CodeDelivery::from_str(text.trim()).map_err(|_| {
            UiError::invalid("codeDelivery", "Выберите, как код попадает к покупателю")
        })?,
        None => CodeDelivery::default(),
    };
    let message = match body
        .code_message
        .as_deref()
        .or(stored.map(|s| s.code_message.as_str()))
    {
        Some(text) => CodeMessage::parse(text)
            .map_err(|error| UiError::invalid("codeMessage", error.to_string()))?,
        None => CodeMessage::default(),
    };
    if delivery == CodeDelivery::Off && (body.spend_requires_code || body.register_requires_code) {
        return Err(UiError::invalid(
            "codeDelivery",
            "Коды отключены, а списание или регистрация требуют кода: выберите способ отправки кода или снимите отметки «по коду»",
        ));
    }
    Ok((delivery, message))
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
        Err(error @ BonusPlusError::Unavailable { .. }) => {
            tracing::warn!(%error, "key check: BonusPlus unavailable");
            Err(UiError::new(
                StatusCode::BAD_GATEWAY,
                "БонусПлюс не отвечает, попробуйте ещё раз",
            ))
        }
        Err(error) => {
            tracing::warn!(%error, "key check failed");
            Err(UiError::new(
                StatusCode::BAD_GATEWAY,
                format!(
                    "БонусПлюс не подтвердил ключ ({}), настройки не сохранены: попробуйте ещё раз",
                    error.describe_ru()
                ),
            ))
        }
    }
}
