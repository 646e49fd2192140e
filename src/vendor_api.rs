//! The Vendor API on our side: MoySklad activates, deactivates and asks about the app on an account
//! at `{base}/api/moysklad/vendor/1.0/apps/{appId}/{accountId}`.
//! Incoming: must not depend on the other incoming modules (`loyalty_api`, `ui`).
//!
//! Every call carries a single-use HS256 JWT. MoySklad repeats calls it got no answer to, so every
//! handler is idempotent: the same activation twice leaves one account, the same deactivation twice
//! answers 200 then 204.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use secrecy::SecretString;
use serde::Deserialize;

use crate::crypto::SecretKind;
use crate::domain::audit::{moysklad_call, AuditAction};
use crate::moysklad::jwt::{bearer, JwtError};
use crate::state::AppState;
use crate::store::{AccountStatus, ActivationRecord, StoreError};

/// The JSON API resource whose token we keep.
const JSON_API_RESOURCE: &str = "api/remap/1.2";

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/moysklad/vendor/1.0/apps/{app_id}/{account_id}",
        put(activate).delete(deactivate).get(status),
    )
}

/// A refusal of the Vendor API: `{"error": "…"}` with a status MoySklad acts on (4xx: failed for
/// good; 5xx: MoySklad retries).
#[derive(Debug)]
pub struct VendorError {
    status: StatusCode,
    message: String,
}

impl VendorError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        VendorError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for VendorError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<JwtError> for VendorError {
    fn from(error: JwtError) -> Self {
        tracing::warn!(%error, "vendor API call refused");
        VendorError::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }
}

impl From<StoreError> for VendorError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "vendor API: storage failed");
        VendorError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivationBody {
    #[serde(default)]
    account_name: String,
    cause: String,
    #[serde(default)]
    access: Vec<Access>,
    #[serde(default)]
    subscription: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Access {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    access_token: Option<SecretString>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Access({}, ***)", self.resource)
    }
}

#[derive(Debug, Deserialize)]
struct DeactivationBody {
    cause: String,
}

