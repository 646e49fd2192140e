//! What the settings page shows: the settings (the key only as "set"), the points of sale from
//! MoySklad, the account's health (recent calls, deliveries, product sync) and the audit log.
//! Must not depend on `loyalty_api` or `vendor_api`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Serialize;

use super::{UiError, UiUser};
use crate::accounts::AccountError;
use crate::domain::activity::UtcOffset;
use crate::domain::audit::render;
use crate::domain::verification::{CodeDelivery, CodeMessage, MessageRoute};
use crate::moysklad::json_api::RetailStore;
use crate::state::AppState;
use crate::store::{Account, CheckoutSettings, LoyaltySettings};
use crate::sync::SyncStatus;

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
    // Verification codes (issue 14).
    code_delivery: String,
    code_message: String,
    // ---- Checkout settings (issue 15) ----
    create_customers: bool,
    return_window_days: i64,
    // ---- The shop's time zone (issue 18) ----
    utc_offset_minutes: i64,
    // ---- «Куда отправлять код» (issue 22) ----
    message_route: String,
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

pub(super) async fn view(state: &AppState, user: &UiUser) -> Result<SettingsView, UiError> {
    let id = user.account_id.as_str();
    let account = state
        .store
        .account(id)
        .await?
        .ok_or_else(|| UiError::new(StatusCode::NOT_FOUND, "Аккаунт не найден"))?;
    let (stores, settings, checkout, offset, route, calls, backlog, sync, audit) = tokio::join!(
        retail_stores(state, &account),
        state.store.settings(id),
        state.store.checkout_settings(id),
        state.store.utc_offset(id),
        state.store.message_route(id),
        state.store.recent_api_calls(id, RECENT_CALLS),
        state
            .store
            .job_backlog(Some(id), Some(crate::store::DELIVER_KIND)),
        crate::sync::sync_status(&state.store, id),
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
            status: account.status.into(),
        },
        user: UserView {
            name: user.name.clone(),
            admin: user.admin,
        },
        settings: fields(settings?, checkout?, offset?, route?),
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
            .map(|(actor, action, details, at)| {
                // Stored as a code (or older English text); the page reads Russian.
                let line = render(&actor, &action, &details);
                AuditView {
                    actor: line.actor,
                    action: line.action,
                    details: line.details,
                    at,
                }
            })
            .collect(),
    })
}

fn fields(
    settings: Option<LoyaltySettings>,
    checkout: CheckoutSettings,
    offset: UtcOffset,
    route: MessageRoute,
) -> SettingsFields {
    match settings {
        Some(s) => SettingsFields {
            bonusplus_key_set: s.bonusplus_key_enc.is_some(),
            default_store: s.default_store,
            store_map: serde_json::from_str(&s.store_map).unwrap_or_default(),
            external_search: s.external_search,
            spend_requires_code: s.spend_requires_code,
            register_requires_code: s.register_requires_code,
            reserve_ttl_secs: s.reserve_ttl_secs,
            code_delivery: s.code_delivery,
            code_message: s.code_message,
            create_customers: checkout.create_customers,
            return_window_days: checkout.return_window_days,
            utc_offset_minutes: offset.minutes(),
            message_route: route.as_ref().to_owned(),
        },
        None => SettingsFields {
            bonusplus_key_set: false,
            default_store: String::new(),
            store_map: BTreeMap::new(),
            external_search: true,
            spend_requires_code: false,
            register_requires_code: false,
            reserve_ttl_secs: DEFAULT_RESERVE_TTL_SECS,
            code_delivery: CodeDelivery::default().as_ref().to_owned(),
            code_message: CodeMessage::DEFAULT.to_owned(),
            create_customers: checkout.create_customers,
            return_window_days: checkout.return_window_days,
            utc_offset_minutes: offset.minutes(),
            message_route: route.as_ref().to_owned(),
        },
    }
}

/// The account's points of sale from MoySklad, or a message the page shows instead.
async fn retail_stores(state: &AppState, account: &Account) -> Result<Vec<RetailStore>, String> {
    let token = state.accounts.json_api_token(account).map_err(|error| {
        tracing::warn!(%error, "no JSON API token for the points of sale");
        match error {
            AccountError::NoJsonApiAccess | AccountError::JsonApiTokenUnreadable => {
                error.to_string()
            }
            _ => "Не удалось получить доступ к МоемуСкладу".to_owned(),
        }
    })?;
    state.json_api.retail_stores(&token).await.map_err(|error| {
        tracing::warn!(%error, "points of sale not read");
        format!(
            "Не удалось получить точки продаж из МоегоСклада: {}",
            error.describe_ru()
        )
    })
}
