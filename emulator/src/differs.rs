//! "Differs" modes: answers that differ from what the project expects where BonusPlus's reference
//! is silent (error bodies other than `{code, msg}`, other codes, a 404 naming no entity, 2xx
//! bodies of another shape), so tests can prove the client watches the unconfirmed points
//! (counts, logs, records) and the till still gets a sensible answer. Applied to every answer of
//! the BonusPlus routes that no fault replaced.

use axum::body::{to_bytes, Body};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

/// Error answers no bigger than this are rewritten (they are a few hundred bytes).
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// How error answers differ from the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Differs {
    /// `{code, msg}` with the documented statuses.
    #[default]
    Documented,
    /// Error bodies `{"error": {"message": …}}`: no `code`.
    ErrorShape,
    /// Error codes as numbers (`412001`, …) instead of the strings the client knows.
    NumericCodes,
    /// Every `…_NOT_FOUND` answered as 404 `{"code": "NOT_FOUND"}`: which entity is not said.
    UnspecificNotFound,
    /// Every 2xx JSON body wrapped as `{"data": <body>}`: a shape the reference does not show.
    WrappedAnswers,
}

/// `response` as `differs` shapes it: error answers, or (wrapped mode) 2xx bodies.
pub async fn rewrite(differs: Differs, response: Response) -> Response {
    let status = response.status();
    if differs == Differs::WrappedAnswers && status.is_success() {
        return wrap(response).await;
    }
    if matches!(differs, Differs::Documented | Differs::WrappedAnswers) || !status.is_client_error()
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(serde_json::Value::Object(error)) = serde_json::from_slice(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let code = error
        .get("code")
        .and_then(|c| c.as_str())
        .unwrap_or_default();
    let msg = error.get("msg").cloned().unwrap_or_default();
    let body = match differs {
        Differs::Documented | Differs::WrappedAnswers => {
            return Response::from_parts(parts, Body::from(bytes))
        }
        Differs::ErrorShape => serde_json::json!({ "error": { "message": msg } }),
        Differs::NumericCodes => serde_json::json!({ "code": numeric(code), "msg": msg }),
        Differs::UnspecificNotFound if code.ends_with("NOT_FOUND") => {
            parts.status = StatusCode::NOT_FOUND;
            serde_json::json!({ "code": "NOT_FOUND", "msg": msg })
        }
        Differs::UnspecificNotFound => return Response::from_parts(parts, Body::from(bytes)),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// A 2xx JSON body as `{"data": <body>}`; an empty (204) answer stays empty.
async fn wrap(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let wrapped = serde_json::json!({ "data": value });
    Response::from_parts(parts, Body::from(wrapped.to_string()))
}

/// A stable number for a code: 412000 + its length and letters folded (never the text).
fn numeric(code: &str) -> u64 {
    412_000 + code.bytes().map(u64::from).sum::<u64>() % 1000
}