/// PUT: Install, Resume, TariffChanged, Autoprolongation.
async fn activate(
    State(state): State<AppState>,
    Path((app_id, account_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, VendorError> {
    authenticate(&state, &headers, &app_id, &account_id).await?;
    let body: ActivationBody = parse(&body)?;
    if !matches!(
        body.cause.as_str(),
        "Install" | "Resume" | "TariffChanged" | "Autoprolongation"
    ) {
        return Err(VendorError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown cause `{}`", body.cause),
        ));
    }
    let access_token_enc = match access_token(&body.access) {
        Some(token) => Some(
            state
                .cipher
                .seal(&account_id, SecretKind::MoySkladToken, token)
                .map_err(|_| VendorError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot seal"))?,
        ),
        None => None,
    };
    let account = state
        .store
        .activate_account(&ActivationRecord {
            account_id: account_id.clone(),
            app_id,
            account_name: body.account_name.chars().take(255).collect(),
            subscription: body.subscription.as_ref().map(|s| s.to_string()),
            access_token_enc,
        })
        .await?;
    state.accounts.changed(&account_id).await;
    if account.status == AccountStatus::Activated {
        // MoySklad now knows we are Activated: the settings page must never PUT that status again.
        state
            .store
            .set_reported_status(&account_id, "Activated")
            .await?;
    }
    let _ = state
        .store
        .audit(
            &account_id,
            "moysklad",
            AuditAction::MoyskladActivated.as_ref(),
            &moysklad_call(&body.cause, Some(account.status.as_ref())),
        )
        .await;
    tracing::info!(account = %account_id, cause = %body.cause, status = account.status.as_ref(), "app activated");
    Ok(json_status(StatusCode::OK, account.status.as_ref()))
}

/// DELETE: Suspend or Uninstall.
async fn deactivate(
    State(state): State<AppState>,
    Path((app_id, account_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, VendorError> {
    authenticate(&state, &headers, &app_id, &account_id).await?;
    let body: DeactivationBody = parse(&body)?;
    let changed = match body.cause.as_str() {
        "Uninstall" => state.store.uninstall_account(&account_id).await?,
        "Suspend" => suspend(&state, &account_id).await?,
        other => {
            return Err(VendorError::new(
                StatusCode::BAD_REQUEST,
                format!("unknown cause `{other}`"),
            ))
        }
    };
    state.accounts.changed(&account_id).await;
    if changed {
        let _ = state
            .store
            .audit(
                &account_id,
                "moysklad",
                AuditAction::MoyskladDeactivated.as_ref(),
                &moysklad_call(&body.cause, None),
            )
            .await;
        tracing::info!(account = %account_id, cause = %body.cause, "app deactivated");
    }
    let status = if changed {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    let mut response = status.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Suspends an installed, not already suspended account; `false` when nothing changed.
async fn suspend(state: &AppState, account_id: &str) -> Result<bool, StoreError> {
    let Some(account) = state.store.account(account_id).await? else {
        return Ok(false);
    };
    if matches!(
        account.status,
        AccountStatus::Suspended | AccountStatus::Uninstalled
    ) {
        return Ok(false);
    }
    state
        .store
        .set_account_status(account_id, AccountStatus::Suspended)
        .await
}

/// GET: the status we hold, 404 when the app is not installed.
async fn status(
    State(state): State<AppState>,
    Path((app_id, account_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, VendorError> {
    authenticate(&state, &headers, &app_id, &account_id).await?;
    match state.store.account(&account_id).await? {
        Some(account) if account.status != AccountStatus::Uninstalled => {
            Ok(json_status(StatusCode::OK, account.status.as_ref()))
        }
        _ => Err(VendorError::new(StatusCode::NOT_FOUND, "not installed")),
    }
}

/// Checks the JWT (signature, algorithm, expiry, single use) and that the call is for this app.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    app_id: &str,
    account_id: &str,
) -> Result<(), VendorError> {
    let token = bearer(headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()))?;
    let claims = state.vendor_jwt.verify(token)?;
    // Remembered as long as the token is accepted (its expiry plus the clock leeway).
    let expires_at_ms = claims.accepted_until_ms();
    if !state
        .store
        .remember_jwt_id(&claims.jti, expires_at_ms)
        .await?
    {
        return Err(JwtError::Replayed.into());
    }
    if app_id != state.settings.moysklad.app_id {
        return Err(VendorError::new(StatusCode::NOT_FOUND, "unknown app"));
    }
    if !is_account_id(account_id) {
        return Err(VendorError::new(StatusCode::BAD_REQUEST, "bad account id"));
    }
    Ok(())
}

/// MoySklad account ids are UUIDs; anything else never reaches storage.
fn is_account_id(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

fn access_token(access: &[Access]) -> Option<&SecretString> {
    access
        .iter()
        .find(|a| {
            a.resource
                .trim_end_matches('/')
                .ends_with(JSON_API_RESOURCE)
        })
        .and_then(|a| a.access_token.as_ref())
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, VendorError> {
    crate::http::extract::parse_json(body)
        .map_err(|e| VendorError::new(StatusCode::BAD_REQUEST, e.message))
}

fn json_status(code: StatusCode, status: &str) -> Response {
    (code, Json(serde_json::json!({ "status": status }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_api_token_is_picked_by_resource() {
        let access: Vec<Access> = serde_json::from_value(serde_json::json!([
            {"resource": "https://example.com/other", "access_token": "no"},
            {"resource": "https://api.moysklad.ru/api/remap/1.2", "scope": ["admin"], "access_token": "yes"}
        ]))
        .unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(access_token(&access).unwrap().expose_secret(), "yes");
        assert!(access_token(&[]).is_none());
    }

    #[test]
    fn account_ids_are_uuids() {
        assert!(is_account_id("1b2c3d4e-0000-11ee-0a80-000000000001"));
        assert!(!is_account_id("../../etc"));
        assert!(!is_account_id(""));
    }
}
