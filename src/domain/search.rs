//! What a search typed or scanned at the till can mean: a phone number, a loyalty card, a name.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).
//!
//! A string of digits can be both a phone and a card: an EAN-13 card (`2000000051420`) is also a
//! valid international phone number. Both readings are kept, and the caller looks both up (at the
//! same time, so the cashier waits for one round trip). A string with letters is a name.

use super::ean::Ean;
use super::phone::{Phone, PhoneError};

/// The readings of one till search. Every field may be empty: a search that is none of these
/// finds nobody.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TillSearch {
    pub phone: Option<Phone>,
    pub card: Option<Ean>,
    /// Name lookups to try in order until one finds someone.
    pub names: Vec<NameLookup>,
}

/// One way to read a typed name: which word is the last, first and middle name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameLookup {
    pub last: Option<String>,
    pub first: Option<String>,
    pub middle: Option<String>,
}

impl TillSearch {
    /// Reads a search. Refused only when it is written like a phone number, is not one, and has
    /// no other reading (the cashier made a typo worth hearing about).
    pub fn read(search: &str) -> Result<TillSearch, PhoneError> {
        let search = search.trim();
        let digits_only = !search.is_empty() && search.bytes().all(|b| b.is_ascii_digit());
        let card = digits_only.then(|| Ean::parse(search).ok()).flatten();
        let phone = if Phone::looks_like_phone(search) {
            match Phone::parse(search) {
                Ok(phone) => Some(phone),
                Err(_) if card.is_some() => None,
                Err(error) => return Err(error),
            }
        } else {
            None
        };
        let names = if search.chars().any(char::is_alphabetic) {
            name_lookups(search)
        } else {
            Vec::new()
        };
        Ok(TillSearch { phone, card, names })
    }
}

/// "Петров" is tried as a last name, then as a first name. "Петров Иван [Сергеевич]" is tried in
/// MoySklad's order (last, first, middle), then in the Western one ("Иван Петров").
fn name_lookups(search: &str) -> Vec<NameLookup> {
    let words: Vec<&str> = search.split_whitespace().collect();
    let word = |at: usize| words.get(at).map(|w| (*w).to_owned());
    let rest = |from: usize| (words.len() > from).then(|| words[from..].join(" "));
    match words.len() {
        0 => Vec::new(),
        1 => vec![
            NameLookup {
                last: word(0),
                ..NameLookup::default()
            },
            NameLookup {
                first: word(0),
                ..NameLookup::default()
            },
        ],
        2 => vec![
            NameLookup {
                last: word(0),
                first: word(1),
                middle: None,
            },
            NameLookup {
                first: word(0),
                last: word(1),
                middle: None,
            },
        ],
        _ => vec![
            NameLookup {
                last: word(0),
                first: word(1),
                middle: rest(2),
            },
            NameLookup {
                first: word(0),
                middle: word(1),
                last: rest(2),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(search: &str) -> TillSearch {
        TillSearch::read(search).unwrap()
    }

    fn phone(text: &str) -> Option<Phone> {
        Some(Phone::parse(text).unwrap())
    }

    fn card(text: &str) -> Option<Ean> {
        Some(Ean::parse(text).unwrap())
    }

    #[test]
    fn phones_in_till_formats_are_phones_only() {
        for text in [
            "+7 (901) 123-11-22",
            "89011231122",
            "9011231122",
            "79011231122",
        ] {
            let search = read(text);
            assert_eq!(search.phone, phone("79011231122"), "{text}");
            assert_eq!((search.card, search.names.len()), (None, 0), "{text}");
        }
    }

    #[test]
    fn an_ean_13_card_is_both_a_card_and_a_phone() {
        let search = read("2000000051420");
        assert_eq!(search.card, card("2000000051420"));
        assert_eq!(search.phone, phone("2000000051420"));
        assert!(search.names.is_empty());
    }

    #[test]
    fn an_ean_8_card_is_a_card_only() {
        let search = read(" 96385074 ");
        assert_eq!((search.card, search.phone), (card("96385074"), None));
    }

    #[test]
    fn digits_that_are_no_card_are_a_phone_or_nothing() {
        // A wrong check digit: not a card, still a phone.
        let search = read("2000000051421");
        assert_eq!((search.card, search.phone), (None, phone("2000000051421")));
        // Too short for either.
        assert_eq!(read("12345"), TillSearch::default());
        assert_eq!(read(""), TillSearch::default());
    }

    #[test]
    fn a_phone_typo_without_another_reading_is_refused() {
        // Country code 7 with 12 digits: no phone, no EAN.
        assert_eq!(
            TillSearch::read("+7 901 123 11 223"),
            Err(PhoneError::WrongLength)
        );
        // The same digits as an EAN-13 starting with 7… and a valid check digit: a card.
        let ean = "7000000000003";
        assert!(Ean::parse(ean).is_ok());
        let search = read(ean);
        assert_eq!((search.card, search.phone), (card(ean), None));
    }

    #[test]
    fn names_are_tried_as_last_then_first_name() {
        assert_eq!(
            read("Петров").names,
            vec![
                NameLookup {
                    last: Some("Петров".into()),
                    ..NameLookup::default()
                },
                NameLookup {
                    first: Some("Петров".into()),
                    ..NameLookup::default()
                },
            ]
        );
        let two = read(" Петров   Иван ").names;
        assert_eq!(two[0].last.as_deref(), Some("Петров"));
        assert_eq!(two[0].first.as_deref(), Some("Иван"));
        assert_eq!(two[1].first.as_deref(), Some("Петров"));
        assert_eq!(two[1].last.as_deref(), Some("Иван"));
        let three = read("Петров Иван Сергеевич").names;
        assert_eq!(three[0].middle.as_deref(), Some("Сергеевич"));
        assert_eq!(three[1].last.as_deref(), Some("Сергеевич"));
        let search = read("Петров");
        assert_eq!((search.phone, search.card), (None, None));
    }
}
