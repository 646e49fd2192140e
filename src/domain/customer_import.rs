//! The rules of bringing a shop's MoySklad counterparties into BonusPlus (issue 24): which
//! counterparties the administrator's filters take, what each one becomes (a new BonusPlus
//! customer, one BonusPlus already has, or a problem with its reason in Russian), which bonus
//! points are carried, what a balance read after a crash proves, and the problem rows' CSV.
//! Pure rules: must not depend on anything with I/O — no `state`, `store`, clients or HTTP.
//!
//! Conventions: MoySklad's `bonusPoints` are whole points and one point is carried as one
//! BonusPlus bonus (a rouble of discount); amounts are counted in whole kopecks (`i64`), so sums
//! are exact. A counterparty is matched to BonusPlus by phone first, then by card.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ean::Ean;
use super::phone::{Phone, PhoneError};

/// Kopecks in one bonus point (one point is one rouble of bonuses).
pub const KOPECKS_PER_POINT: i64 = 100;

/// A counterparty as MoySklad's JSON API describes it, the fields the import reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counterparty {
    pub id: String,
    pub name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `YYYY-MM-DD`, the date part of MoySklad's `birthDate`.
    pub birth_date: Option<String>,
    pub sex: Option<Gender>,
    pub card: Option<String>,
    pub points: i64,
    pub tags: Vec<String>,
    pub archived: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gender {
    Male,
    Female,
}

/// What the administrator chose to bring over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Filters {
    /// Only counterparties in one of these groups (MoySklad's tags); empty: every group.
    pub tags: Vec<String>,
    pub skip_archived: bool,
    pub only_with_card: bool,
    pub only_with_points: bool,
}

impl Filters {
    /// Whether the counterparty is part of the import.
    pub fn admits(&self, counterparty: &Counterparty) -> bool {
        let wanted_tag = self.tags.is_empty()
            || counterparty.tags.iter().any(|tag| {
                self.tags
                    .iter()
                    .any(|wanted| wanted.trim().to_lowercase() == tag.trim().to_lowercase())
            });
        wanted_tag
            && !(self.skip_archived && counterparty.archived)
            && !(self.only_with_card && card_of(counterparty).is_none())
            && !(self.only_with_points && counterparty.points <= 0)
    }
}

/// Why a counterparty is not brought over (or, for [`Problem::CardNotEan`], brought over without
/// its card). The codes are stored; [`Problem::reason_ru`] is what the shop reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::EnumString, strum::AsRefStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum Problem {
    NoPhone,
    InvalidPhone,
    DuplicatePhone,
    CardTaken,
    NegativePoints,
    /// Not blocking: the customer is created without the card.
    CardNotEan,
}

impl Problem {
    /// The reason, in Russian, for the shop's page and CSV.
    pub fn reason_ru(self) -> &'static str {
        match self {
            Problem::NoPhone => {
                "Нет телефона: БонусПлюс регистрирует покупателей по номеру телефона"
            }
            Problem::InvalidPhone => {
                "Телефон не похож на номер мобильного: исправьте его в МоёмСкладе"
            }
            Problem::DuplicatePhone => {
                "Этот телефон указан у нескольких контрагентов: оставьте его одному из них"
            }
            Problem::CardTaken => "Карта уже принадлежит другому покупателю БонусПлюс",
            Problem::NegativePoints => "Отрицательный остаток баллов: перенесите его вручную",
            Problem::CardNotEan => {
                "Номер карты не в формате EAN-8/EAN-13: покупатель перенесён без карты"
            }
        }
    }

    /// Whether the counterparty is left out of the import because of it.
    pub fn blocks(self) -> bool {
        self != Problem::CardNotEan
    }
}

/// A counterparty read for the import: its phone parsed, its card checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub counterparty: Counterparty,
    pub phone: Result<Phone, Problem>,
    /// The card as BonusPlus takes it (a valid EAN), if it has one.
    pub ean: Option<Ean>,
}

/// The counterparty's card number, blanks trimmed; `None` when there is none.
pub fn card_of(counterparty: &Counterparty) -> Option<&str> {
    counterparty
        .card
        .as_deref()
        .map(str::trim)
        .filter(|card| !card.is_empty())
}

