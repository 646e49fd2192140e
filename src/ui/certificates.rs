//! «Сертификаты по номеру»: how many printed numbers the account's map holds
//! (`GET /ui/api/certificates`) and the shop's list imported into it
//! (`POST /ui/api/certificates/import`, administrators: `{"csv": "<number>,<GUID>\n…"}`).
//! Incoming: must not depend on the other incoming modules (`loyalty_api`, `vendor_api`).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{audit, parse_body, UiError, UiUser};
use crate::domain::audit::AuditAction;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificatesView {
    known: i64,
}

#[derive(Deserialize)]
struct ImportBody {
    csv: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    imported: usize,
    known: i64,
    problems: Vec<ProblemView>,
}

#[derive(Serialize)]
struct ProblemView {
    line: usize,
    reason: String,
}

/// `GET /ui/api/certificates`: any user of the account.
pub async fn show(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<CertificatesView>, UiError> {
    let known = state.store.certificate_count(&user.account_id).await?;
    Ok(Json(CertificatesView { known }))
}

/// `POST /ui/api/certificates/import`: administrators.
pub async fn import(
    State(state): State<AppState>,
    user: UiUser,
    body: axum::body::Bytes,
) -> Result<Json<ImportView>, UiError> {
    user.require_admin()?;
    let body: ImportBody = parse_body(&body)?;
    if body.csv.trim().is_empty() {
        return Err(UiError::invalid("csv", "Файл со списком сертификатов пуст"));
    }
    let done = crate::certificates::import_list(&state.store, &user.account_id, &body.csv).await?;
    let details = format!(
        "номеров: {}, строк с ошибками: {}",
        done.imported,
        done.problems.len()
    );
    audit(
        &state,
        &user.account_id,
        &user,
        AuditAction::CertificatesImported,
        &details,
    )
    .await;
    Ok(Json(ImportView {
        imported: done.imported,
        known: done.known,
        problems: done
            .problems
            .into_iter()
            .map(|problem| ProblemView {
                line: problem.line,
                reason: problem.reason,
            })
            .collect(),
    }))
}
