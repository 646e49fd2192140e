//! Opening a settings-page session from MoySklad's context key, and recognising it afterwards.
//! Must not depend on `loyalty_api` or `vendor_api`.

use axum::extract::{FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{parse_body, UiError};
use crate::crypto::{new_token, token_hash};
use crate::moysklad::jwt::bearer;
use crate::moysklad::vendor_client::VendorApiError;
use crate::state::AppState;
use crate::store::{now_ms, AccountStatus, UiSession};

/// How long a settings-page session lives (the page simply reopens one from a new context key).
const SESSION_MS: i64 = 60 * 60 * 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenSession {
    context_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionOpened {
    session_token: String,
    account_id: String,
    user_name: String,
    admin: bool,
}

/// `POST /ui/api/session`: asks MoySklad who opened the page, for an installed account.
pub async fn open(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<SessionOpened>, UiError> {
    let body: OpenSession = parse_body(&body)?;
    let key = body.context_key.trim();
    if key.is_empty() || key.len() > 512 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(UiError::invalid(
            "contextKey",
            "Некорректный ключ контекста",
        ));
    }
    let employee = state.vendor.context(key).await.map_err(context_error)?;
    let installed = state
        .store
        .account(&employee.account_id)
        .await?
        .is_some_and(|a| a.status != AccountStatus::Uninstalled);
    if !installed {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "Приложение не установлено на этом аккаунте",
        ));
    }
    let token = new_token();
    let session = UiSession {
        account_id: employee.account_id.clone(),
        user_name: employee.display_name(),
        user_login: employee.uid.clone(),
        is_admin: employee.is_admin(),
        expires_at: now_ms() + SESSION_MS,
    };
    state
        .store
        .create_ui_session(&token_hash(token.expose_secret()), &session)
        .await?;
    tracing::info!(account = %session.account_id, admin = session.is_admin, "settings page opened");
    Ok(Json(SessionOpened {
        session_token: token.expose_secret().to_owned(),
        account_id: session.account_id,
        user_name: session.user_name,
        admin: session.is_admin,
    }))
}

fn context_error(error: VendorApiError) -> UiError {
    match error {
        VendorApiError::NotFound | VendorApiError::Forbidden(_) => UiError::new(
            StatusCode::UNAUTHORIZED,
            "Ссылка устарела: откройте приложение в МоёмСкладе заново",
        ),
        other => {
            tracing::warn!(error = %other, "context exchange failed");
            UiError::new(
                StatusCode::BAD_GATEWAY,
                "МойСклад не ответил, попробуйте ещё раз",
            )
        }
    }
}

/// The user of a settings-page session (extractor: `Authorization: Bearer <sessionToken>`).
#[derive(Debug, Clone)]
pub struct UiUser {
    pub account_id: String,
    pub name: String,
    pub login: String,
    pub admin: bool,
}

impl UiUser {
    /// Refuses a change by someone who is not an account administrator.
    pub fn require_admin(&self) -> Result<(), UiError> {
        if self.admin {
            Ok(())
        } else {
            Err(UiError::new(
                StatusCode::FORBIDDEN,
                "Это может сделать только администратор аккаунта",
            ))
        }
    }

    /// Who did it, for the audit log.
    pub fn actor(&self) -> String {
        format!("{} <{}>", self.name, self.login)
    }
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let expired = || {
            UiError::new(
                StatusCode::UNAUTHORIZED,
                "Сессия истекла: обновите страницу",
            )
        };
        let token = bearer(
            parts
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )
        .map_err(|_| expired())?;
        if token.len() > 256 {
            return Err(expired());
        }
        let session = state
            .store
            .ui_session(&token_hash(token), now_ms())
            .await?
            .ok_or_else(expired)?;
        Ok(UiUser {
            account_id: session.account_id,
            name: session.user_name,
            login: session.user_login,
            admin: session.is_admin,
        })
    }
}
