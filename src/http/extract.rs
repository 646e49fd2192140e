//! A JSON body extractor whose every refusal is an [`ApiError`] naming the offending field, in
//! MoySklad's error format (axum's own `Json` answers plain text).
//! HTTP plumbing, a utility: must not depend on `store`, `state` or any layer above.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Deserialises the body as `T`; unknown fields are tolerated (by `T`'s own serde rules), wrong
/// types and malformed JSON are refused with the JSON path of the problem as `parameter`.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                super::error::codes::INVALID_INPUT,
                "Некорректный запрос",
                "Content-Type must be application/json",
            )
            .with_parameter("Content-Type"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            ApiError::new(
                status,
                super::error::codes::INVALID_INPUT,
                "Некорректный запрос",
                rejection.body_text(),
            )
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            let mime = value.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json")
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Parses `bytes` as `T`, mapping failures to an [`ApiError`] with the path of the bad field.
///
/// A body is parsed plainly first: tracking the path allocates for every field, and almost every
/// body is valid. Only a refused one is parsed again, tracking the path, to name the bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::invalid("body", "The body is not valid UTF-8"))?;
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(_) => parse_json_naming_the_field(text),
    }
}

fn parse_json_naming_the_field<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let parameter = if path == "." || path == "?" {
            "body".to_owned()
        } else {
            path
        };
        ApiError::invalid(parameter, error.inner().to_string())
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::invalid("body", error.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        #[allow(dead_code)]
        qty: u32,
    }

    #[test]
    fn names_the_offending_field() {
        let error =
            parse_json::<Sample>(br#"{"name":"a","items":[{"qty":1},{"qty":"x"}]}"#).unwrap_err();
        assert_eq!(error.parameter.as_deref(), Some("items[1].qty"));
        assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn tolerates_unknown_fields_and_refuses_garbage() {
        assert!(parse_json::<Sample>(br#"{"name":"a","items":[],"extra":{"x":1}}"#).is_ok());
        assert_eq!(
            parse_json::<Sample>(b"{").unwrap_err().parameter.as_deref(),
            Some("body")
        );
        assert_eq!(
            parse_json::<Sample>(b"\xff\xfe")
                .unwrap_err()
                .parameter
                .as_deref(),
            Some("body")
        );
        assert!(parse_json::<Sample>(br#"{"name":"a","items":[]} trailing"#).is_err());
    }
}
