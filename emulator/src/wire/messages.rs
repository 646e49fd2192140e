//! `sendMessage` on the wire: the text field and the `route` of channels.
//! Must not depend on `api` (HTTP), tenant state or other resources' wire types.

use crate::error::ApiError;
use crate::model::RouteWire;

/// The field of `POST customer/{phoneNumber}/sendMessage`'s body that carries the text.
/// The body is unconfirmed; this is the project's decision (`docs/bonusplus-wire.md`).
pub const SEND_MESSAGE_TEXT_FIELD: &str = "message";

/// The text of a `sendMessage` body, read from [`SEND_MESSAGE_TEXT_FIELD`].
pub fn message_text(body: &serde_json::Map<String, serde_json::Value>) -> Result<String, ApiError> {
    match body.get(SEND_MESSAGE_TEXT_FIELD) {
        Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(serde_json::Value::String(_)) => Err(ApiError::bad_request(format!(
            "{SEND_MESSAGE_TEXT_FIELD}: must not be empty"
        ))),
        Some(_) => Err(ApiError::bad_request(format!(
            "{SEND_MESSAGE_TEXT_FIELD}: must be a string"
        ))),
        None => Err(ApiError::bad_request(format!(
            "{SEND_MESSAGE_TEXT_FIELD}: missing field"
        ))),
    }
}

/// The channels `MessageTransport` names ([DOC] description: Telegram, VK, SMS).
const MESSAGE_TRANSPORTS: [&str; 3] = ["Telegram", "VK", "SMS"];

/// The `route` of a `sendMessage` body as the tenant reads it; absent or `null`: none.
pub fn message_route(
    body: &serde_json::Map<String, serde_json::Value>,
    wire: RouteWire,
) -> Result<Vec<String>, ApiError> {
    use serde_json::Value;
    let items = match body.get("route") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::bad_request("route: must be an array")),
    };
    items
        .iter()
        .map(|item| match (item, wire) {
            (Value::Number(n), _) if n.as_u64().is_some_and(|n| n < 3) => Ok(n.to_string()),
            (Value::String(name), RouteWire::NamesOrIntegers) => MESSAGE_TRANSPORTS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(name))
                .map(|known| (*known).to_owned())
                .ok_or_else(|| ApiError::bad_request(format!("route: unknown channel «{name}»"))),
            _ => Err(ApiError::bad_request(
                "route: the request is invalid (MessageTransport)",
            )),
        })
        .collect()
}