impl Candidate {
    pub fn new(counterparty: Counterparty) -> Candidate {
        let phone = match counterparty.phone.as_deref().map(Phone::parse) {
            None | Some(Err(PhoneError::Empty)) => Err(Problem::NoPhone),
            Some(Err(_)) => Err(Problem::InvalidPhone),
            Some(Ok(phone)) => Ok(phone),
        };
        let ean = card_of(&counterparty).and_then(|card| Ean::parse(card).ok());
        Candidate {
            counterparty,
            phone,
            ean,
        }
    }

    /// A problem known before BonusPlus is asked anything (a phone problem waits: the card may
    /// still find the customer).
    pub fn early_problem(&self) -> Option<Problem> {
        (self.counterparty.points < 0).then_some(Problem::NegativePoints)
    }

    /// Whether the card is worth asking BonusPlus about, once the phone did not find anyone.
    pub fn card_lookup_needed(&self, found_by_phone: bool) -> bool {
        !found_by_phone && self.ean.is_some()
    }

    /// The note kept with a counterparty brought over without its card.
    pub fn note(&self) -> Option<Problem> {
        (card_of(&self.counterparty).is_some() && self.ean.is_none()).then_some(Problem::CardNotEan)
    }

    /// Points to carry, in kopecks (never negative).
    pub fn points_kopecks(&self) -> i64 {
        self.counterparty
            .points
            .max(0)
            .saturating_mul(KOPECKS_PER_POINT)
    }
}

/// What BonusPlus answered about a candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// BonusPlus has a customer with the candidate's phone.
    pub by_phone: bool,
    /// The phone of the BonusPlus customer holding the candidate's card, if asked and found.
    pub card_holder: Option<Phone>,
}

/// What a counterparty becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Created in BonusPlus with this phone.
    New(Phone),
    /// BonusPlus already has this phone.
    ExistingByPhone(Phone),
    /// No usable phone, but BonusPlus has the card: its holder's phone.
    ExistingByCard(Phone),
    Skipped(Problem),
}

impl Decision {
    /// The stored code of the decision.
    pub fn code(&self) -> &'static str {
        match self {
            Decision::New(_) => "new",
            Decision::ExistingByPhone(_) => "existing_phone",
            Decision::ExistingByCard(_) => "existing_card",
            Decision::Skipped(_) => "skipped",
        }
    }

    pub fn phone(&self) -> Option<&Phone> {
        match self {
            Decision::New(phone)
            | Decision::ExistingByPhone(phone)
            | Decision::ExistingByCard(phone) => Some(phone),
            Decision::Skipped(_) => None,
        }
    }
}

/// Matches a candidate: by phone first, then by card. A card BonusPlus knows under another
/// phone blocks the creation (BonusPlus would refuse the card, and it may be someone else's).
pub fn decide(candidate: &Candidate, found: &Found) -> Decision {
    if let Some(problem) = candidate.early_problem() {
        return Decision::Skipped(problem);
    }
    match (&candidate.phone, &found.card_holder) {
        (Ok(phone), _) if found.by_phone => Decision::ExistingByPhone(phone.clone()),
        (Ok(phone), Some(holder)) if holder != phone => Decision::Skipped(Problem::CardTaken),
        (Ok(phone), _) => Decision::New(phone.clone()),
        (Err(_), Some(holder)) => Decision::ExistingByCard(holder.clone()),
        (Err(problem), None) => Decision::Skipped(*problem),
    }
}

/// The kopecks to credit to a counterparty decided as `decision_code`: its points when the import
/// creates the customer, or when the administrator chose to credit existing customers too.
pub fn planned_credit(decision_code: &str, points_kopecks: i64, credit_existing: bool) -> i64 {
    let eligible = match decision_code {
        "new" => true,
        "existing_phone" | "existing_card" => credit_existing,
        _ => false,
    };
    if eligible {
        points_kopecks.max(0)
    } else {
        0
    }
}

