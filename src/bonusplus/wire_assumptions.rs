//! What the client assumes of BonusPlus's wire where the reference is silent: every point of the
//! BonusPlus API that the project could not confirm, each in exactly one place so that correcting
//! it is a one-line change. The decisions are recorded in
//! `docs/bonusplus-wire.md` (marked [DECISION]); the unit tests below and the contract tests in
//! `tests/it/bonusplus_client.rs` pin them.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! When a call resting on one of these points is answered as unknown
//! ([`BonusPlusError::UnknownCall`](super::BonusPlusError::UnknownCall)), the client falls back
//! to a confirmed way where one exists (see the summary at the end of the wire document).

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uuid::Uuid;

use super::wire::{CalcResult, Customer, CustomerFilter, ReturnLine, Sex};
use crate::domain::verification::Channel;

/// The phone asked by the key check's fallback (`GET customer?phone=…`) when BonusPlus does not
/// know `GET account`: `+7 000…` is no Russian number, so no customer can hold it and a working
/// key is answered 412 `CUSTOMER_NOT_FOUND`.
pub const KEY_CHECK_FALLBACK_PHONE: &str = "70000000000";

/// Whether `PUT retail/calc` checks its `store` before its customer. Unconfirmed: the connection
/// check calculates for a phone no customer holds ([`KEY_CHECK_FALLBACK_PHONE`]), so a store
/// BonusPlus does not know is seen only if BonusPlus refuses the store first (the emulator does);
/// a "customer not found" answer counts as the store accepted.
pub const CALC_CHECKS_STORE_FIRST: bool = true;

/// Whether `reserveId` on `POST retail` makes BonusPlus spend the bonuses that reserve holds
/// (and remove it). The reference names the field ("Id резерва") without describing its effect,
/// so the project assumes it does not: the bridge releases the reserve itself before the sale,
/// which is right whichever way BonusPlus behaves. Flip this once BonusPlus confirms otherwise;
/// nothing reads it yet.
pub const RESERVE_ID_CONSUMES: bool = false;

/// Largest number of products sent in one `POST product/import`. Unconfirmed: BonusPlus
/// documents no limit; callers split bigger catalogues into batches of this size. Defined by
/// `config`, which bounds `sync.batch_size` by it (the configuration imports no client).
pub use crate::config::MAX_PRODUCTS_PER_IMPORT;

/// `pid` of a top-level group in `POST product/import` (the spec says "0 for top level";
/// whether it must be a JSON number or string is unconfirmed — ids are strings here).
pub const TOP_LEVEL_GROUP_PID: &str = "0";

/// The field of `POST customer/{phoneNumber}/sendMessage`'s body that carries the text. The
/// method is documented, its body model was not seen. The emulator reads the same name.
pub const SEND_MESSAGE_TEXT_FIELD: &str = "message";

/// Every error `code` the project has seen or relies on. The codes and the `{code, msg}` body come
/// from one integration, not from the reference: an error answer with another code, or without
/// this body, is counted and reported (`bonusplus::watch`).
pub const KNOWN_ERROR_CODES: &[&str] = &[
    "CUSTOMER_NOT_FOUND",
    "CUSTOMER_ALREADY_EXIST",
    "RETAIL_ALREADY_EXIST",
    "INVALID_CODE",
    "NOT_ENOUGH_BONUSES",
    "STORE_NOT_FOUND",
    "RETAIL_ITEM_NOT_FOUND",
    "RETURN_SUM_TOO_BIG",
    "TOO_MANY_PRODUCTS",
    "VALIDATION_ERROR",
    "RESERVE_NOT_FOUND",
    "CERTIFICATE_NOT_FOUND",
    "CERTIFICATE_NOT_ACTIVE",
    "NOT_ENOUGH_CERTIFICATE_BALANCE",
];

/// A 404 code that does not say *what* was not found (so it is not read as "customer not found"
/// except where the call looks a customer up).
pub(crate) fn is_unspecific_not_found(code: &str) -> bool {
    matches!(code, "NOT_FOUND" | "404")
}

/// The calls whose only entity is the customer looked up: a 404 naming no entity there means
/// the customer. Every other call's 404 needs `CUSTOMER_NOT_FOUND` to mean the customer.
pub(crate) fn is_customer_lookup(endpoint: &str) -> bool {
    endpoint.starts_with("GET customer") && !endpoint.contains("reserve")
}

