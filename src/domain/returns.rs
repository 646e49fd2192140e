//! Which sold lines a return gives back, and for how much: MoySklad sends the returned positions
//! (product, price, quantity); BonusPlus reverses per sold line (`ext`) by the sum returned, in the
//! same terms as the sold line's `sum` (before discounts).
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// A line as it was booked with BonusPlus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoldLine {
    pub ext: String,
    pub product: String,
    pub price: Decimal,
    pub quantity: Decimal,
    /// Line sum before discounts, as sent to BonusPlus.
    pub sum: Decimal,
}

/// A position of a return, as MoySklad sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedPosition {
    pub product: String,
    pub price: Decimal,
    pub quantity: Decimal,
}

/// A part of a sold line to reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnPart {
    pub ext: String,
    pub quantity: Decimal,
    pub sum: Decimal,
}

/// The outcome: what to reverse, and the positions (by index) that matched nothing left to return.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnPlan {
    pub parts: Vec<ReturnPart>,
    pub unmatched: Vec<usize>,
}

/// Allocates `returned` positions to `sold` lines, given what earlier returns already took
/// (`already`: ext → (quantity, sum)). Lines of the same product at the returned price are used
/// first, then other lines of the product. The last part of a line takes exactly the sum left, so
/// repeated partial returns never drift from the line's sum.
pub fn plan_return(
    sold: &[SoldLine],
    already: &HashMap<String, (Decimal, Decimal)>,
    returned: &[ReturnedPosition],
) -> ReturnPlan {
    let mut left: Vec<(Decimal, Decimal)> = sold
        .iter()
        .map(|line| {
            let (qty, sum) = already.get(&line.ext).copied().unwrap_or_default();
            (
                (line.quantity - qty).max(Decimal::ZERO),
                (line.sum - sum).max(Decimal::ZERO),
            )
        })
        .collect();
    let mut plan = ReturnPlan::default();
    for (index, position) in returned.iter().enumerate() {
        let mut wanted = position.quantity;
        for line_index in candidate_lines(sold, position) {
            if wanted <= Decimal::ZERO {
                break;
            }
            let (qty_left, sum_left) = left[line_index];
            if qty_left <= Decimal::ZERO {
                continue;
            }
            let take = wanted.min(qty_left);
            let line = &sold[line_index];
            let sum = if take == qty_left {
                sum_left
            } else {
                (take * line.price)
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
                    .min(sum_left)
            };
            left[line_index] = (qty_left - take, sum_left - sum);
            wanted -= take;
            plan.parts.push(ReturnPart {
                ext: line.ext.clone(),
                quantity: take,
                sum,
            });
        }
        if wanted > Decimal::ZERO {
            plan.unmatched.push(index);
        }
    }
    plan
}

/// Indices of sold lines of the position's product: same price first.
fn candidate_lines(sold: &[SoldLine], position: &ReturnedPosition) -> Vec<usize> {
    let (mut same_price, mut others): (Vec<usize>, Vec<usize>) = sold
        .iter()
        .enumerate()
        .filter(|(_, line)| line.product == position.product)
        .map(|(i, _)| i)
        .partition(|&i| sold[i].price == position.price);
    same_price.append(&mut others);
    same_price
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn sold() -> Vec<SoldLine> {
        vec![
            SoldLine {
                ext: "s:0".into(),
                product: "milk".into(),
                price: dec!(89.90),
                quantity: dec!(3),
                sum: dec!(269.70),
            },
            SoldLine {
                ext: "s:1".into(),
                product: "cheese".into(),
                price: dec!(100.00),
                quantity: dec!(1),
                sum: dec!(100.00),
            },
        ]
    }

    #[test]
    fn partial_then_rest_adds_up_to_the_line_sum() {
        let first = plan_return(
            &sold(),
            &HashMap::new(),
            &[ReturnedPosition {
                product: "milk".into(),
                price: dec!(89.90),
                quantity: dec!(1),
            }],
        );
        assert_eq!(
            first.parts,
            vec![ReturnPart {
                ext: "s:0".into(),
                quantity: dec!(1),
                sum: dec!(89.90)
            }]
        );
        let already = HashMap::from([("s:0".to_owned(), (dec!(1), dec!(89.90)))]);
        let rest = plan_return(
            &sold(),
            &already,
            &[ReturnedPosition {
                product: "milk".into(),
                price: dec!(89.90),
                quantity: dec!(5),
            }],
        );
        assert_eq!(
            rest.parts,
            vec![ReturnPart {
                ext: "s:0".into(),
                quantity: dec!(2),
                sum: dec!(179.80)
            }]
        );
        assert_eq!(
            rest.unmatched,
            vec![0],
            "more than sold is reported, not booked"
        );
    }

    #[test]
    fn unknown_products_are_unmatched() {
        let plan = plan_return(
            &sold(),
            &HashMap::new(),
            &[ReturnedPosition {
                product: "bread".into(),
                price: dec!(1),
                quantity: dec!(1),
            }],
        );
        assert!(plan.parts.is_empty());
        assert_eq!(plan.unmatched, vec![0]);
    }

    #[test]
    fn a_returned_price_other_than_the_sold_one_still_matches_the_product() {
        let plan = plan_return(
            &sold(),
            &HashMap::new(),
            &[ReturnedPosition {
                product: "cheese".into(),
                price: dec!(90.00),
                quantity: dec!(1),
            }],
        );
        assert_eq!(plan.parts[0].sum, dec!(100.00));
    }
}
