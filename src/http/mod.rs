//! HTTP plumbing shared by every incoming API: the error format ([`error`]), the JSON extractor
//! ([`extract`]), rate limits, request-id tracing and well-known header names.
//! A utility: must not depend on `store`, `state` or any layer above; only on `domain` and utilities.

pub mod error;
pub mod extract;
pub mod rate_limit;

use axum::http::Request;
use tower_http::request_id::RequestId;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The header MoySklad's LoyaltyAPI calls carry the account's token in.
pub const TOKEN_HEADER: &str = "lognex-discount-api-auth-token";

/// The span every request is served in: its request id, method and path.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}
