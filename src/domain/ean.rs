//! Loyalty card numbers in the one form BonusPlus looks cards up by: an EAN-8 or EAN-13 barcode
//! number, digits only, with a valid check digit (`GET customer?ean=`, `CreateCustomer.ean`,
//! `PatchCustomer.cardNumber` — `docs/bonusplus-wire.md`).
//!
//! [`Ean::parse`] is the only way to obtain an [`Ean`], so code holding one never sends BonusPlus
//! a card number it would refuse, and a number that was mistyped at the till (one wrong digit, two
//! neighbouring digits swapped) is caught by the check digit before any request.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Lengths of the two EAN symbologies BonusPlus accepts.
const EAN_8: usize = 8;
const EAN_13: usize = 13;

/// A valid EAN-8 or EAN-13 number, digits only (`2000000051420`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Ean(String);

/// Why a card number is not an EAN. `Display` is Russian and meant for the cashier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EanError {
    #[error("Не указан номер карты")]
    Empty,
    #[error("Номер карты должен состоять только из цифр")]
    NotDigits,
    #[error("Номер карты должен содержать 8 или 13 цифр (EAN-8 или EAN-13)")]
    WrongLength,
    #[error("Номер карты набран с ошибкой: не сходится контрольная цифра")]
    WrongCheckDigit,
}

impl Ean {
    /// Parses a card number as scanned or typed. Surrounding blanks are dropped (a scanner may
    /// add a newline); anything inside the number other than a digit is refused, because BonusPlus
    /// takes digits only and guessing which characters to drop could name another card.
    pub fn parse(input: &str) -> Result<Ean, EanError> {
        let digits = input.trim();
        if digits.is_empty() {
            return Err(EanError::Empty);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EanError::NotDigits);
        }
        if digits.len() != EAN_8 && digits.len() != EAN_13 {
            return Err(EanError::WrongLength);
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        if check.as_bytes()[0] - b'0' != check_digit(body) {
            return Err(EanError::WrongCheckDigit);
        }
        Ok(Ean(digits.to_owned()))
    }

    /// The digits, e.g. `2000000051420`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The GS1 check digit of the digits before it: weights 3, 1, 3, … from the rightmost digit,
/// then what brings the weighted sum up to a multiple of ten. `body` holds ASCII digits only.
fn check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(at, b)| {
            let digit = u32::from(b - b'0');
            if at % 2 == 0 {
                digit * 3
            } else {
                digit
            }
        })
        .sum();
    // `(10 - sum % 10) % 10` is below 10, so the cast cannot truncate.
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Display for Ean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Ean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ean({})", self.0)
    }
}

impl AsRef<str> for Ean {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Ean {
    type Err = EanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ean::parse(s)
    }
}

impl TryFrom<String> for Ean {
    type Error = EanError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ean::parse(&value)
    }
}

impl From<Ean> for String {
    fn from(ean: Ean) -> Self {
        ean.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `body` followed by its check digit.
    fn with_check_digit(body: &str) -> String {
        format!("{body}{}", check_digit(body))
    }

    #[test]
    fn accepts_real_ean_13_and_ean_8_numbers() {
        for valid in [
            "2000000051420",
            "2000000000015",
            "4006381333931",
            "4600051000057",
            "96385074",
            "40170725",
            "00000000",
        ] {
            assert_eq!(Ean::parse(valid).map(|e| e.to_string()), Ok(valid.into()));
        }
    }

    #[test]
    fn surrounding_blanks_are_dropped() {
        assert_eq!(
            Ean::parse(" 2000000051420\n").unwrap().as_str(),
            "2000000051420"
        );
    }

    #[test]
    fn refuses_a_wrong_check_digit() {
        assert_eq!(Ean::parse("2000000051421"), Err(EanError::WrongCheckDigit));
        assert_eq!(Ean::parse("96385075"), Err(EanError::WrongCheckDigit));
    }

    #[test]
    fn refuses_other_lengths_and_characters() {
        for (input, error) in [
            ("", EanError::Empty),
            ("   ", EanError::Empty),
            ("2000001", EanError::WrongLength),
            ("200000005142", EanError::WrongLength),
            ("20000000514200", EanError::WrongLength),
            ("79011231122", EanError::WrongLength),
            ("2000 000 051420", EanError::NotDigits),
            ("2000-0000-5142", EanError::NotDigits),
            ("GC-0001", EanError::NotDigits),
            ("２０００００００５１４２０", EanError::NotDigits),
            ("+2000000051420", EanError::NotDigits),
        ] {
            assert_eq!(Ean::parse(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn messages_are_russian_for_the_cashier() {
        assert!(EanError::WrongCheckDigit
            .to_string()
            .starts_with("Номер карты"));
    }

    #[test]
    fn serde_is_the_digits_and_refuses_an_invalid_number() {
        let ean = Ean::parse("2000000051420").unwrap();
        assert_eq!(serde_json::to_string(&ean).unwrap(), "\"2000000051420\"");
        let back: Ean = serde_json::from_str("\"2000000051420\"").unwrap();
        assert_eq!(back, ean);
        assert!(serde_json::from_str::<Ean>("\"2000000051421\"").is_err());
    }

    proptest! {
        #[test]
        fn every_body_with_its_check_digit_parses(body in "[0-9]{7}|[0-9]{12}") {
            let number = with_check_digit(&body);
            let ean = Ean::parse(&number).unwrap();
            prop_assert_eq!(ean.as_str(), number.as_str());
            // Parsing is idempotent: the canonical form parses back to itself.
            prop_assert_eq!(Ean::parse(ean.as_str()), Ok(ean.clone()));
        }

        #[test]
        fn any_single_wrong_digit_is_caught(
            body in "[0-9]{7}|[0-9]{12}",
            at in 0usize..13,
            shift in 1u8..10,
        ) {
            let number = with_check_digit(&body);
            let at = at % number.len();
            let mut bytes = number.into_bytes();
            bytes[at] = b'0' + (bytes[at] - b'0' + shift) % 10;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(Ean::parse(&typo), Err(EanError::WrongCheckDigit));
        }

        #[test]
        fn exactly_one_check_digit_of_ten_is_valid(body in "[0-9]{7}|[0-9]{12}") {
            let valid = (0..10)
                .filter(|d| Ean::parse(&format!("{body}{d}")).is_ok())
                .count();
            prop_assert_eq!(valid, 1);
        }

        #[test]
        fn parsed_values_are_8_or_13_digits(input in r"\s?[0-9 \-]{0,15}\s?") {
            if let Ok(ean) = Ean::parse(&input) {
                prop_assert!(ean.as_str().bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(ean.as_str().len() == 8 || ean.as_str().len() == 13);
            }
        }
    }
}
