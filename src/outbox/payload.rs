//! What a recorded sale or return carries — [`Payload`], one enum for every record the outbox
//! keeps — and how the store keeps it (JSON text in the `payload` column, read back by kind and
//! state). Must not depend on anything above storage; the shapes are unchanged from the first
//! recorded operation, so rows written by any earlier version read back as before.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::customers::TillCustomer;
use crate::domain::phone::Phone;
use crate::domain::returns::{ReturnPart, ReturnedPosition, SoldLine};
use crate::store::{OperationKind, OperationPayload, OperationState, StoreError};

/// A recorded sale or return as the outbox reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A sale to book with `POST retail`.
    Sale(Box<SalePayload>),
    /// A return to reverse with `PUT retail/back`, part by part.
    Return(ReturnPayload),
    /// A return whose sale was not found, waiting for an administrator to match it (or close it).
    ReturnAwaitingSale(UnmatchedReturn),
    /// Nothing to send: an anonymous sale, a return of a sale BonusPlus never had (stored as `{}`).
    Nothing,
    /// A stored payload that no longer reads: delivering it is parked as corrupt, the page shows
    /// the operation without its lines. Never written back.
    Unreadable(String),
}

/// What a sale operation sends to BonusPlus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalePayload {
    /// The BonusPlus customer's phone, when known as the sale was recorded (sales recorded before
    /// the delivery resolved customers always carry it); otherwise `customer` is resolved.
    #[serde(default)]
    pub phone: Option<Phone>,
    pub store: String,
    pub retail_store_id: String,
    pub bonus_debit: Decimal,
    pub lines: Vec<SoldLine>,
    /// Who the customer is, as the sale named them; resolved (and registered) by the delivery.
    #[serde(default)]
    pub customer: TillCustomer,
    /// The sale's number and moment as MoySklad sent them (shown on the settings page).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub moment: Option<String>,
    /// Gift certificates that paid part of the sale (sales recorded before certificates were
    /// supported have none).
    #[serde(default)]
    pub gift_cards: Vec<CertificatePayment>,
    /// The bonuses the sale earns as the till reported them (`bonusProgram.bonusValueToEarn`, our
    /// recalculation's answer from BonusPlus's `retail/calc`), roubles. `POST retail`'s answer
    /// carries no earned amount, so the shop's activity counts this once the sale is booked.
    #[serde(default)]
    pub bonus_earn: Decimal,
}

/// A gift certificate paying part of a sale: its BonusPlus GUID and the roubles taken from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatePayment {
    pub id: uuid::Uuid,
    pub roubles: Decimal,
}

/// What a return operation reverses in BonusPlus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnPayload {
    /// The sale's customer, when known.
    #[serde(default)]
    pub phone: Option<Phone>,
    pub parts: Vec<ReturnPart>,
    /// Returned positions that matched nothing left of the sale (reported, not booked).
    #[serde(default)]
    pub unmatched: Vec<usize>,
    /// The return's number and moment as MoySklad sent them (shown on the settings page).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub moment: Option<String>,
}

/// A return whose sale was not found, as kept for an administrator: what the page shows and
/// what a match reverses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedReturn {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub moment: Option<String>,
    pub retail_store_id: String,
    #[serde(default)]
    pub counterparty_id: Option<String>,
    pub positions: Vec<ReturnedPosition>,
    /// Σ price × quantity of the positions, roubles.
    pub sum: Decimal,
}

/// How each kind of record is stored: a return waiting for its sale (and one closed without it)
/// keeps the unmatched return; any other return the reversal; a sale the sale. `{}` (nothing to
/// send) reads as [`Payload::Nothing`] in every state.
impl OperationPayload for Payload {
    fn to_stored(&self) -> Result<String, StoreError> {
        let text = match self {
            Payload::Sale(sale) => serde_json::to_string(sale),
            Payload::Return(returned) => serde_json::to_string(returned),
            Payload::ReturnAwaitingSale(unmatched) => serde_json::to_string(unmatched),
            Payload::Nothing => return Ok("{}".to_owned()),
            Payload::Unreadable(_) => {
                return Err(StoreError::Corrupt(
                    "an unreadable payload is never written back".into(),
                ))
            }
        };
        text.map_err(|error| StoreError::Corrupt(format!("payload: {error}")))
    }

