//! Middleware in front of the BonusPlus routes: request recording, latency and injected
//! failures, in that order (so failed attempts are recorded too, as a client's retries).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::error::{routing_refusal, ApiError};
use crate::state::{FailureMode, RecordedRequest, Shared};

/// How long a `Timeout` failure keeps the client waiting before answering 500.
const TIMEOUT_FAILURE_DELAY: Duration = Duration::from_secs(30);

/// Bodies larger than this are not worth recording (or accepting).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Put into every request's extensions by the connection task; firing it closes the socket.
#[derive(Clone, Default, Debug)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    pub fn fire(&self) {
        self.0.notify_one();
    }

    pub async fn fired(&self) {
        self.0.notified().await;
    }
}

pub async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    // Decided before recording, so the recording tells the calls that were served from those an
    // injected failure answered (a test counts what BonusPlus accepted, not what raced a switch).
    let refusal = refused(&shared, &request);
    let failure = refusal.is_none().then(|| shared.take_failure()).flatten();
    let request = if shared.is_recording() {
        match record(&shared, request, failure.is_some()).await {
            Ok(request) => request,
            Err(error) => return error.into_response(),
        }
    } else {
        request
    };
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(status) = refusal {
        return routing_refusal(
            status,
            request.method().as_str(),
            &request.uri().to_string(),
        );
    }
    match failure {
        None => crate::differs::rewrite(shared.differs(), next.run(request).await).await,
        Some(mode) => fail(mode, request.extensions().get::<ConnectionKill>().cloned()).await,
    }
}

/// A route refused on purpose answers as an unknown one, before any injected failure.
fn refused(shared: &Shared, request: &Request) -> Option<axum::http::StatusCode> {
    let path = request.extensions().get::<MatchedPath>()?;
    let status = shared.refusal(request.method().as_str(), path.as_str())?;
    axum::http::StatusCode::from_u16(status).ok()
}

async fn fail(mode: FailureMode, connection: Option<ConnectionKill>) -> Response {
    match mode {
        FailureMode::Status500 => ApiError::internal("injected failure").into_response(),
        FailureMode::Timeout => {
            tokio::time::sleep(TIMEOUT_FAILURE_DELAY).await;
            ApiError::internal("injected failure after a long wait").into_response()
        }
        FailureMode::ConnectionDrop => match connection {
            Some(kill) => {
                kill.fire();
                // The connection task drops this future together with the socket.
                std::future::pending().await
            }
            None => ApiError::internal("injected failure (no connection to drop)").into_response(),
        },
    }
}

/// Buffers the body to record it, then hands the request on unchanged.
async fn record(
    shared: &Shared,
    request: Request,
    injected_failure: bool,
) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| ApiError::bad_request(format!("unreadable body: {e}")))?;
    let body_value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        })
    };
    shared.record(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body_value,
        injected_failure,
    });
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