/// What a balance read after a crash says about a credit sent with no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// The balance proves the credit arrived: done, never sent again.
    Credited,
    /// The balance proves it did not: it may be sent.
    NotCredited,
    /// Nothing proves either: parked for the shop to decide, with both figures.
    Uncertain,
}

/// Only a customer the import created (with a balance of 0) can be judged: 0 means the credit
/// never arrived, exactly the amount means it did. Anything else — and any customer BonusPlus had
/// before, whose balance moved on its own — is uncertain.
pub fn recover(created_by_import: bool, amount_kopecks: i64, balance: Decimal) -> Recovery {
    if !created_by_import {
        return Recovery::Uncertain;
    }
    let amount = Decimal::new(amount_kopecks, 2);
    if balance.is_zero() {
        Recovery::NotCredited
    } else if balance == amount {
        Recovery::Credited
    } else {
        Recovery::Uncertain
    }
}

/// The header of the problem rows' CSV (`;`-separated, as Russian spreadsheets expect).
pub const CSV_HEADER: &str = "Контрагент;Наименование;Телефон;Карта;Баллы;Причина";

/// One CSV line: fields quoted when needed, and text a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@` first) neutralised with a leading apostrophe.
pub fn csv_line(fields: &[&str]) -> String {
    let cells: Vec<String> = fields.iter().map(|field| csv_cell(field)).collect();
    cells.join(";")
}

