//! Every point of the BonusPlus API that the project could not confirm, each in exactly one
//! place so that correcting it is a one-line change. The decisions are recorded in
//! `docs/bonusplus-wire.md`; the contract tests in `tests/it/bonusplus_client.rs` pin them.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use serde::Serialize;

use super::types::{CalcResult, ReturnLine, Sex};

/// Query parameter of `GET customer` that finds a customer by discount card number.
/// Unconfirmed: only the `phone` parameter is confirmed by public integrations.
pub const CARD_LOOKUP_PARAM: &str = "discountCardNumber";

/// Harmless authenticated read used to validate a shop's API key: 200 means the key works,
/// 401/403 that it does not. Unconfirmed: one integration reads `allCount` from it; the
/// alternative is `GET customer?phone=<unknown>` (412 `CUSTOMER_NOT_FOUND` = good key).
pub const KEY_CHECK_PATH: &str = "customer/stat";

/// Largest number of products sent in one `POST product/import`. Unconfirmed: BonusPlus
/// documents no limit; callers split bigger catalogues into batches of this size.
pub const MAX_PRODUCTS_PER_IMPORT: usize = 1000;

/// `pid` of a top-level group in `POST product/import` (the spec says "0 for top level";
/// whether it must be a JSON number or string is unconfirmed — ids are strings here).
pub const TOP_LEVEL_GROUP_PID: &str = "0";

/// Body of `PUT retail/back`. Unconfirmed: whether several lines may go in one call and the
/// exact shape; the project sends one line per call as `{"ext": …, "sum": …}`.
pub(crate) fn return_body(line: &ReturnLine) -> impl Serialize + '_ {
    line
}

/// BonusPlus's numeric code for a sex. Unconfirmed: 0 unknown, 1 male, 2 female.
pub(crate) fn sex_to_wire(sex: Sex) -> u8 {
    match sex {
        Sex::Male => 1,
        Sex::Female => 2,
    }
}

/// Inverse of [`sex_to_wire`]; "unknown" and any code not understood read as `None`.
pub(crate) fn sex_from_wire(code: i64) -> Option<Sex> {
    match code {
        1 => Some(Sex::Male),
        2 => Some(Sex::Female),
        _ => None,
    }
}

/// The promotion messages of a calculation. Unconfirmed where BonusPlus puts them: at the top
/// level, inside each `discount` entry, or both — so both are read, top level first, without
/// repeating a text.
pub(crate) fn calc_messages(result: &CalcResult) -> Vec<&str> {
    let line_messages = result.discount.iter().flat_map(|line| &line.messages);
    let mut messages: Vec<&str> = Vec::new();
    for message in result.messages.iter().chain(line_messages) {
        if !messages.contains(&message.as_str()) {
            messages.push(message);
        }
    }
    messages
}

/// The code in a `sendCode` answer. Unconfirmed: public integrations get `204` and no code; some
/// BonusPlus set-ups may answer `{"code": "1234"}`. A missing, empty or unreadable body is `None`.
pub(crate) fn revealed_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        code: Option<serde_json::Value>,
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let code = match answer.code? {
        serde_json::Value::String(code) => code,
        serde_json::Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let code = code.trim().to_owned();
    (!code.is_empty() && code.len() <= 16).then_some(code)
}

#[cfg(test)]
mod revealed_code_tests {
    use super::revealed_code;

    #[test]
    fn reads_a_string_or_number_code_and_ignores_the_rest() {
        assert_eq!(
            revealed_code(br#"{"code":"0421"}"#).as_deref(),
            Some("0421")
        );
        assert_eq!(revealed_code(br#"{"code":421}"#).as_deref(), Some("421"));
        assert_eq!(revealed_code(b""), None);
        assert_eq!(revealed_code(br#"{"code":""}"#), None);
        assert_eq!(revealed_code(br#"{"other":1}"#), None);
    }
}
