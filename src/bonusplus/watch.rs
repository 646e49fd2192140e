//! Watching the unconfirmed points at run time: what an answer that differs from a point of
//! [`wire_assumptions`](super::wire_assumptions) is called, what the product did instead, and the answer's
//! *shape* (member names and JSON types — never a value). The client counts and logs each one and
//! hands it to a [`Watcher`] (the service that records it for the shop).
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use std::fmt::Write as _;

/// An unconfirmed point an answer can differ from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// An error answer whose body is not `{code, msg}`.
    ErrorBody,
    /// An error `code` not in [`KNOWN_ERROR_CODES`](super::wire_assumptions::KNOWN_ERROR_CODES).
    ErrorCode,
    /// A 404 whose code does not say which entity was not found.
    NotFoundEntity,
    /// A 2xx answer whose body is not the documented shape.
    AnswerShape,
    /// A date answered without a UTC offset.
    DateWithoutOffset,
    /// A card number that does not fit the documented Int32 `cardNumber`/`newCardNumber`.
    CardNumberInt32,
    /// PATCH unknown and a full PUT could not carry back every field.
    CustomerReplace,
    /// `sendMessage` refused with a `route`.
    MessageRoute,
}

impl Point {
    pub const ALL: [Point; 8] = [
        Point::ErrorBody,
        Point::ErrorCode,
        Point::NotFoundEntity,
        Point::AnswerShape,
        Point::DateWithoutOffset,
        Point::CardNumberInt32,
        Point::CustomerReplace,
        Point::MessageRoute,
    ];

    /// The metric label and the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Point::ErrorBody => "error_body",
            Point::ErrorCode => "error_code",
            Point::NotFoundEntity => "not_found_entity",
            Point::AnswerShape => "answer_shape",
            Point::DateWithoutOffset => "date_without_offset",
            Point::CardNumberInt32 => "card_number_int32",
            Point::CustomerReplace => "customer_replace",
            Point::MessageRoute => "message_route",
        }
    }

    pub fn parse(name: &str) -> Option<Point> {
        Point::ALL.into_iter().find(|point| point.as_str() == name)
    }

    /// What BonusPlus did, in Russian, for the shop owner.
    pub fn what_ru(self) -> &'static str {
        match self {
            Point::ErrorBody => "БонусПлюс ответил на ошибку не в формате {code, msg}",
            Point::ErrorCode => "БонусПлюс ответил кодом ошибки, которого приложение не знает",
            Point::NotFoundEntity => "БонусПлюс ответил 404, не сказав, что именно не найдено",
            Point::AnswerShape => "БонусПлюс ответил данными другого вида, чем описано",
            Point::DateWithoutOffset => "БонусПлюс прислал дату без часового пояса",
            Point::CardNumberInt32 => {
                "номер карты не помещается в целое число (Int32), которое принимает БонусПлюс"
            }
            Point::CustomerReplace => {
                "БонусПлюс не знает PATCH клиента, а полная перезапись (PUT) стёрла бы данные"
            }
            Point::MessageRoute => "БонусПлюс не принял канал отправки сообщения (route)",
        }
    }

    /// What the product did instead, in Russian.
    pub fn did_instead_ru(self) -> &'static str {
        match self {
            Point::ErrorBody | Point::ErrorCode => {
                "запрос считается отклонённым, касса видит текст ошибки БонусПлюс"
            }
            Point::NotFoundEntity => {
                "для поиска клиента — «клиент не найден», для остальных запросов — отказ БонусПлюс, \
                 никогда «Покупатель не найден»"
            }
            Point::AnswerShape => "ответ не использован, касса получила ошибку «ответил непонятно»",
            Point::DateWithoutOffset => "дата прочитана как время UTC",
            Point::CardNumberInt32 => {
                "карта привязана к покупателю только в приложении, в БонусПлюс не отправлена"
            }
            Point::CustomerReplace => {
                "данные покупателя в БонусПлюс не изменены; измените их в кабинете БонусПлюс"
            }
            Point::MessageRoute => "код отправлен ещё раз без канала (по умолчанию БонусПлюс)",
        }
    }
}

/// One answer that differed from a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexpected {
    pub point: Point,
    /// The call, as named in traces (`GET customer`), never its URL.
    pub call: &'static str,
    /// The HTTP status; 0 when no answer is involved (a card that does not fit).
    pub status: u16,
    /// Member names and JSON types of the answer, never a value.
    pub shape: String,
    /// What exactly was withheld and why, in Russian (a customer edit); empty otherwise. Never a
    /// secret.
    pub detail: String,
}

impl Unexpected {
    /// A point met without an answer to describe.
    pub fn about(point: Point, call: &'static str) -> Self {
        Unexpected {
            point,
            call,
            status: 0,
            shape: String::new(),
            detail: String::new(),
        }
    }

    /// The same, with what exactly was withheld and why.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// A point met in an answer.
    pub fn answer(point: Point, call: &'static str, status: u16, body: &[u8]) -> Self {
        Unexpected {
            point,
            call,
            status,
            shape: shape_of(body),
            detail: String::new(),
        }
    }
}

/// Told of every answer that differs, with the key's owner (an account id) when the key has one.
pub trait Watcher: Send + Sync {
    fn unexpected(&self, owner: Option<&str>, event: &Unexpected);
}

/// At most this many characters of shape are kept.
const MAX_SHAPE_CHARS: usize = 300;

/// The shape of a body: JSON member names and types, two levels deep; never a value.
pub fn shape_of(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        return "empty".to_owned();
    }
    let mut shape = String::new();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => describe(&value, 2, &mut shape),
        Err(_) => {
            let _ = write!(shape, "not JSON ({} bytes)", body.len());
        }
    }
    shape.chars().take(MAX_SHAPE_CHARS).collect()
}

fn describe(value: &serde_json::Value, depth: usize, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(_) => out.push_str("bool"),
        Value::Number(_) => out.push_str("number"),
        Value::String(_) => out.push_str("string"),
        Value::Array(items) => {
            out.push('[');
            match items.first() {
                Some(first) if depth > 0 => describe(first, depth - 1, out),
                Some(_) => out.push('…'),
                None => {}
            }
            out.push(']');
        }
        Value::Object(members) if depth == 0 => {
            let _ = write!(out, "{{{} members}}", members.len());
        }
        Value::Object(members) => {
            out.push('{');
            for (index, (name, member)) in members.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(name);
                out.push_str(": ");
                describe(member, depth - 1, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_names_members_and_types_never_values() {
        let shape = shape_of(
            br#"{"error":{"message":"secret 79011231122","id":7},"ok":false,"list":[{"a":1}]}"#,
        );
        assert_eq!(
            shape,
            "{error: {id: number, message: string}, list: [{1 members}], ok: bool}"
        );
        assert!(!shape.contains("7901"));
        assert_eq!(shape_of(b"<html>oops</html>"), "not JSON (17 bytes)");
        assert_eq!(shape_of(b" "), "empty");
        assert_eq!(shape_of(b"[]"), "[]");
    }

    #[test]
    fn points_round_trip_and_say_what_was_done() {
        for point in Point::ALL {
            assert_eq!(Point::parse(point.as_str()), Some(point));
            assert!(!point.what_ru().is_empty() && !point.did_instead_ru().is_empty());
        }
        assert_eq!(Point::parse("other"), None);
    }
}
