//! `POST /ui/api/token/rotate`: a new LoyaltyAPI token, sent to MoySklad before the old one stops.
//! Must not depend on `loyalty_api` or `vendor_api`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;

use super::view::{view, SettingsView};
use super::{audit, changeable_account, moysklad_refused, UiError, UiUser};
use crate::crypto::{new_token, token_hash};
use crate::moysklad::vendor_client::LoyaltyPatch;
use crate::state::AppState;

/// `POST /ui/api/token/rotate`: a new LoyaltyAPI token; the old one stops working.
pub async fn rotate(
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
    state.accounts.invalidate(&account.account_id);
    audit(&state, &account.account_id, &user, "token rotated", "").await;
    view(&state, &user).await.map(Json)
}
