//! Extractors: the tenant behind `Authorization: ApiKey <base64>`, and strict JSON bodies.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;
use crate::state::Shared;
use crate::tenant::Tenant;

/// The caller's tenant. Extracted before the body, so a bad key answers 401 before any 400.
pub struct Caller(pub Arc<Tenant>);

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("the Authorization header is missing"))?;
        let key = api_key(header.as_bytes())?;
        match shared.tenant(&key) {
            Some(tenant) if !tenant.is_rejected() => Ok(Caller(tenant)),
            Some(_) => Err(ApiError::unauthorized("the API key is blocked")),
            None => Err(ApiError::unauthorized("unknown API key")),
        }
    }
}

/// Decodes `ApiKey <base64 of the key>`.
fn api_key(header: &[u8]) -> Result<String, ApiError> {
    let encoded = header
        .strip_prefix(b"ApiKey ")
        .ok_or_else(|| ApiError::unauthorized("the Authorization scheme must be ApiKey"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_ascii())
        .map_err(|_| ApiError::unauthorized("the API key is not valid base64"))?;
    String::from_utf8(decoded).map_err(|_| ApiError::unauthorized("the API key is not UTF-8"))
}

/// A JSON body read strictly: syntax errors, missing fields and wrong types answer
/// 400 `VALIDATION_ERROR` naming the offending field's path.
pub struct WireJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WireJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("unreadable body: {e}")))?;
        parse_body(&bytes).map(WireJson)
    }
}

pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => ApiError::bad_request(format!("{path}: {inner}")),
            _ => ApiError::bad_request(format!("malformed JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    Ok(value)
}
