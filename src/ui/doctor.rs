//! «Проверить подключение» (`POST /ui/api/doctor`), and the store part of it that a settings save
//! runs: a store BonusPlus refuses is named before it reaches a till.
//! Incoming: must not depend on the other incoming modules (`loyalty_api`, `vendor_api`).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::{UiError, UiUser};
use crate::bonusplus::ApiKey;
use crate::doctor::{self, Check, DoctorError};
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorView {
    ok: bool,
    checks: Vec<Check>,
}

/// `POST /ui/api/doctor`: any user of the account; read-only calls with the stored key.
pub async fn run(State(state): State<AppState>, user: UiUser) -> Result<Json<DoctorView>, UiError> {
    let checks = doctor::for_account(
        &state.store,
        &state.accounts,
        &state.bonusplus,
        &user.account_id,
    )
    .await
    .map_err(|error| match error {
        DoctorError::Store(error) => UiError::from(error),
        DoctorError::UnknownAccount(_) | DoctorError::NoKey(_) => {
            UiError::new(StatusCode::CONFLICT, "Сначала сохраните ключ API БонусПлюс")
        }
    })?;
    Ok(Json(DoctorView {
        ok: checks.iter().all(|check| check.ok),
        checks,
    }))
}

/// Refuses a save whose stores BonusPlus refuses, naming them (field `stores`). A store that could
/// not be checked (BonusPlus down, the call unknown) does not block the save: it is logged.
pub async fn refuse_unknown_stores(
    state: &AppState,
    key: &ApiKey,
    store_map: &BTreeMap<String, String>,
    default_store: &str,
) -> Result<(), UiError> {
    let map = serde_json::to_string(store_map).unwrap_or_default();
    let stores = doctor::mapped_stores(&map, default_store);
    let (refused, unchecked): (Vec<Check>, Vec<Check>) =
        doctor::stores_check(&state.bonusplus, key, &stores)
            .await
            .into_iter()
            .filter(|check| !check.ok)
            .partition(|check| check.store_refused);
    if !unchecked.is_empty() {
        tracing::warn!(
            stores = unchecked.len(),
            "settings save: stores not checked, BonusPlus did not answer the calculation"
        );
    }
    let Some(first) = refused.first() else {
        return Ok(());
    };
    let names: Vec<String> = refused
        .iter()
        .filter_map(|check| check.store.as_ref().map(|store| format!("«{store}»")))
        .collect();
    tracing::info!(
        stores = refused.len(),
        "settings save: BonusPlus refused stores"
    );
    let message = match refused.len() {
        1 => first.reason.clone(),
        _ => format!(
            "БонусПлюс не принял магазины {}: проверьте их названия в БонусПлюс",
            names.join(", ")
        ),
    };
    Err(UiError::invalid("stores", message))
}