fn csv_cell(field: &str) -> String {
    let text = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counterparty(phone: Option<&str>, card: Option<&str>, points: i64) -> Counterparty {
        Counterparty {
            id: "cp".into(),
            name: "Иван".into(),
            phone: phone.map(str::to_owned),
            card: card.map(str::to_owned),
            points,
            ..Counterparty::default()
        }
    }

    fn phone(text: &str) -> Phone {
        Phone::parse(text).unwrap()
    }

    const EAN: &str = "2000000051420";

    #[test]
    fn phone_then_card() {
        let known = Found {
            by_phone: true,
            card_holder: None,
        };
        let c = Candidate::new(counterparty(Some("8 901 123-11-22"), Some(EAN), 10));
        assert_eq!(
            decide(&c, &known),
            Decision::ExistingByPhone(phone("79011231122"))
        );
        assert!(!c.card_lookup_needed(true));
        assert!(c.card_lookup_needed(false));
        assert_eq!(
            decide(&c, &Found::default()),
            Decision::New(phone("79011231122"))
        );
        let taken = Found {
            by_phone: false,
            card_holder: Some(phone("79990000000")),
        };
        assert_eq!(decide(&c, &taken), Decision::Skipped(Problem::CardTaken));
        let own = Found {
            by_phone: false,
            card_holder: Some(phone("79011231122")),
        };
        assert_eq!(decide(&c, &own), Decision::New(phone("79011231122")));
        let card_only = Candidate::new(counterparty(None, Some(EAN), 5));
        assert_eq!(
            decide(&card_only, &taken),
            Decision::ExistingByCard(phone("79990000000"))
        );
        assert_eq!(
            decide(&card_only, &Found::default()),
            Decision::Skipped(Problem::NoPhone)
        );
    }

    #[test]
    fn phone_problems_and_points() {
        let blank = Candidate::new(counterparty(Some("  "), None, 0));
        assert_eq!(
            decide(&blank, &Found::default()),
            Decision::Skipped(Problem::NoPhone)
        );
        let bad = Candidate::new(counterparty(Some("12-34"), None, 0));
        assert_eq!(
            decide(&bad, &Found::default()),
            Decision::Skipped(Problem::InvalidPhone)
        );
        let negative = Candidate::new(counterparty(Some("89011231122"), None, -5));
        assert_eq!(
            decide(&negative, &Found::default()),
            Decision::Skipped(Problem::NegativePoints)
        );
        assert_eq!(negative.points_kopecks(), 0);
        let not_ean = Candidate::new(counterparty(Some("89011231122"), Some("A-17"), 3));
        assert_eq!(not_ean.note(), Some(Problem::CardNotEan));
        assert!(!Problem::CardNotEan.blocks());
        assert_eq!(not_ean.points_kopecks(), 300);
    }

    #[test]
    fn filters() {
        let mut cp = counterparty(Some("89011231122"), None, 0);
        cp.tags = vec!["ВИП".into()];
        cp.archived = true;
        assert!(Filters::default().admits(&cp));
        let tags = Filters {
            tags: vec!["вип".into()],
            ..Filters::default()
        };
        assert!(tags.admits(&cp));
        let other = Filters {
            tags: vec!["опт".into()],
            ..Filters::default()
        };
        assert!(!other.admits(&cp));
        let archived = Filters {
            skip_archived: true,
            ..Filters::default()
        };
        assert!(!archived.admits(&cp));
        let card = Filters {
            only_with_card: true,
            ..Filters::default()
        };
        assert!(!card.admits(&cp));
        cp.card = Some(EAN.into());
        assert!(card.admits(&cp));
        let points = Filters {
            only_with_points: true,
            ..Filters::default()
        };
        assert!(!points.admits(&cp));
        cp.points = 1;
        assert!(points.admits(&cp));
    }

    #[test]
    fn credits_go_to_created_customers_unless_chosen() {
        assert_eq!(planned_credit("new", 14_000, false), 14_000);
        assert_eq!(planned_credit("existing_phone", 14_000, false), 0);
        assert_eq!(planned_credit("existing_card", 14_000, true), 14_000);
        assert_eq!(planned_credit("skipped", 14_000, true), 0);
    }

    #[test]
    fn recovery_trusts_only_what_proves_it() {
        assert_eq!(recover(true, 14_000, Decimal::ZERO), Recovery::NotCredited);
        assert_eq!(
            recover(true, 14_000, Decimal::new(140, 0)),
            Recovery::Credited
        );
        assert_eq!(
            recover(true, 14_000, Decimal::new(15, 0)),
            Recovery::Uncertain
        );
        assert_eq!(recover(false, 14_000, Decimal::ZERO), Recovery::Uncertain);
    }

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        assert_eq!(
            csv_line(&["a", "b;c", "say \"hi\""]),
            "a;\"b;c\";\"say \"\"hi\"\"\""
        );
        assert_eq!(csv_line(&["=SUM(A1)", "+7901"]), "'=SUM(A1);'+7901");
        assert_eq!(Problem::CardTaken.as_ref(), "card_taken");
        assert_eq!(
            "duplicate_phone".parse::<Problem>(),
            Ok(Problem::DuplicatePhone)
        );
    }

    proptest! {
        /// Whatever BonusPlus answers, a new or phone-matched customer keeps the counterparty's
        /// own phone, a card match never overrides a known phone, and a skipped one names why.
        #[test]
        fn decisions_keep_their_phone(
            raw in proptest::option::of("[0-9+() -]{0,16}"),
            by_phone in any::<bool>(),
            holder in proptest::option::of(0u64..10),
            points in -3i64..1_000_000,
        ) {
            let c = Candidate::new(counterparty(raw.as_deref(), Some(EAN), points));
            let found = Found {
                by_phone,
                card_holder: holder.map(|n| phone(&format!("7901000000{n}"))),
            };
            match decide(&c, &found) {
                Decision::New(p) | Decision::ExistingByPhone(p) => {
                    prop_assert_eq!(Ok(p), c.phone.clone());
                }
                Decision::ExistingByCard(p) => {
                    prop_assert!(c.phone.is_err());
                    prop_assert_eq!(Some(p), found.card_holder.clone());
                }
                Decision::Skipped(problem) => prop_assert!(problem.blocks()),
            }
            prop_assert_eq!(c.points_kopecks(), points.max(0) * 100);
        }

        /// A line has as many cells as fields, whatever the text.
        #[test]
        fn csv_cells_survive(fields in proptest::collection::vec("[a-z;\"=\n ]{0,8}", 1..6)) {
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let line = csv_line(&refs);
            let mut cells = 0;
            let mut quoted = false;
            for ch in line.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ';' if !quoted => cells += 1,
                    _ => {}
                }
            }
            prop_assert_eq!(cells + 1, fields.len());
        }
    }
}
