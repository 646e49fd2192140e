//! «Требуют внимания»: where the shop's BonusPlus answered otherwise than the project expects,
//! once per point, with what the app did instead (`GET /ui/api/differences`).
//! Incoming: must not depend on the other incoming modules (`loyalty_api`, `vendor_api`).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::{UiError, UiUser};
use crate::differences::DifferenceView;
use crate::state::AppState;

#[derive(Serialize)]
pub struct DifferencesView {
    differences: Vec<DifferenceView>,
}

/// `GET /ui/api/differences`: any user of the account.
pub async fn list(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<DifferencesView>, UiError> {
    let rows = state.store.differences(&user.account_id).await?;
    Ok(Json(DifferencesView {
        differences: rows.iter().map(DifferenceView::from).collect(),
    }))
}
