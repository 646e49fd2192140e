//! Customer phone numbers in the one form BonusPlus accepts: digits only, country code first.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).
//!
//! Tills send phones in any shape ("+7 (901) 123-11-22", "8 901 123 11 22", "9011231122"…).
//! [`Phone::parse`] is the only way to obtain a [`Phone`], so code holding one never re-checks it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Russian (and Kazakh) numbers: country code 7 followed by 10 national digits.
const RUSSIAN_COUNTRY_CODE: char = '7';
/// Domestic trunk prefix dialled instead of "+7" ("8 901 …").
const RUSSIAN_TRUNK_PREFIX: char = '8';
const NATIONAL_DIGITS: usize = 10;
const RUSSIAN_DIGITS: usize = NATIONAL_DIGITS + 1;
/// E.164 bounds the project accepts for numbers of other countries.
const INTERNATIONAL_DIGITS: std::ops::RangeInclusive<usize> = 11..=15;

/// A phone number normalised to digits only, country code first, no '+' (`79011231122`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Phone(String);

/// Why a phone number was rejected. `Display` is Russian and meant for the cashier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Не указан номер телефона")]
    Empty,
    #[error("Некорректный номер телефона: допустимы цифры, пробелы, скобки, дефисы, точки и «+» в начале")]
    InvalidCharacter,
    #[error("Некорректный номер телефона: укажите 10 цифр номера (например, 901 123-11-22) или номер с кодом страны")]
    WrongLength,
    #[error("Некорректный номер телефона: неизвестный код страны")]
    InvalidCountryCode,
}

/// The digits of a raw input, and whether it started with '+'.
struct RawDigits {
    digits: String,
    has_plus: bool,
}

impl Phone {
    /// Parses a phone written in any till format into the canonical digits-only form.
    ///
    /// * 10 digits (a Russian national number) → `7` + the digits;
    /// * 11 digits starting with `8` or `7` → `7` + the last 10;
    /// * `+` and 11–15 digits (another country, E.164) → the digits;
    /// * 11–15 digits without `+` not starting with `7`/`8`/`0` → the digits, so that
    ///   the canonical form of an international number parses back to itself.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let raw = extract_digits(input)?;
        canonical_digits(raw).map(Phone)
    }

    /// True when a search string is written like a phone number (phone characters only, and
    /// as many digits as a full number has) — used to choose a phone lookup over a card or
    /// name search. It does not promise that [`Phone::parse`] accepts the string.
    pub fn looks_like_phone(search: &str) -> bool {
        let trimmed = search.trim();
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let only_phone_chars = body
            .chars()
            .all(|c| c.is_ascii_digit() || is_phone_punctuation(c));
        let digit_count = body.chars().filter(char::is_ascii_digit).count();
        only_phone_chars && (NATIONAL_DIGITS..=*INTERNATIONAL_DIGITS.end()).contains(&digit_count)
    }

    /// The canonical digits, e.g. `79011231122`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_phone_punctuation(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')
}

fn extract_digits(input: &str) -> Result<RawDigits, PhoneError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let (has_plus, body) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !is_phone_punctuation(c) {
            return Err(PhoneError::InvalidCharacter);
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    Ok(RawDigits { digits, has_plus })
}