    fn from_stored(kind: OperationKind, state: OperationState, text: &str) -> Payload {
        if text.trim() == "{}" {
            return Payload::Nothing;
        }
        let read = match (kind, state) {
            (OperationKind::Sale, _) => {
                serde_json::from_str(text).map(|sale| Payload::Sale(Box::new(sale)))
            }
            (OperationKind::Return, OperationState::NeedsAttention) => {
                serde_json::from_str(text).map(Payload::ReturnAwaitingSale)
            }
            // A closed return keeps what was waiting for its sale; a reversed one its plan.
            (OperationKind::Return, _) => serde_json::from_str(text)
                .map(Payload::Return)
                .or_else(|_| serde_json::from_str(text).map(Payload::ReturnAwaitingSale)),
        };
        read.unwrap_or_else(|error| Payload::Unreadable(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn sale() -> SalePayload {
        SalePayload {
            phone: Some(Phone::parse("79011231122").unwrap()),
            store: "Магазин".into(),
            retail_store_id: "rs-1".into(),
            bonus_debit: dec!(10.50),
            lines: vec![SoldLine {
                ext: "op:0".into(),
                product: "p1".into(),
                price: dec!(100.00),
                quantity: dec!(1.5),
                sum: dec!(150.00),
            }],
            customer: TillCustomer::default(),
            name: Some("00077".into()),
            moment: None,
            gift_cards: Vec::new(),
            bonus_earn: dec!(7.50),
        }
    }

    fn unmatched() -> UnmatchedReturn {
        UnmatchedReturn {
            retail_store_id: "rs-1".into(),
            positions: vec![ReturnedPosition {
                product: "p1".into(),
                price: dec!(100.00),
                quantity: dec!(1),
            }],
            sum: dec!(100.00),
            ..UnmatchedReturn::default()
        }
    }

    fn round_trip(kind: OperationKind, state: OperationState, payload: Payload) -> Payload {
        Payload::from_stored(kind, state, &payload.to_stored().unwrap())
    }

    #[test]
    fn every_record_reads_back_as_written() {
        use OperationKind::{Return, Sale};
        use OperationState::{Delivered, NeedsAttention, NothingToDo, Pending};
        let sale = Payload::Sale(Box::new(sale()));
        assert_eq!(round_trip(Sale, Pending, sale.clone()), sale);
        let returned = Payload::Return(ReturnPayload {
            phone: None,
            parts: vec![ReturnPart {
                ext: "op:0".into(),
                quantity: dec!(1),
                sum: dec!(100.00),
            }],
            unmatched: vec![1],
            name: None,
            moment: None,
        });
        assert_eq!(round_trip(Return, Delivered, returned.clone()), returned);
        let waiting = Payload::ReturnAwaitingSale(unmatched());
        assert_eq!(round_trip(Return, NeedsAttention, waiting.clone()), waiting);
        // Closed without a sale: still the return that waited.
        assert_eq!(round_trip(Return, NothingToDo, waiting.clone()), waiting);
        assert_eq!(
            round_trip(Sale, NothingToDo, Payload::Nothing),
            Payload::Nothing
        );
    }

    #[test]
    fn rows_of_earlier_versions_read() {
        // A sale recorded before customers were resolved by the delivery: the phone, no customer.
        let old = r#"{"phone":"79011231122","store":"S","retail_store_id":"rs","bonus_debit":"0",
                      "lines":[]}"#;
        let Payload::Sale(sale) =
            Payload::from_stored(OperationKind::Sale, OperationState::Delivered, old)
        else {
            panic!("an old sale reads");
        };
        assert_eq!(sale.customer, TillCustomer::default());
        assert_eq!(sale.gift_cards, Vec::new());
    }

    #[test]
    fn a_payload_that_no_longer_reads_is_kept_apart_and_never_written() {
        let read = Payload::from_stored(OperationKind::Sale, OperationState::Pending, "[1, 2]");
        assert!(matches!(read, Payload::Unreadable(_)), "{read:?}");
        assert!(read.to_stored().is_err());
    }
}
