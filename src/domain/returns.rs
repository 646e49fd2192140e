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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// MoySklad's id of the sale a return names: `demand.meta.id`, else the id at the end of
/// `demand.meta.href` (`…/entity/retaildemand/<id>`, query and fragment ignored); `None` when
/// neither names one.
pub fn demand_sale_id<'a>(id: Option<&'a str>, href: Option<&'a str>) -> Option<&'a str> {
    let id = id.map(str::trim).filter(|id| !id.is_empty());
    id.or_else(|| {
        let path = href?.split(['?', '#']).next()?;
        let last = path.trim().trim_end_matches('/').rsplit('/').next()?;
        // A bare collection or host ("…/retaildemand", "https:") names no sale.
        (!last.is_empty() && !last.ends_with(':') && last != "retaildemand").then_some(last)
    })
}

/// A booked sale a return might be of: its lines and what earlier returns took of them
/// (ext → (quantity, sum)).
#[derive(Debug, Clone, Copy)]
pub struct CandidateSale<'a> {
    pub lines: &'a [SoldLine],
    pub already: &'a HashMap<String, (Decimal, Decimal)>,
}

/// The first of `candidates` (most recent first) that contains every returned position: the
/// same product at the same price, with enough quantity not returned yet (positions of the same
/// product and price add up). `None` when none does, or nothing is returned.
pub fn pick_sale(candidates: &[CandidateSale<'_>], returned: &[ReturnedPosition]) -> Option<usize> {
    if returned.is_empty() {
        return None;
    }
    candidates
        .iter()
        .position(|candidate| covers(candidate, returned))
}

/// Whether `candidate` has, of every (product, price) returned, at least the quantity returned.
fn covers(candidate: &CandidateSale<'_>, returned: &[ReturnedPosition]) -> bool {
    let mut left: HashMap<(&str, Decimal), Decimal> = HashMap::new();
    for line in candidate.lines {
        let taken = candidate
            .already
            .get(&line.ext)
            .map_or(Decimal::ZERO, |(quantity, _)| *quantity);
        *left
            .entry((line.product.as_str(), line.price.normalize()))
            .or_default() += (line.quantity - taken).max(Decimal::ZERO);
    }
    returned.iter().all(|position| {
        let key = (position.product.as_str(), position.price.normalize());
        match left.get_mut(&key) {
            Some(quantity) if *quantity >= position.quantity => {
                *quantity -= position.quantity;
                true
            }
            _ => false,
        }
    })
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

    #[test]
    fn the_sale_is_named_by_id_then_by_href() {
        let href = "https://api.moysklad.ru/api/remap/1.2/entity/retaildemand/5a1e-1?expand=agent";
        assert_eq!(demand_sale_id(Some(" s-1 "), Some(href)), Some("s-1"));
        assert_eq!(demand_sale_id(Some(""), Some(href)), Some("5a1e-1"));
        assert_eq!(
            demand_sale_id(None, Some("https://x/entity/retaildemand/abc/")),
            Some("abc")
        );
        assert_eq!(demand_sale_id(Some(""), Some("")), None);
        assert_eq!(
            demand_sale_id(None, Some("https://x/entity/retaildemand")),
            None
        );
        assert_eq!(demand_sale_id(None, Some("https:")), None);
        assert_eq!(demand_sale_id(None, None), None);
    }

    fn returned(product: &str, price: Decimal, quantity: Decimal) -> ReturnedPosition {
        ReturnedPosition {
            product: product.into(),
            price,
            quantity,
        }
    }

    #[test]
    fn the_most_recent_sale_that_holds_the_goods_is_picked() {
        let newest = vec![SoldLine {
            ext: "n:0".into(),
            product: "milk".into(),
            price: dec!(95.00),
            quantity: dec!(1),
            sum: dec!(95.00),
        }];
        let older = sold();
        let none = HashMap::new();
        let candidates = [
            CandidateSale {
                lines: &newest,
                already: &none,
            },
            CandidateSale {
                lines: &older,
                already: &none,
            },
        ];
        // Milk at 89.90: only the older sale had it at that price.
        assert_eq!(
            pick_sale(&candidates, &[returned("milk", dec!(89.9), dec!(2))]),
            Some(1)
        );
        assert_eq!(
            pick_sale(&candidates, &[returned("milk", dec!(95), dec!(1))]),
            Some(0)
        );
        // More than was sold, another price, another product: no sale.
        assert_eq!(
            pick_sale(&candidates, &[returned("milk", dec!(89.90), dec!(4))]),
            None
        );
        assert_eq!(
            pick_sale(&candidates, &[returned("milk", dec!(50), dec!(1))]),
            None
        );
        assert_eq!(pick_sale(&candidates, &[]), None);
        // Two positions of one product and price add up.
        let split = [
            returned("milk", dec!(89.90), dec!(2)),
            returned("milk", dec!(89.90), dec!(2)),
        ];
        assert_eq!(pick_sale(&candidates, &split), None);
        // What earlier returns took is not there any more.
        let taken = HashMap::from([("s:0".to_owned(), (dec!(2), dec!(179.80)))]);
        let candidates = [CandidateSale {
            lines: &older,
            already: &taken,
        }];
        assert_eq!(
            pick_sale(&candidates, &[returned("milk", dec!(89.90), dec!(2))]),
            None
        );
        assert_eq!(
            pick_sale(&candidates, &[returned("milk", dec!(89.90), dec!(1))]),
            Some(0)
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const PRODUCTS: [&str; 3] = ["a", "b", "c"];

        /// A sale of up to 5 lines: product, price in kopecks (one of few, so prices repeat),
        /// quantity in thousandths; and how much of each line earlier returns took.
        fn sale() -> impl Strategy<Value = (Vec<SoldLine>, HashMap<String, (Decimal, Decimal)>)> {
            prop::collection::vec((0usize..3, 0usize..3, 1i64..5_000, 0u32..=100), 1..5).prop_map(
                |lines| {
                    let mut already = HashMap::new();
                    let sold = lines
                        .iter()
                        .enumerate()
                        .map(|(index, (product, price, millis, taken_percent))| {
                            let price = Decimal::new([9990, 10000, 25050][*price], 2);
                            let quantity = Decimal::new(*millis, 3);
                            let ext = format!("x:{index}");
                            let taken =
                                (quantity * Decimal::from(*taken_percent) / dec!(100)).round_dp(3);
                            already.insert(ext.clone(), (taken, (taken * price).round_dp(2)));
                            SoldLine {
                                ext,
                                product: PRODUCTS[*product].into(),
                                price,
                                quantity,
                                sum: (price * quantity).round_dp(2),
                            }
                        })
                        .collect();
                    (sold, already)
                },
            )
        }

        fn positions() -> impl Strategy<Value = Vec<ReturnedPosition>> {
            prop::collection::vec((0usize..3, 0usize..3, 1i64..3_000), 1..4).prop_map(|positions| {
                positions
                    .into_iter()
                    .map(|(product, price, millis)| ReturnedPosition {
                        product: PRODUCTS[product].into(),
                        price: Decimal::new([9990, 10000, 25050][price], 2),
                        quantity: Decimal::new(millis, 3),
                    })
                    .collect()
            })
        }

        proptest! {
            /// A picked sale takes the whole return: planned against it, nothing is unmatched and
            /// the parts add up to the quantities returned. No sale before it would have done.
            #[test]
            fn a_picked_sale_takes_the_whole_return(sales in prop::collection::vec(sale(), 1..4), returned in positions()) {
                let candidates: Vec<CandidateSale> = sales
                    .iter()
                    .map(|(lines, already)| CandidateSale { lines, already })
                    .collect();
                match pick_sale(&candidates, &returned) {
                    Some(index) => {
                        let (lines, already) = &sales[index];
                        let plan = plan_return(lines, already, &returned);
                        prop_assert!(plan.unmatched.is_empty(), "{:?}", plan);
                        let parts: Decimal = plan.parts.iter().map(|p| p.quantity).sum();
                        let wanted: Decimal = returned.iter().map(|p| p.quantity).sum();
                        prop_assert_eq!(parts, wanted);
                        for earlier in &candidates[..index] {
                            prop_assert!(!covers(earlier, &returned));
                        }
                    }
                    None => {
                        for candidate in &candidates {
                            prop_assert!(!covers(candidate, &returned));
                        }
                    }
                }
            }

            /// A sale that sold exactly what comes back, untouched, is always found.
            #[test]
            fn the_sale_of_exactly_the_returned_goods_is_found(returned in positions()) {
                let lines: Vec<SoldLine> = returned
                    .iter()
                    .enumerate()
                    .map(|(index, position)| SoldLine {
                        ext: format!("s:{index}"),
                        product: position.product.clone(),
                        price: position.price,
                        quantity: position.quantity,
                        sum: (position.price * position.quantity).round_dp(2),
                    })
                    .collect();
                let none = HashMap::new();
                let candidates = [CandidateSale { lines: &lines, already: &none }];
                prop_assert_eq!(pick_sale(&candidates, &returned), Some(0));
            }
        }
    }
}