fn canonical_digits(raw: RawDigits) -> Result<String, PhoneError> {
    let RawDigits { digits, has_plus } = raw;
    let len = digits.len();
    let first = digits.chars().next().ok_or(PhoneError::Empty)?;
    match (has_plus, first, len) {
        (false, _, NATIONAL_DIGITS) => Ok(format!("{RUSSIAN_COUNTRY_CODE}{digits}")),
        (false, RUSSIAN_TRUNK_PREFIX, RUSSIAN_DIGITS) => {
            Ok(format!("{RUSSIAN_COUNTRY_CODE}{}", &digits[1..]))
        }
        (_, RUSSIAN_COUNTRY_CODE, RUSSIAN_DIGITS) => Ok(digits),
        // Country code 7 always has exactly 10 national digits.
        (_, RUSSIAN_COUNTRY_CODE, _) => Err(PhoneError::WrongLength),
        (_, '0', _) => Err(PhoneError::InvalidCountryCode),
        // "+8 …" with 11 digits is "8 …" with a stray '+' or a foreign number: the two
        // readings differ, so refuse rather than pick the wrong customer.
        (true, RUSSIAN_TRUNK_PREFIX, RUSSIAN_DIGITS) => Err(PhoneError::InvalidCountryCode),
        (_, _, n) if INTERNATIONAL_DIGITS.contains(&n) => Ok(digits),
        _ => Err(PhoneError::WrongLength),
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.0)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Phone {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> Self {
        phone.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CANONICAL: &str = "79011231122";

    fn parsed(input: &str) -> String {
        Phone::parse(input).unwrap().as_str().to_owned()
    }

    #[test]
    fn accepts_every_till_format_of_a_russian_number() {
        for input in [
            "+7 (901) 123-11-22",
            "8 901 123 11 22",
            "89011231122",
            "79011231122",
            "9011231122",
            "+7-901-123-11-22",
            "+79011231122",
            "8 (901) 123-11-22",
            "7.901.123.11.22",
            "(901) 123 11 22",
            "  +7 901 1231122  ",
            "8\u{a0}901\u{a0}123\u{a0}11\u{a0}22",
        ] {
            assert_eq!(parsed(input), CANONICAL, "input {input:?}");
        }
    }

    #[test]
    fn accepts_any_ten_digit_national_number() {
        assert_eq!(parsed("495 123-45-67"), "74951234567");
        assert_eq!(parsed("8 (812) 555-00-11"), "78125550011");
    }

    #[test]
    fn keeps_international_numbers_given_with_plus_as_digits() {
        assert_eq!(parsed("+380 50 123 45 67"), "380501234567");
        assert_eq!(parsed("+1 (212) 555-1234"), "12125551234");
        assert_eq!(parsed("+86 139 1234 5678"), "8613912345678");
        assert_eq!(parsed("+375 29 123-45-67"), "375291234567");
    }

    #[test]
    fn canonical_international_digits_parse_back_to_themselves() {
        for digits in ["380501234567", "12125551234", "8613912345678"] {
            assert_eq!(parsed(digits), digits);
        }
    }

    #[test]
    fn rejects_letters() {
        assert_eq!(
            Phone::parse("8 901 ABC 11 22"),
            Err(PhoneError::InvalidCharacter)
        );
        assert_eq!(Phone::parse("phone"), Err(PhoneError::InvalidCharacter));
        assert_eq!(
            Phone::parse("7901+1231122"),
            Err(PhoneError::InvalidCharacter)
        );
    }

    #[test]
    fn rejects_empty_input() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("   "), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("+ ( ) -"), Err(PhoneError::Empty));
    }

    #[test]
    fn rejects_too_few_digits() {
        for input in ["123", "901 123 11 2", "+7 901 123 11 2", "+123456789"] {
            assert_eq!(Phone::parse(input), Err(PhoneError::WrongLength), "{input}");
        }
    }

    #[test]
    fn rejects_too_many_digits() {
        for input in [
            "+7 901 123 11 223",
            "790112311223",
            "1234567890123456",
            "+1234567890123456",
        ] {
            assert_eq!(Phone::parse(input), Err(PhoneError::WrongLength), "{input}");
        }
    }

    #[test]
    fn rejects_numbers_without_a_valid_country_code() {
        assert_eq!(
            Phone::parse("+0 901 123 11 22"),
            Err(PhoneError::InvalidCountryCode)
        );
        assert_eq!(
            Phone::parse("09011231122"),
            Err(PhoneError::InvalidCountryCode)
        );
        assert_eq!(
            Phone::parse("+8 901 123 11 22"),
            Err(PhoneError::InvalidCountryCode)
        );
    }

    #[test]
    fn error_messages_are_russian_for_the_cashier() {
        assert!(PhoneError::WrongLength
            .to_string()
            .starts_with("Некорректный номер телефона"));
        assert!(PhoneError::InvalidCharacter
            .to_string()
            .starts_with("Некорректный номер телефона"));
    }

    #[test]
    fn display_as_str_and_serde_are_the_digits() {
        let phone = Phone::parse("+7 (901) 123-11-22").unwrap();
        assert_eq!(phone.to_string(), CANONICAL);
        assert_eq!(phone.as_str(), CANONICAL);
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"79011231122\"");
        let back: Phone = serde_json::from_str("\"8 901 123-11-22\"").unwrap();
        assert_eq!(back, phone);
        assert!(serde_json::from_str::<Phone>("\"abc\"").is_err());
    }

    #[test]
    fn recognises_phone_like_search_strings() {
        for search in ["+7 (901) 123-11-22", "89011231122", "901 123 11 22"] {
            assert!(Phone::looks_like_phone(search), "{search}");
        }
        for search in [
            "Иванов",
            "2000001",
            "",
            "901-12",
            "89011231122a",
            "+7 901 Петров",
        ] {
            assert!(!Phone::looks_like_phone(search), "{search}");
        }
    }

    /// The ways a cashier may type the national number `n` (10 digits).
    fn till_formats(n: &str) -> Vec<String> {
        let (code, a, b, c) = (&n[0..3], &n[3..6], &n[6..8], &n[8..10]);
        vec![
            n.to_owned(),
            format!("8{n}"),
            format!("7{n}"),
            format!("+7{n}"),
            format!("+7 ({code}) {a}-{b}-{c}"),
            format!("8 {code} {a} {b} {c}"),
            format!("+7-{code}-{a}-{b}-{c}"),
            format!("8.{code}.{a}.{b}.{c}"),
            format!(" 8 ({code}) {a}{b}{c} "),
            format!("({code}) {a} {b} {c}"),
        ]
    }

    fn assert_idempotent(input: &str) -> Result<(), TestCaseError> {
        if let Ok(phone) = Phone::parse(input) {
            prop_assert_eq!(Phone::parse(phone.as_str()), Ok(phone.clone()));
            let displayed = phone.to_string();
            prop_assert_eq!(Phone::parse(&displayed), Ok(phone));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn every_format_of_a_national_number_gives_one_canonical_value(n in "[0-9]{10}") {
            let expected = format!("7{n}");
            for input in till_formats(&n) {
                prop_assert_eq!(parsed(&input), expected.clone(), "input {:?}", input);
            }
        }

        #[test]
        fn parsing_is_idempotent(input in r"\+?[0-9 ().\-]{0,20}") {
            assert_idempotent(&input)?;
        }

        /// Mostly accepted inputs, so that idempotence is checked on many valid numbers.
        #[test]
        fn parsing_digit_strings_is_idempotent(input in r"\+?[0-9]{10,15}") {
            assert_idempotent(&input)?;
        }

        #[test]
        fn canonical_values_are_digits_only(input in r"\+?[0-9 ()\-]{0,20}") {
            if let Ok(phone) = Phone::parse(&input) {
                prop_assert!(phone.as_str().chars().all(|c| c.is_ascii_digit()));
                prop_assert!(INTERNATIONAL_DIGITS.contains(&phone.as_str().len()));
            }
        }
    }
}