/// What ASP.NET Web API answers for a route it does not know: no body, or `{"Message": …}`
/// (with `MessageDetail` at most). Assumed of BonusPlus, whose reference is ASP.NET Help pages.
pub(crate) fn is_unknown_route_body(body: &[u8]) -> bool {
    if body.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(members)) => {
            members.contains_key("Message")
                && members
                    .keys()
                    .all(|k| k == "Message" || k == "MessageDetail")
        }
        _ => false,
    }
}

/// Whether an answered date-time carries its offset (`Z` or `±hh:mm`). One without is read as
/// UTC ([`parse_expire_date`]) and reported.
pub(crate) fn has_offset(text: &str) -> bool {
    OffsetDateTime::parse(text.trim(), &Rfc3339).is_ok()
}

/// Body of `PUT retail/back`. Unconfirmed: whether several lines may go in one call and the
/// exact shape; the project sends one line per call as `{"ext": …, "sum": …}`.
pub(crate) fn return_body(line: &ReturnLine) -> impl Serialize + '_ {
    line
}

/// The field of `SendMessageRequest` that carries the channels ([DOC]: `route`, an array of
/// `MessageTransport` in priority order).
pub const SEND_MESSAGE_ROUTE_FIELD: &str = "route";

/// The wire value of a `MessageTransport`. Unconfirmed: the reference's description names the
/// channels `Telegram`, `VK`, `SMS` (its example `["Telegram","VK","SMS"]`) while its sample shows
/// integers (`[0, 0]`) whose meaning is not given. The project sends the names: ASP.NET (Json.NET)
/// binds an enum from its name as well as from its number, and a name cannot pick the wrong
/// channel. When BonusPlus refuses the route (400) the message is sent again without it and the
/// refusal is reported (`watch::Point::MessageRoute`).
pub const fn message_transport(channel: Channel) -> &'static str {
    match channel {
        Channel::Telegram => "Telegram",
        Channel::Vk => "VK",
        Channel::Sms => "SMS",
    }
}

/// Body of `POST customer/{phoneNumber}/sendMessage`: `{"message": "<text>", "route": [...]}`,
/// without `route` when no channel is given.
pub(crate) fn send_message_body(text: &str, route: &[Channel]) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert(
        SEND_MESSAGE_TEXT_FIELD.to_owned(),
        serde_json::Value::String(text.to_owned()),
    );
    if !route.is_empty() {
        let channels = route
            .iter()
            .map(|channel| serde_json::Value::from(message_transport(*channel)))
            .collect();
        body.insert(
            SEND_MESSAGE_ROUTE_FIELD.to_owned(),
            serde_json::Value::Array(channels),
        );
    }
    serde_json::Value::Object(body)
}

/// Body of `POST customer/list`: the documented `CustomerFilter` plus the paging field. The
/// reference says the count is set in the filter (at most 1000) but the field's name was not
/// seen; the project sends `take`. Were it wrong, BonusPlus would ignore it and answer more rows,
/// so the client also cuts the answer to what the caller asked for.
pub(crate) fn customer_list_body(filter: &CustomerFilter, take: usize) -> impl Serialize + '_ {
    #[derive(Serialize)]
    struct CustomerListRequest<'a> {
        #[serde(flatten)]
        filter: &'a CustomerFilter,
        take: usize,
    }
    CustomerListRequest { filter, take }
}

/// The customers of a `POST customer/list` answer. Its shape is unconfirmed: a bare JSON array of
/// `Customer` (the project's reading) or `{"list": [...]}` (a common ASP.NET paging wrapper) are
/// both accepted; an empty body or `null` is no rows. A row that is not a readable customer (no
/// phone, say) is skipped rather than failing the whole search. Any other shape is an error.
pub(crate) fn customer_list(body: &[u8]) -> Result<Vec<Customer>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let answer: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    let rows = match answer {
        serde_json::Value::Array(rows) => rows,
        serde_json::Value::Object(mut object) => match object.remove("list") {
            Some(serde_json::Value::Array(rows)) => rows,
            Some(serde_json::Value::Null) => Vec::new(),
            _ => return Err("an object without a `list` array".to_owned()),
        },
        serde_json::Value::Null => Vec::new(),
        _ => return Err("neither an array nor {\"list\": [...]}".to_owned()),
    };
    let total = rows.len();
    let customers: Vec<Customer> = rows
        .into_iter()
        .filter_map(|row| serde_json::from_value(row).ok())
        .collect();
    if customers.len() < total {
        tracing::warn!(
            skipped = total - customers.len(),
            "customer/list rows that are not readable customers were skipped"
        );
    }
    Ok(customers)
}

