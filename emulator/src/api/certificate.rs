//! `certificate…`: gift certificates.

use axum::extract::{Path, State};
use axum::Json;
use std::sync::Arc;

use super::extract::Caller;
use crate::error::ApiError;
use crate::formats;
use crate::state::Shared;
use crate::wire::GiftCardAnswer;

/// `GET certificate/{id}`: `id` must be a GUID (400 otherwise); unknown → 412
/// `CERTIFICATE_NOT_FOUND`.
pub async fn find(
    Caller(tenant): Caller,
    Path(id): Path<String>,
) -> Result<Json<GiftCardAnswer>, ApiError> {
    let id = formats::parse_guid(&id)
        .ok_or_else(|| ApiError::bad_request(format!("id: «{id}» is not a GUID")))?;
    let certificate = tenant.lock().certificate(&id)?;
    Ok(Json(certificate.into()))
}

/// `GET certificate/number`: a fresh unique certificate number.
pub async fn number(
    State(shared): State<Arc<Shared>>,
    Caller(_tenant): Caller,
) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "number": shared.new_certificate_number() }))
}
