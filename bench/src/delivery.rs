//! When the sales answered to the till reached BonusPlus. The emulator reports every sale it books
//! with the moment it booked it; a till's sale is recognised by its visit's marker product (the last
//! line's `product`, which the app passes on unchanged), since the app's own ids are not the till's.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bonusplus_emulator::BookedSale;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::traffic::AnsweredSale;

/// How long to wait, after the last visit ended, for sales still on their way to BonusPlus.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// Booked minus answered, per sale.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Sales the app answered with success.
    pub answered: usize,
    /// Microseconds from the till's answer to the booking, of the sales seen booked, ascending
    /// (negative: booked before the till had its answer, as when the sale is delivered inline).
    pub delays: Vec<i64>,
}

impl Delivery {
    /// Nearest-rank percentile over every answered sale, in ms; `None` when it falls on a sale not
    /// seen booked within [`PATIENCE`] (those count as later than any).
    pub fn percentile_ms(&self, percentile: f64) -> Option<f64> {
        if self.answered == 0 {
            return None;
        }
        let rank = (percentile / 100.0 * self.answered as f64).ceil() as usize;
        let at = rank.clamp(1, self.answered) - 1;
        self.delays.get(at).map(|&micros| micros as f64 / 1000.0)
    }
}

/// Matches the bookings reported on `booked` with the sales answered, waiting up to [`PATIENCE`]
/// for the ones not booked yet.
pub async fn collect(
    answered: &[AnsweredSale],
    booked: &mut UnboundedReceiver<BookedSale>,
) -> Delivery {
    let mut waiting: HashMap<&str, Instant> = answered
        .iter()
        .map(|sale| (sale.marker.as_str(), sale.at))
        .collect();
    let mut delays = Vec::with_capacity(waiting.len());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !waiting.is_empty() {
        let Ok(Some(sale)) = tokio::time::timeout_at(deadline, booked.recv()).await else {
            break;
        };
        for product in sale.products.iter().flatten() {
            if let Some(answered_at) = waiting.remove(product.as_str()) {
                delays.push(signed_micros(sale.at, answered_at));
            }
        }
    }
    delays.sort_unstable();
    Delivery {
        answered: answered.len(),
        delays,
    }
}

/// `later − earlier` in microseconds, negative when `later` came first.
fn signed_micros(later: Instant, earlier: Instant) -> i64 {
    let micros = |d: Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    match later.checked_duration_since(earlier) {
        Some(after) => micros(after),
        None => -micros(earlier.duration_since(later)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booked(product: &str, at: Instant) -> BookedSale {
        BookedSale {
            at,
            id: 1,
            external_id: "op".into(),
            phone: "79011000000".into(),
            products: vec![Some("other".into()), Some(product.into())],
        }
    }

    fn answered(marker: &str, at: Instant) -> AnsweredSale {
        AnsweredSale {
            marker: marker.into(),
            at,
        }
    }

    #[tokio::test]
    async fn bookings_before_and_after_the_answer_are_matched_by_marker() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let sales = [
            answered("a", t + ms(10)),
            answered("b", t + ms(10)),
            answered("c", t + ms(10)),
        ];
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        sender.send(booked("a", t + ms(8))).unwrap(); // inline: before the answer
        sender.send(booked("unrelated", t + ms(9))).unwrap();
        sender.send(booked("b", t + ms(50))).unwrap(); // in the background
        sender.send(booked("c", t + ms(1010))).unwrap();
        let delivery = collect(&sales, &mut receiver).await;
        assert_eq!(delivery.answered, 3);
        assert_eq!(delivery.delays, vec![-2_000, 40_000, 1_000_000]);
        assert_eq!(delivery.percentile_ms(50.0), Some(40.0));
        assert_eq!(delivery.percentile_ms(99.0), Some(1000.0));
    }

    #[test]
    fn a_sale_never_seen_booked_is_later_than_any() {
        let delivery = Delivery {
            answered: 4,
            delays: vec![1_000, 2_000, 3_000],
        };
        assert_eq!(delivery.percentile_ms(75.0), Some(3.0));
        assert_eq!(delivery.percentile_ms(99.0), None);
        assert_eq!(Delivery::default().percentile_ms(50.0), None);
    }
}