/// Members of a `Customer` answer that a `PUT customer/{phoneNumber}` does not write: identity
/// and the figures BonusPlus computes. The reference lists `Customer`'s members without saying
/// which of them `UpdateCustomer` stores; these are the project's reading. Any other member a
/// PUT could not carry back refuses the PUT (see `merge::replace_body`).
pub(crate) const CUSTOMER_READ_ONLY: &[&str] = &[
    "id",
    "phone",
    "person",
    "discountCardTypeId",
    "availableBonuses",
    "notActiveBonuses",
    "allBonuses",
    "lastPurchaseDate",
    "firstPurchaseDate",
    "totalBonusCredit",
    "totalBonusDebit",
    "purchasesTotalSum",
    "purchasesCount",
    "purchasesSumToNextCard",
    "nextCardName",
    "regressEnabled",
    "baseDiscountPercent",
    "bonusDebitDenided",
    "multiplicityDebitBonus",
    "nearestBonusesExpirationAmount",
    "nearestBonusesExpirationDate",
];

/// The `UpdateCustomer` member that carries back a member of a `Customer` answer (at its top
/// level or inside `person`). Unconfirmed: where BonusPlus answers notes, address and social links,
/// and under which spelling; both the request names and the spelled-out ones are read.
pub(crate) fn update_field_of(answered: &str) -> Option<&'static str> {
    Some(match answered {
        "fn" | "firstName" => "fn",
        "ln" | "lastName" => "ln",
        "mn" | "middleName" => "mn",
        "birthDay" | "birthday" => "birthDay",
        "parentphone" | "parentPhone" => "parentphone",
        "discountCardNumber" => "newCardNumber",
        "discountCardName" => "newCard",
        "sex" => "sex",
        "email" => "email",
        "desc" => "desc",
        "address" => "address",
        "profileInstagram" => "profileInstagram",
        "profileVkontakte" => "profileVkontakte",
        "profileOdnoklassniki" => "profileOdnoklassniki",
        "disablePromoSMS" => "disablePromoSMS",
        "storeId" => "storeId",
        "cashierId" => "cashierId",
        "relatives" => "relatives",
        "significantDates" => "significantDates",
        "registrationSourceId" => "registrationSourceId",
        "invitationCode" => "invitationCode",
        _ => return None,
    })
}

/// A card number as `PatchCustomer.cardNumber` and `UpdateCustomer.newCardNumber` take it: `int`
/// in the reference (sample `1`), read as a 32-bit integer. Only digits that fit and read back the
/// same (no leading zero) qualify: an EAN-8 does, an EAN-13 never does (≥ 10¹¹ > 2³¹).
pub fn card_number_int(card: &str) -> Option<i32> {
    let card = card.trim();
    let number: i32 = card.parse().ok()?;
    (number > 0 && number.to_string() == card).then_some(number)
}

/// A date BonusPlus *answers* (a customer's birthday). Its format is not published: ASP.NET's
/// rendering of a `DateTime` (`1990-05-17T00:00:00`, what the emulator answers), a bare
/// `1990-05-17`, or the request format `17.05.1990` are all read. The time of day (and any offset
/// after it) is ignored: a birthday is a calendar date.
pub(crate) fn parse_answered_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Ok(date) = Date::parse(text, format_description!("[day].[month].[year]")) {
        return Some(date);
    }
    let (day, rest) = text.split_at_checked("YYYY-MM-DD".len())?;
    if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
        return None;
    }
    Date::parse(day, format_description!("[year]-[month]-[day]")).ok()
}

/// A certificate's `expireDate`. The format is not published: the project reads
/// `YYYY-MM-DDTHH:MM:SS` (optionally with fractions of a second) as **UTC**, and also accepts an
/// RFC 3339 time with an offset (converted to UTC), a space instead of the `T`, and a bare date
/// (midnight UTC). Anything else is `None`.
pub(crate) fn parse_expire_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at.to_offset(UtcOffset::UTC));
    }
    let naive = text.strip_suffix('Z').unwrap_or(text).replacen(' ', "T", 1);
    if let Ok(at) = PrimitiveDateTime::parse(
        &naive,
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        ),
    ) {
        return Some(at.assume_utc());
    }
    Date::parse(&naive, format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|day| day.midnight().assume_utc())
}

