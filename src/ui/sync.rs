//! `GET /ui/api/sync` (progress of the product sync) and `POST /ui/api/sync` (start one now).
//! Must not depend on `loyalty_api` or `vendor_api`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::{audit, changeable_account, UiError, UiUser};
use crate::domain::audit::AuditAction;
use crate::state::AppState;
use crate::store::AccountStatus;
use crate::sync::SyncStatus;

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
pub async fn progress(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<SyncAnswer>, UiError> {
    let (last_sync, queued) = crate::sync::sync_status(&state.store, &user.account_id).await?;
    Ok(Json(SyncAnswer {
        started: false,
        queued,
        last_sync,
    }))
}

/// `POST /ui/api/sync`: product sync now (administrators; the account must be live).
pub async fn start(
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
    let started = crate::sync::request_sync(&state.store, &account.account_id).await?;
    if started {
        audit(
            &state,
            &account.account_id,
            &user,
            AuditAction::ProductSyncRequested,
            "",
        )
        .await;
    }
    let (last_sync, queued) = crate::sync::sync_status(&state.store, &account.account_id).await?;
    let answer = SyncAnswer {
        started,
        queued,
        last_sync,
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}
