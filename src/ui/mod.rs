//! The settings page MoySklad shows in its main iframe, and the small JSON API behind it.
//! Incoming: must not depend on the other incoming modules (`loyalty_api`, `vendor_api`).
//!
//! The page exchanges MoySklad's `contextKey` once for a short-lived session token that it keeps in
//! memory and sends as a bearer token: no cookies (third-party cookies are often blocked in a
//! cross-site frame) and therefore no CSRF surface. Only account administrators may change settings.

mod activity;
mod certificates;
mod differences;
mod doctor;
mod import;
mod operations;
mod session;
mod settings;
mod sync;
mod token;
mod view;

use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::domain::audit::AuditAction;
use crate::moysklad::vendor_client::VendorApiError;
use crate::state::AppState;
use crate::store::{Account, AccountStatus};
pub use session::UiUser;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("app.js");
const IMPORT_SCRIPT: &str = include_str!("import.js");
const BONUSPLUS_SCRIPT: &str = include_str!("bonusplus.js");
const STYLE: &str = include_str!("app.css");

pub fn router(state: AppState) -> Router<AppState> {
    let page = PAGE.replace(
        "{{PARENT_ORIGIN}}",
        &html_attribute(
            state
                .settings
                .moysklad
                .web_origin
                .origin()
                .ascii_serialization(),
        ),
    );
    Router::new()
        .route(
            "/ui",
            get(move || async move { asset("text/html; charset=utf-8", page) }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT.to_owned()) }),
        )
        .route(
            "/ui/import.js",
            get(|| async { asset("text/javascript; charset=utf-8", IMPORT_SCRIPT.to_owned()) }),
        )
        .route(
            "/ui/bonusplus.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    BONUSPLUS_SCRIPT.to_owned(),
                )
            }),
        )
        .route(
            "/ui/app.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE.to_owned()) }),
        )
        .route("/ui/api/session", post(session::open))
        .route("/ui/api/settings", get(settings::show).put(settings::save))
        .route("/ui/api/token/rotate", post(token::rotate))
        .route("/ui/api/sync", get(sync::progress).post(sync::start))
        .route("/ui/api/operations", get(operations::list))
        .route(
            "/ui/api/returns/{id}/match",
            post(operations::match_to_sale),
        )
        .route("/ui/api/returns/{id}/close", post(operations::close))
        .route("/ui/api/operations/{id}/retry", post(operations::retry))
        .route("/ui/api/activity", get(activity::show))
        .route("/ui/api/differences", get(differences::list))
        .route("/ui/api/import", get(import::show).post(import::start))
        .route("/ui/api/import/stop", post(import::stop))
        .route("/ui/api/import/resume", post(import::resume))
        .route("/ui/api/import/problems.csv", get(import::problems_csv))
        .route("/ui/api/doctor", post(doctor::run))
        .route("/ui/api/certificates", get(certificates::show))
        .route("/ui/api/certificates/import", post(certificates::import))
        .layer(axum::middleware::from_fn_with_state(
            state,
            security_headers,
        ))
}

fn asset(content_type: &'static str, body: String) -> Response {
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// Headers on every answer under /ui: framing by MoySklad only, scripts and styles from us only,
/// nothing cached (answers are per user and may carry settings).
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let origin = state
        .settings
        .moysklad
        .web_origin
        .origin()
        .ascii_serialization();
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors {origin}; base-uri 'none'; form-action 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert("content-security-policy", value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn html_attribute(text: String) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A refusal of the settings API: `{"error": <Russian text for the page>, "field": <input>}`.
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl UiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        UiError {
            status,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        UiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message, "field": self.field });
        (self.status, Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for UiError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "settings page: storage failed");
        UiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Сервис временно недоступен, попробуйте ещё раз",
        )
    }
}

/// Parses a JSON body; a malformed one is refused naming the offending field (the parser's own
/// English explanation goes to the log, not to the page).
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, UiError> {
    crate::http::extract::parse_json(body).map_err(|e| {
        tracing::debug!(reason = %e.message, field = ?e.parameter, "settings page: body refused");
        let message = match e.parameter.as_deref() {
            Some(field) if field != "body" => {
                format!(
                    "Некорректные данные в поле «{field}»: обновите страницу и попробуйте ещё раз"
                )
            }
            _ => "Некорректные данные: обновите страницу и попробуйте ещё раз".to_owned(),
        };
        UiError {
            status: StatusCode::BAD_REQUEST,
            message,
            field: e.parameter,
        }
    })
}

/// The user's account, if its settings may be changed now (installed, not suspended).
async fn changeable_account(state: &AppState, user: &UiUser) -> Result<Account, UiError> {
    let account = state
        .store
        .account(&user.account_id)
        .await?
        .ok_or_else(|| UiError::new(StatusCode::NOT_FOUND, "Аккаунт не найден"))?;
    match account.status {
        AccountStatus::SettingsRequired | AccountStatus::Activated => Ok(account),
        AccountStatus::Suspended => Err(UiError::new(
            StatusCode::CONFLICT,
            "Приложение приостановлено: продлите подписку в МоёмСкладе",
        )),
        AccountStatus::Uninstalled => Err(UiError::new(StatusCode::CONFLICT, "Приложение удалено")),
    }
}

/// MoySklad did not take what we sent it (the settings are saved on our side already).
fn moysklad_refused(error: VendorApiError) -> UiError {
    tracing::warn!(%error, "MoySklad refused the loyalty settings");
    UiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "Настройки сохранены, но МойСклад их не принял: {}. Попробуйте сохранить ещё раз",
            error.describe_ru()
        ),
    )
}

/// Writes the audit entry of a change (a stable action code, details in Russian); a failure is
/// logged, never shown to the user.
async fn audit(
    state: &AppState,
    account_id: &str,
    user: &UiUser,
    action: AuditAction,
    details: &str,
) {
    if let Err(error) = state
        .store
        .audit(account_id, &user.actor(), action.as_ref(), details)
        .await
    {
        tracing::warn!(%error, "audit entry not written");
    }
}
