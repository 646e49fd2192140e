//! `POST /ui/api/token/rotate`: a new LoyaltyAPI token, stored before MoySklad is told, with the
//! old one working until MoySklad confirms the new one.
//! Must not depend on `loyalty_api` or `vendor_api`.
//!
//! The new token is stored *pending* first: it works at once, beside the current one, so the till
//! is never refused whichever token MoySklad holds at any instant. MoySklad confirms it by
//! answering the `PATCH …/loyalty` (or by the till calling with it, see `accounts`): only then does
//! the old token stop. If MoySklad refuses the new token (4xx), it is withdrawn and the old one
//! stays; if the answer never comes (timeout, 5xx), MoySklad may or may not hold it, so it stays
//! pending — the first till call with it confirms it, and the next rotation replaces it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;

use super::view::{view, SettingsView};
use super::{audit, changeable_account, UiError, UiUser};
use crate::crypto::{new_token, token_hash};
use crate::domain::audit::AuditAction;
use crate::moysklad::vendor_client::{LoyaltyPatch, VendorApiError};
use crate::state::AppState;

/// `POST /ui/api/token/rotate`
pub async fn rotate(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<SettingsView>, UiError> {
    user.require_admin()?;
    let account = changeable_account(&state, &user).await?;
    let account_id = account.account_id.as_str();
    if account.reported_status.as_deref() != Some("Activated") {
        return Err(UiError::new(
            StatusCode::CONFLICT,
            "Сначала сохраните настройки: токен ещё не выдан",
        ));
    }
    let token = new_token();
    let hash = token_hash(token.expose_secret());
    state.store.add_pending_api_token(account_id, &hash).await?;
    let patch = LoyaltyPatch {
        token: Some(token.expose_secret()),
        ..LoyaltyPatch::default()
    };
    if let Err(error) = state.vendor.patch_loyalty(account_id, &patch).await {
        return Err(not_rotated(&state, account_id, &user, &hash, error).await);
    }
    state.store.confirm_api_token(account_id, &hash).await?;
    state.accounts.changed(account_id).await;
    audit(&state, account_id, &user, AuditAction::TokenRotated, "").await;
    view(&state, &user).await.map(Json)
}

/// MoySklad did not confirm the new token: withdrawn when it refused, left pending when the
/// answer was lost. Either way the old token keeps working.
async fn not_rotated(
    state: &AppState,
    account_id: &str,
    user: &UiUser,
    hash: &str,
    error: VendorApiError,
) -> UiError {
    tracing::warn!(%error, "MoySklad did not confirm the new LoyaltyAPI token");
    if error.may_have_applied() {
        audit(
            state,
            account_id,
            user,
            AuditAction::TokenRotationUnconfirmed,
            &error.describe_ru(),
        )
        .await;
        return UiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "МойСклад не подтвердил новый токен ({}). Касса продолжает работать со старым; \
                 если МойСклад всё же получил новый, он заработает при первом обращении кассы. \
                 Можно выдать токен ещё раз",
                error.describe_ru()
            ),
        );
    }
    if let Err(error) = state
        .store
        .withdraw_pending_api_token(account_id, hash)
        .await
    {
        return error.into();
    }
    UiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "МойСклад не принял новый токен ({}). Касса продолжает работать со старым",
            error.describe_ru()
        ),
    )
}