/// The certificate GUID to ask `GET certificate/{id}` for, from what was typed or scanned at the
/// till. BonusPlus documents no lookup by the printed number (`GET certificate/number` only
/// generates one), so today a GUID is asked directly and anything else has no known lookup
/// (`None`: the certificate is answered as unknown without asking BonusPlus).
pub fn certificate_id(typed: &str) -> Option<Uuid> {
    Uuid::parse_str(typed.trim()).ok()
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
mod tests {
    use super::*;
    use crate::domain::ean::Ean;
    use rust_decimal_macros::dec;
    use time::macros::{date, datetime};

    #[test]
    fn revealed_code_reads_a_string_or_number_code_and_ignores_the_rest() {
        assert_eq!(
            revealed_code(br#"{"code":"0421"}"#).as_deref(),
            Some("0421")
        );
        assert_eq!(revealed_code(br#"{"code":421}"#).as_deref(), Some("421"));
        assert_eq!(revealed_code(b""), None);
        assert_eq!(revealed_code(br#"{"code":""}"#), None);
        assert_eq!(revealed_code(br#"{"other":1}"#), None);
    }

    #[test]
    fn key_check_fallback_phone_is_a_valid_phone_no_customer_holds() {
        let phone = crate::domain::Phone::parse(KEY_CHECK_FALLBACK_PHONE).unwrap();
        assert_eq!(phone.as_str(), KEY_CHECK_FALLBACK_PHONE);
    }

    #[test]
    fn reserve_id_is_assumed_not_to_consume_the_reserve() {
        // The bridge releases the reserve itself before each sale; see the constant's docs.
        const { assert!(!RESERVE_ID_CONSUMES) };
    }

    #[test]
    fn send_message_body_carries_the_text_in_message() {
        assert_eq!(
            send_message_body("Код для кассы: 123456", &[]),
            serde_json::json!({"message": "Код для кассы: 123456"})
        );
    }

    #[test]
    fn message_transports_are_sent_by_the_names_the_reference_describes() {
        use crate::domain::verification::MessageRoute;
        assert_eq!(
            send_message_body("Код: 1", MessageRoute::TelegramVkSms.channels()),
            serde_json::json!({"message": "Код: 1", "route": ["Telegram", "VK", "SMS"]})
        );
        assert_eq!(
            send_message_body("Код: 1", MessageRoute::SmsOnly.channels()),
            serde_json::json!({"message": "Код: 1", "route": ["SMS"]})
        );
    }

    #[test]
    fn customer_list_body_is_the_filter_plus_take() {
        let filter = CustomerFilter::last_name("Петров");
        let body = customer_list_body(&filter, 20);
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"lastName":["Петров"],"take":20}"#
        );
    }

    #[test]
    fn customer_list_reads_a_bare_array_or_a_list_object() {
        let row = r#"{"phone":"79011231122","availableBonuses":120.50,"person":{"ln":"Петров"}}"#;
        let bare = customer_list(format!("[{row}]").as_bytes()).unwrap();
        let wrapped_text = format!(r#"{{"list":[{row}],"count":1}}"#);
        let wrapped = customer_list(wrapped_text.as_bytes()).unwrap();
        assert_eq!(bare, wrapped);
        assert_eq!(bare.len(), 1);
        assert_eq!(bare[0].phone, "79011231122");
        // Exact amounts survive the detour through a JSON value.
        assert_eq!(bare[0].available_bonuses, Some(dec!(120.50)));
        assert_eq!(
            bare[0].person.as_ref().unwrap().last_name.as_deref(),
            Some("Петров")
        );
        for empty in ["", "  ", "[]", "null", r#"{"list":[]}"#, r#"{"list":null}"#] {
            assert_eq!(customer_list(empty.as_bytes()), Ok(Vec::new()), "{empty:?}");
        }
        // A row that is no customer is skipped, the others kept.
        let mixed_text = format!(r#"[{{"id":1}}, {row}]"#);
        let mixed = customer_list(mixed_text.as_bytes()).unwrap();
        assert_eq!(mixed.len(), 1);
        for odd in [r#"{"items":[]}"#, "42", r#""text""#, "{not json"] {
            assert!(customer_list(odd.as_bytes()).is_err(), "{odd}");
        }
    }

    #[test]
    fn unknown_route_bodies_and_unspecific_404_codes_are_recognised() {
        assert!(is_unknown_route_body(b""));
        assert!(is_unknown_route_body(
            br#"{"Message":"No HTTP resource was found"}"#
        ));
        assert!(!is_unknown_route_body(
            br#"{"Message":"x","code":"NOT_FOUND"}"#
        ));
        assert!(!is_unknown_route_body(b"<html/>"));
        assert!(is_unspecific_not_found("NOT_FOUND"));
        assert!(!is_unspecific_not_found("STORE_NOT_FOUND"));
        assert!(is_customer_lookup("GET customer by ean"));
        assert!(!is_customer_lookup("GET customer/balance/reserve"));
        assert!(!is_customer_lookup("PUT retail/calc"));
        assert!(KNOWN_ERROR_CODES.contains(&crate::bonusplus::codes::CUSTOMER_NOT_FOUND));
        assert!(has_offset("2026-12-31T23:59:59Z") && !has_offset("2026-12-31T23:59:59"));
    }

    #[test]
    fn card_numbers_go_as_int32_only_when_they_fit_and_read_back() {
        assert_eq!(card_number_int("12345670"), Some(12_345_670));
        assert_eq!(card_number_int("2147483647"), Some(i32::MAX));
        for card in [
            "2000000051420",
            "2147483648",
            "01234565",
            "0",
            "-5",
            "12a",
            "",
        ] {
            assert_eq!(card_number_int(card), None, "{card}");
        }
        // Every EAN-13 overflows an Int32.
        assert!(card_number_int(Ean::parse("2000000000015").unwrap().as_str()).is_none());
    }

    #[test]
    fn every_documented_update_member_is_reachable_and_read_only_members_are_not() {
        for member in CUSTOMER_READ_ONLY {
            assert_eq!(update_field_of(member), None, "{member}");
        }
        assert_eq!(update_field_of("discountCardNumber"), Some("newCardNumber"));
        assert_eq!(update_field_of("firstName"), Some("fn"));
        assert_eq!(update_field_of("nickname"), None);
    }

    #[test]
    fn answered_dates_are_read_in_three_formats() {
        let may_17 = Some(date!(1990 - 05 - 17));
        for text in [
            "1990-05-17T00:00:00",
            "1990-05-17",
            "17.05.1990",
            " 1990-05-17T00:00:00+03:00 ",
            "1990-05-17 00:00:00",
        ] {
            assert_eq!(parse_answered_date(text), may_17, "{text}");
        }
        for text in [
            "",
            "1990-05-32",
            "17/05/1990",
            "1990-05-17X",
            "май 1990",
            "1990-5-17",
        ] {
            assert_eq!(parse_answered_date(text), None, "{text}");
        }
    }

    #[test]
    fn expire_date_without_offset_is_utc() {
        let end_of_2026 = Some(datetime!(2026-12-31 23:59:59 UTC));
        for text in [
            "2026-12-31T23:59:59",
            "2026-12-31T23:59:59Z",
            "2026-12-31 23:59:59",
            "2027-01-01T02:59:59+03:00",
        ] {
            assert_eq!(parse_expire_date(text), end_of_2026, "{text}");
        }
        assert_eq!(
            parse_expire_date("2026-12-31T23:59:59.5"),
            Some(datetime!(2026-12-31 23:59:59.5 UTC))
        );
        assert_eq!(
            parse_expire_date("2026-12-31"),
            Some(datetime!(2026-12-31 00:00:00 UTC))
        );
        assert_eq!(parse_expire_date("31.12.2026"), None);
        assert_eq!(parse_expire_date("soon"), None);
    }

    #[test]
    fn certificate_number_maps_to_a_guid_only_when_it_is_one() {
        let id = Uuid::from_u128(0x0c0ffee0_0000_4000_8000_000000000001);
        assert_eq!(
            certificate_id(" 0c0ffee0-0000-4000-8000-000000000001 "),
            Some(id)
        );
        assert_eq!(
            certificate_id("0C0FFEE0-0000-4000-8000-000000000001"),
            Some(id)
        );
        for printed in ["GC-0001", "2000000051420", "", "0c0ffee0-0000-4000-8000"] {
            assert_eq!(certificate_id(printed), None, "{printed}");
        }
    }

    #[test]
    fn sex_codes_round_trip() {
        for sex in [Sex::Male, Sex::Female] {
            assert_eq!(sex_from_wire(i64::from(sex_to_wire(sex))), Some(sex));
        }
        assert_eq!(sex_from_wire(0), None);
        assert_eq!(sex_from_wire(7), None);
    }
}
