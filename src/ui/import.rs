//! «Перенос покупателей» on the settings page: preview, run, stop and resume the customer import,
//! its progress and report, and the CSV of problem rows. Administrators only (the rows are the
//! shop's customers' personal data).
//! Must not depend on `loyalty_api` or `vendor_api`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{audit, changeable_account, parse_body, UiError, UiUser};
use crate::domain::audit::AuditAction;
use crate::import::{ImportError, ImportOptions, ImportStatus};
use crate::state::AppState;
use crate::store::AccountStatus;

/// What `/ui/api/import` answers: the account's latest run, if any.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportAnswer {
    run: Option<ImportStatus>,
}

/// The form: a preview (`dryRun`) or a run, with the administrator's choices.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    #[serde(default)]
    dry_run: bool,
    #[serde(flatten)]
    options: ImportOptions,
}

impl From<ImportError> for UiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Invalid { field, message } => UiError::invalid(field, message),
            ImportError::Conflict(message) => UiError::new(StatusCode::CONFLICT, message),
            ImportError::Store(error) => error.into(),
            other => UiError::new(StatusCode::BAD_GATEWAY, other.to_string()),
        }
    }
}

async fn answer(state: &AppState, account_id: &str) -> Result<ImportAnswer, UiError> {
    let run = match state.store.latest_import_run(account_id).await? {
        Some(run) => Some(crate::import::report::status(&state.store, &run).await?),
        None => None,
    };
    Ok(ImportAnswer { run })
}

/// `GET /ui/api/import`: progress of the running import, or the report of the last one.
pub async fn show(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<ImportAnswer>, UiError> {
    user.require_admin()?;
    Ok(Json(answer(&state, &user.account_id).await?))
}

/// `POST /ui/api/import`: a preview or a run, queued for the workers (202).
pub async fn start(
    State(state): State<AppState>,
    user: UiUser,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportAnswer>), UiError> {
    user.require_admin()?;
    let request: ImportRequest = parse_body(&body)?;
    let account = changeable_account(&state, &user).await?;
    if account.status != AccountStatus::Activated {
        return Err(UiError::new(
            StatusCode::CONFLICT,
            "Сначала сохраните настройки: перенос покупателей доступен после подключения",
        ));
    }
    let run = crate::import::start(
        &state.store,
        &account.account_id,
        &user.actor(),
        request.dry_run,
        &request.options,
    )
    .await?;
    let what = if run.dry_run {
        "предпросмотр"
    } else {
        "перенос"
    };
    audit(
        &state,
        &account.account_id,
        &user,
        AuditAction::CustomerImportStarted,
        what,
    )
    .await;
    Ok((
        StatusCode::ACCEPTED,
        Json(answer(&state, &account.account_id).await?),
    ))
}

/// `POST /ui/api/import/stop`: the run stops after the page or chunk in hand.
pub async fn stop(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<ImportAnswer>, UiError> {
    user.require_admin()?;
    crate::import::stop(&state.store, &user.account_id).await?;
    audit(
        &state,
        &user.account_id,
        &user,
        AuditAction::CustomerImportStopped,
        "",
    )
    .await;
    Ok(Json(answer(&state, &user.account_id).await?))
}

/// `POST /ui/api/import/resume`: the latest run goes on where it stopped.
pub async fn resume(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<ImportAnswer>, UiError> {
    user.require_admin()?;
    let account = changeable_account(&state, &user).await?;
    crate::import::resume(&state.store, &account.account_id).await?;
    audit(
        &state,
        &account.account_id,
        &user,
        AuditAction::CustomerImportResumed,
        "",
    )
    .await;
    Ok(Json(answer(&state, &account.account_id).await?))
}

/// `GET /ui/api/import/problems.csv`: every problem row of the latest run with its reason.
pub async fn problems_csv(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Response, UiError> {
    user.require_admin()?;
    let Some(run) = state.store.latest_import_run(&user.account_id).await? else {
        return Err(UiError::new(
            StatusCode::NOT_FOUND,
            "Перенос ещё не запускался",
        ));
    };
    let csv = crate::import::report::problems_csv(&state.store, &run.id).await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"import-problems.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}
