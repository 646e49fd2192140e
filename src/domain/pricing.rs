//! Exact receipt arithmetic: turning per-line discounts (roubles) into the per-unit
//! `discountedPrice` / `discountPercent` that MoySklad's `/retaildemand/recalc` answer needs.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).
//!
//! Pure functions, no I/O. All arithmetic is done on integers (kopecks, thousandths of a unit) in
//! `i128`; inputs are bounded so that nothing can overflow, and the remaining sums are checked.
//!
//! # Conventions
//! * Prices and discounts are roubles with at most 2 decimals, quantities have at most 3 decimals.
//!   More precise prices or quantities are refused rather than rounded, because rounding them would
//!   silently change the receipt total. Prices and quantities above 10⁹ are refused. Discounts are
//!   floored to the kopeck (the sub-kopeck rest is reported as not applied).
//! * A line's sum is `round_half_up(price × quantity, 2)`; the receipt total is the sum of line sums.
//! * A priced line's paid total is `round_half_up(discountedPrice × quantity, 2)`.
//! * **Invariant:** Σ paid totals = receipt total − Σ *applied* discounts, to the kopeck. No unit price
//!   is negative or above the original price, so every `discountPercent` is within 0–100. Every serial
//!   number is kept exactly once, in order; `extra` (assortment, pack, ...) is copied unchanged to
//!   every part of a line; line order is preserved and the two parts of a split line are adjacent.
//! * A discount larger than the line sum is clamped to the line sum (a free line).
//!
//! # How a line is priced
//! Let `T` be the kopecks the customer must pay for the line (line sum − discount).
//! 1. If one unit price `p` gives exactly `T` (`round_half_up(p × q) = T`), the line stays whole.
//!    For an integer quantity this means `q` divides `T`.
//! 2. Otherwise the line is split in two adjacent parts priced `p` and `p + 1` kopecks, with
//!    `p = floor(T / q)`. For an integer quantity `n` with `r = T − p·n`, the parts are
//!    `(n − r) × p` and `r × (p + 1)`: always exact. For a fractional quantity (weighed goods) the
//!    part at `p + 1` gets `x = T − p·q` units (to the gram). The two unrounded totals then add up
//!    to exactly `T`, so their roundings cancel unless both end in exactly half a kopeck; in that
//!    case a part of `x − 0.001` (or `x + 0.001`) is exact. A fractional quantity below 1 always
//!    has an exact single price (each extra kopeck of unit price adds less than a kopeck), so
//!    weighed lines are always priced exactly (also checked exhaustively in the tests).
//! 3. If the line's serial numbers cannot be spread over the two parts (more serials than whole
//!    units), the line stays whole at the smallest unit price whose total is **at least** `T`. The customer then gets a few kopecks
//!    *less* discount than granted, and [`LineDiscount::applied`] says how much was really given, so
//!    that the caller spends/reports that amount (`bonusValueToSpend`, `paidByBonusPoints`, BonusPlus
//!    `bonusDebit`) and never charges bonuses for a discount the customer did not get.
//!
//! Serial numbers of a split line go to the first part first, each part taking at most as many as
//! its whole units; a line with a serial number for every unit therefore gives each part exactly
//! as many as its quantity.

use rust_decimal::{Decimal, RoundingStrategy};

/// Upper bound for prices and quantities: keeps every intermediate product far inside `i128`.
const LIMIT: i128 = 1_000_000_000;
const MILLIS_PER_UNIT: i128 = 1_000;
/// How far from the ideal size (in thousandths) a fractional split searches for an exact total;
/// one step is enough (see the module documentation).
const FRACTIONAL_SEARCH_RADIUS: i128 = 1;

/// One line of a receipt as MoySklad sent it, with the discount granted on the whole line.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptLine<T, S> {
    /// Unit price, roubles.
    pub price: Decimal,
    pub quantity: Decimal,
    /// Discount granted on the whole line, roubles (BonusPlus `db + ids` [+ `ds`]).
    pub discount: Decimal,
    /// Serial numbers, echoed; spread over the parts if the line is split.
    pub serials: Vec<S>,
    /// Anything to echo unchanged on every part of the line (assortment, pack, ...).
    pub extra: T,
}

/// A line of the answer. A split input line gives two adjacent `PricedLine`s with the same
/// `source_index`.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine<T, S> {
    pub price: Decimal,
    pub quantity: Decimal,
    /// Per unit, 2 decimals, `0 ≤ discounted_price ≤ price`.
    pub discounted_price: Decimal,
    /// 0–100, 2 decimals (half up), relative to `price`; 0 for a free item.
    pub discount_percent: Decimal,
    pub serials: Vec<S>,
    pub extra: T,
    /// Index of the input line this comes from.
    pub source_index: usize,
}

/// What happened to one input line's discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineDiscount {
    pub source_index: usize,
    /// `round_half_up(price × quantity, 2)`.
    pub line_sum: Decimal,
    /// As asked (not clamped).
    pub granted: Decimal,
    /// Really taken off the line: `line_sum − paid total`; never more than `granted`.
    pub applied: Decimal,
}

impl LineDiscount {
    /// Granted but not given (clamping to the line sum, sub-kopeck rest, inexact weighed line).
    pub fn shortfall(&self) -> Decimal {
        self.granted - self.applied
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedReceipt<T, S> {
    pub lines: Vec<PricedLine<T, S>>,
    /// One per input line, in input order.
    pub discounts: Vec<LineDiscount>,
    /// Σ line sums.
    pub total_before: Decimal,
    /// Σ paid totals of `lines`.
    pub total_after: Decimal,
    /// Σ granted discounts, as asked.
    pub granted_discount: Decimal,
    /// `total_before − total_after`; never more than `granted_discount`.
    pub applied_discount: Decimal,
}

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAmount {
    #[error("{field} {value} must be greater than zero")]
    NotPositive { field: &'static str, value: Decimal },
    #[error("{field} {value} must not be negative")]
    Negative { field: &'static str, value: Decimal },
    #[error("{field} {value} has more than {max_decimals} decimal places")]
    TooPrecise {
        field: &'static str,
        value: Decimal,
        max_decimals: u32,
    },
    #[error("{field} {value} is larger than {LIMIT}")]
    TooLarge { field: &'static str, value: Decimal },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt line {line}: {problem}")]
    InvalidLine { line: usize, problem: InvalidAmount },
    #[error("{0}")]
    Invalid(InvalidAmount),
    #[error("amounts too large to compute exactly")]
    Overflow,
}

/// Prices every line so that the receipt total drops by exactly the applied discounts.
pub fn price_receipt<T: Clone, S>(
    lines: Vec<ReceiptLine<T, S>>,
) -> Result<PricedReceipt<T, S>, ReceiptError> {
    let mut priced = Vec::with_capacity(lines.len());
    let mut discounts = Vec::with_capacity(lines.len());
    let mut totals = Totals::default();
    for (index, line) in lines.into_iter().enumerate() {
        let valid = ValidLine::parse(&line).map_err(|problem| ReceiptError::InvalidLine {
            line: index,
            problem,
        })?;
        let plan = plan_line(&valid, line.serials.len());
        let paid = plan.paid_total();
        totals.add(valid.line_sum, paid, line.discount)?;
        discounts.push(LineDiscount {
            source_index: index,
            line_sum: kopecks_to_decimal(valid.line_sum)?,
            granted: line.discount,
            applied: kopecks_to_decimal(valid.line_sum - paid)?,
        });
        emit_parts(&mut priced, index, &valid, line, &plan)?;
    }
    Ok(PricedReceipt {
        lines: priced,
        discounts,
        total_before: kopecks_to_decimal(totals.before)?,
        total_after: kopecks_to_decimal(totals.after)?,
        granted_discount: totals.granted,
        applied_discount: kopecks_to_decimal(totals.before - totals.after)?,
    })
}

/// `round_half_up(price × quantity, 2)`: the line sum MoySklad and BonusPlus (`sum`) expect.
pub fn line_sum(price: Decimal, quantity: Decimal) -> Result<Decimal, ReceiptError> {
    let price = parse_price(price).map_err(ReceiptError::Invalid)?;
    let quantity = parse_quantity(quantity).map_err(ReceiptError::Invalid)?;
    kopecks_to_decimal(paid_total(price, quantity))
}

/// A price and quantity of a completed sale or return as they will be booked: an operation that
/// already happened in the shop is booked as it happened, so more precision than the receipt
/// arithmetic takes (2 decimals of price, 3 of quantity) is rounded half-up instead of refused.
/// (A recalculation stays strict: there the cashier can still fix the receipt.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked {
    pub price: Decimal,
    pub quantity: Decimal,
    /// Whether either was rounded.
    pub rounded: bool,
}

/// Rounds a completed line's price to kopecks and quantity to thousandths, half-up.
pub fn book_as_happened(price: Decimal, quantity: Decimal) -> Booked {
    let round = |value: Decimal, decimals: u32| {
        value.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
    };
    let (booked_price, booked_quantity) = (round(price, 2), round(quantity, 3));
    Booked {
        price: booked_price,
        quantity: booked_quantity,
        rounded: booked_price != price || booked_quantity != quantity,
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

#[derive(Clone, Copy, PartialEq)]
enum Sign {
    ZeroAllowed,
    PositiveOnly,
}

/// A line reduced to integers: kopecks and thousandths of a unit.
struct ValidLine {
    price: i128,
    quantity: i128,
    line_sum: i128,
    /// Kopecks the customer pays for the whole line if the granted discount is applied exactly.
    target_paid: i128,
}

impl ValidLine {
    fn parse<T, S>(line: &ReceiptLine<T, S>) -> Result<Self, InvalidAmount> {
        let price = parse_price(line.price)?;
        let quantity = parse_quantity(line.quantity)?;
        if line.discount.is_sign_negative() && !line.discount.is_zero() {
            return Err(InvalidAmount::Negative {
                field: "discount",
                value: line.discount,
            });
        }
        let line_sum = paid_total(price, quantity);
        let discount = floor_kopecks_capped(line.discount, line_sum);
        Ok(Self {
            price,
            quantity,
            line_sum,
            target_paid: line_sum - discount,
        })
    }
}

fn parse_price(price: Decimal) -> Result<i128, InvalidAmount> {
    parse_amount("price", price, 2, Sign::ZeroAllowed)
}

fn parse_quantity(quantity: Decimal) -> Result<i128, InvalidAmount> {
    parse_amount("quantity", quantity, 3, Sign::PositiveOnly)
}

/// `value` as an integer count of `10^-decimals`, refusing anything imprecise, negative or huge.
fn parse_amount(
    field: &'static str,
    value: Decimal,
    decimals: u32,
    sign: Sign,
) -> Result<i128, InvalidAmount> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(InvalidAmount::Negative { field, value });
    }
    if sign == Sign::PositiveOnly && value.is_zero() {
        return Err(InvalidAmount::NotPositive { field, value });
    }
    if value > Decimal::from(LIMIT) {
        return Err(InvalidAmount::TooLarge { field, value });
    }
    fixed_point(value, decimals).ok_or(InvalidAmount::TooPrecise {
        field,
        value,
        max_decimals: decimals,
    })
}

/// `value × 10^decimals` if that is a whole number (trailing zeros do not count as decimals).
fn fixed_point(value: Decimal, decimals: u32) -> Option<i128> {
    let normal = value.normalize();
    let missing_decimals = decimals.checked_sub(normal.scale())?;
    normal
        .mantissa()
        .checked_mul(10i128.checked_pow(missing_decimals)?)
}

/// The discount in whole kopecks, at most `cap`. Comparing before converting keeps huge discounts
/// from overflowing; flooring never grants more than asked.
fn floor_kopecks_capped(discount: Decimal, cap: i128) -> i128 {
    let cap_decimal = Decimal::try_from_i128_with_scale(cap, 2).unwrap_or(Decimal::MAX);
    if discount >= cap_decimal {
        return cap;
    }
    let kopecks = (discount * Decimal::ONE_HUNDRED).floor();
    fixed_point(kopecks, 0).unwrap_or(0).clamp(0, cap)
}

// ---------------------------------------------------------------------------------------------
// Pricing one line

/// `quantity` thousandths of a unit at `unit_price` kopecks each.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Part {
    quantity: i128,
    unit_price: i128,
}

impl Part {
    fn paid_total(&self) -> i128 {
        paid_total(self.unit_price, self.quantity)
    }
}

/// One part (the line stays whole) or two (split).
struct LinePlan {
    parts: Vec<Part>,
}

impl LinePlan {
    fn paid_total(&self) -> i128 {
        self.parts.iter().map(Part::paid_total).sum()
    }
}

/// `round_half_up(unit_price × quantity / 1000)`, in kopecks. Bounded inputs (≤ 10¹¹ × 10¹²) keep
/// this far below `i128::MAX`.
fn paid_total(unit_price: i128, quantity: i128) -> i128 {
    (unit_price * quantity + MILLIS_PER_UNIT / 2) / MILLIS_PER_UNIT
}

fn plan_line(line: &ValidLine, serial_count: usize) -> LinePlan {
    let whole = Part {
        quantity: line.quantity,
        unit_price: cheapest_price_paying_at_least(line.target_paid, line.quantity).min(line.price),
    };
    if whole.paid_total() == line.target_paid {
        return LinePlan { parts: vec![whole] };
    }
    match split_exactly(line, serial_count) {
        Some(parts) => LinePlan {
            parts: parts.to_vec(),
        },
        None => LinePlan { parts: vec![whole] },
    }
}

/// The smallest unit price whose paid total reaches `target`:
/// `round_half_up(p·q/1000) ≥ T  ⇔  p ≥ (1000·T − 500) / q`.
fn cheapest_price_paying_at_least(target: i128, quantity: i128) -> i128 {
    let numerator = target * MILLIS_PER_UNIT - MILLIS_PER_UNIT / 2;
    if numerator <= 0 {
        return 0;
    }
    (numerator + quantity - 1) / quantity
}

/// Two adjacent parts at `p` and `p + 1` kopecks whose paid totals add up to the target, if any.
fn split_exactly(line: &ValidLine, serial_count: usize) -> Option<[Part; 2]> {
    let lower_price = line.target_paid * MILLIS_PER_UNIT / line.quantity;
    let upper_price = lower_price + 1;
    if upper_price > line.price {
        return None;
    }
    // Units at the higher price that make the unrounded total exactly the target.
    let ideal_upper_quantity = line.target_paid * MILLIS_PER_UNIT - lower_price * line.quantity;
    candidate_sizes(line.quantity, ideal_upper_quantity)
        .map(|upper_quantity| {
            [
                Part {
                    quantity: line.quantity - upper_quantity,
                    unit_price: lower_price,
                },
                Part {
                    quantity: upper_quantity,
                    unit_price: upper_price,
                },
            ]
        })
        .find(|parts| {
            parts.iter().map(Part::paid_total).sum::<i128>() == line.target_paid
                && serial_capacity(parts) >= serial_count
        })
}

/// Sizes (thousandths) to try for the part at the higher price, best first. Piece goods split
/// only into whole units; weighed goods may try sizes near the ideal one.
fn candidate_sizes(quantity: i128, ideal: i128) -> impl Iterator<Item = i128> {
    let radius = if quantity % MILLIS_PER_UNIT == 0 {
        0
    } else {
        FRACTIONAL_SEARCH_RADIUS
    };
    (0..=radius)
        .flat_map(move |distance| [ideal - distance, ideal + distance])
        .filter(move |&size| size > 0 && size < quantity)
}

/// How many serial numbers the parts can carry: one per whole unit of each part.
fn serial_capacity(parts: &[Part]) -> usize {
    let whole_units: i128 = parts
        .iter()
        .map(|part| part.quantity / MILLIS_PER_UNIT)
        .sum();
    usize::try_from(whole_units).unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------------------------------------
// Building the answer

fn emit_parts<T: Clone, S>(
    out: &mut Vec<PricedLine<T, S>>,
    source_index: usize,
    valid: &ValidLine,
    line: ReceiptLine<T, S>,
    plan: &LinePlan,
) -> Result<(), ReceiptError> {
    let ReceiptLine {
        price,
        quantity,
        serials,
        extra,
        ..
    } = line;
    let mut serials = serials.into_iter();
    let last = plan.parts.len().saturating_sub(1);
    for (position, part) in plan.parts.iter().enumerate() {
        let part_serials: Vec<S> = if position == last {
            serials.by_ref().collect()
        } else {
            let whole_units = usize::try_from(part.quantity / MILLIS_PER_UNIT).unwrap_or(0);
            serials.by_ref().take(whole_units).collect()
        };
        out.push(PricedLine {
            price,
            // A line that stays whole echoes its quantity exactly as sent.
            quantity: if plan.parts.len() == 1 {
                quantity
            } else {
                millis_to_decimal(part.quantity)?
            },
            discounted_price: kopecks_to_decimal(part.unit_price)?,
            discount_percent: discount_percent(valid.price, part.unit_price)?,
            serials: part_serials,
            extra: extra.clone(),
            source_index,
        });
    }
    Ok(())
}

/// `(price − discounted) / price × 100`, 2 decimals half up; 0 for a free item.
fn discount_percent(price: i128, discounted: i128) -> Result<Decimal, ReceiptError> {
    if price == 0 {
        return Ok(Decimal::new(0, 2));
    }
    let hundredths_of_percent = ((price - discounted) * 20_000 + price) / (2 * price);
    Decimal::try_from_i128_with_scale(hundredths_of_percent, 2).map_err(|_| ReceiptError::Overflow)
}

fn kopecks_to_decimal(kopecks: i128) -> Result<Decimal, ReceiptError> {
    Decimal::try_from_i128_with_scale(kopecks, 2).map_err(|_| ReceiptError::Overflow)
}

fn millis_to_decimal(millis: i128) -> Result<Decimal, ReceiptError> {
    Decimal::try_from_i128_with_scale(millis, 3)
        .map(|quantity| quantity.normalize())
        .map_err(|_| ReceiptError::Overflow)
}

#[derive(Default)]
struct Totals {
    before: i128,
    after: i128,
    granted: Decimal,
}

impl Totals {
    fn add(&mut self, line_sum: i128, paid: i128, granted: Decimal) -> Result<(), ReceiptError> {
        self.before = self
            .before
            .checked_add(line_sum)
            .ok_or(ReceiptError::Overflow)?;
        self.after = self.after.checked_add(paid).ok_or(ReceiptError::Overflow)?;
        self.granted = self
            .granted
            .checked_add(granted)
            .ok_or(ReceiptError::Overflow)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(
        price: Decimal,
        quantity: Decimal,
        discount: Decimal,
    ) -> ReceiptLine<&'static str, u32> {
        ReceiptLine {
            price,
            quantity,
            discount,
            serials: vec![],
            extra: "x",
        }
    }

    fn paid(line: &PricedLine<impl Sized, impl Sized>) -> Decimal {
        (line.discounted_price * line.quantity)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    }

    fn summary<T, S>(receipt: &PricedReceipt<T, S>) -> Vec<(Decimal, Decimal, Decimal)> {
        receipt
            .lines
            .iter()
            .map(|line| (line.quantity, line.discounted_price, line.discount_percent))
            .collect()
    }

    #[test]
    fn documented_example_splits_into_two_lines() {
        let receipt = price_receipt(vec![line(dec!(100.00), dec!(3.000), dec!(10.00))]).unwrap();
        assert_eq!(
            summary(&receipt),
            vec![
                (dec!(1), dec!(96.66), dec!(3.34)),
                (dec!(2), dec!(96.67), dec!(3.33))
            ]
        );
        assert_eq!(receipt.total_before, dec!(300.00));
        assert_eq!(receipt.total_after, dec!(290.00));
        assert_eq!(receipt.applied_discount, dec!(10.00));
        assert_eq!(
            receipt.lines.iter().map(paid).sum::<Decimal>(),
            dec!(290.00)
        );
        assert!(receipt
            .lines
            .iter()
            .all(|line| line.source_index == 0 && line.extra == "x"));
    }

    #[test]
    fn zero_discount_keeps_the_line_unchanged() {
        let receipt = price_receipt(vec![line(dec!(123.45), dec!(2.5), dec!(0))]).unwrap();
        assert_eq!(
            summary(&receipt),
            vec![(dec!(2.5), dec!(123.45), dec!(0.00))]
        );
        assert_eq!(receipt.total_before, dec!(308.63)); // 308.625 rounds half up
        assert_eq!(receipt.total_after, dec!(308.63));
        assert_eq!(receipt.applied_discount, dec!(0));
    }

    #[test]
    fn full_and_excessive_discounts_make_the_line_free_and_are_clamped() {
        let receipt = price_receipt(vec![
            line(dec!(50.00), dec!(2), dec!(100.00)),
            line(dec!(10.00), dec!(1), dec!(999999999999)),
        ])
        .unwrap();
        assert_eq!(
            summary(&receipt),
            vec![
                (dec!(2), dec!(0.00), dec!(100.00)),
                (dec!(1), dec!(0.00), dec!(100.00))
            ]
        );
        assert_eq!(receipt.total_after, dec!(0));
        assert_eq!(receipt.discounts[0].applied, dec!(100.00));
        assert_eq!(receipt.discounts[1].applied, dec!(10.00));
        assert_eq!(receipt.discounts[1].shortfall(), dec!(999999999989.00));
    }

    #[test]
    fn free_items_have_zero_percent() {
        let receipt = price_receipt(vec![line(dec!(0), dec!(4), dec!(1.00))]).unwrap();
        assert_eq!(summary(&receipt), vec![(dec!(4), dec!(0.00), dec!(0.00))]);
        assert_eq!(receipt.applied_discount, dec!(0));
    }

    #[test]
    fn divisible_discount_needs_no_split() {
        let receipt = price_receipt(vec![line(dec!(100.00), dec!(3), dec!(30.00))]).unwrap();
        assert_eq!(summary(&receipt), vec![(dec!(3), dec!(90.00), dec!(10.00))]);
    }

    #[test]
    fn fractional_quantity_with_an_exact_price() {
        // 1.5 kg at 100.00 = 150.00; minus 10.00 → 140.00 = round_half_up(93.33 × 1.5 = 139.995).
        let receipt = price_receipt(vec![line(dec!(100.00), dec!(1.500), dec!(10.00))]).unwrap();
        assert_eq!(
            summary(&receipt),
            vec![(dec!(1.500), dec!(93.33), dec!(6.67))]
        );
        assert_eq!(receipt.total_after, dec!(140.00));
        assert_eq!(paid(&receipt.lines[0]), dec!(140.00));
    }

    #[test]
    fn fractional_quantity_without_an_exact_price_is_split_by_weight() {
        // 2.5 kg at 100.00 = 250.00; pay 240.01: p × 2.5 is a multiple of 0.025, no single price fits.
        let receipt = price_receipt(vec![line(dec!(100.00), dec!(2.5), dec!(9.99))]).unwrap();
        assert_eq!(receipt.lines.len(), 2);
        assert_eq!(
            receipt.lines.iter().map(paid).sum::<Decimal>(),
            dec!(240.01)
        );
        assert_eq!(
            receipt
                .lines
                .iter()
                .map(|line| line.quantity)
                .sum::<Decimal>(),
            dec!(2.5)
        );
        assert_eq!(receipt.applied_discount, dec!(9.99));
        let prices: Vec<_> = receipt
            .lines
            .iter()
            .map(|line| line.discounted_price)
            .collect();
        assert_eq!(prices[1] - prices[0], dec!(0.01));
    }

    #[test]
    fn weighed_split_avoids_two_half_kopeck_roundings() {
        // 1.25 kg at 100.00, pay 122.02. The ideal split 0.5 × 97.61 + 0.75 × 97.62 is
        // 48.805 + 73.215, both rounding up to 122.03; one gram less at 97.62 is exact.
        let receipt = price_receipt(vec![line(dec!(100.00), dec!(1.25), dec!(2.98))]).unwrap();
        assert_eq!(
            summary(&receipt),
            vec![
                (dec!(0.501), dec!(97.61), dec!(2.39)),
                (dec!(0.749), dec!(97.62), dec!(2.38))
            ]
        );
        assert_eq!(
            receipt.lines.iter().map(paid).sum::<Decimal>(),
            dec!(122.02)
        );
        assert_eq!(receipt.applied_discount, dec!(2.98));
    }

    #[test]
    fn serials_follow_the_units_of_each_part() {
        let mut input = line(dec!(100.00), dec!(3), dec!(10.00));
        input.serials = vec![1, 2, 3];
        let receipt = price_receipt(vec![input]).unwrap();
        let serials: Vec<_> = receipt
            .lines
            .iter()
            .map(|line| line.serials.clone())
            .collect();
        assert_eq!(serials, vec![vec![1], vec![2, 3]]);
    }

    #[test]
    fn fewer_serials_than_units_fill_the_first_part_first() {
        let mut input = line(dec!(100.00), dec!(5), dec!(0.03));
        input.serials = vec![7, 8];
        let receipt = price_receipt(vec![input]).unwrap();
        // 499.97 = 3 × 99.99 + 2 × 100.00
        assert_eq!(
            summary(&receipt),
            vec![
                (dec!(3), dec!(99.99), dec!(0.01)),
                (dec!(2), dec!(100.00), dec!(0.00))
            ]
        );
        assert_eq!(receipt.lines[0].serials, vec![7, 8]);
        assert!(receipt.lines[1].serials.is_empty());
    }

    #[test]
    fn too_many_serials_keep_the_line_whole_and_report_the_shortfall() {
        let mut input = line(dec!(100.00), dec!(3), dec!(10.00));
        input.serials = vec![1, 2, 3, 4];
        let receipt = price_receipt(vec![input]).unwrap();
        assert_eq!(summary(&receipt), vec![(dec!(3), dec!(96.67), dec!(3.33))]);
        assert_eq!(receipt.lines[0].serials, vec![1, 2, 3, 4]);
        assert_eq!(receipt.applied_discount, dec!(9.99));
        assert_eq!(receipt.discounts[0].shortfall(), dec!(0.01));
    }

    #[test]
    fn sub_kopeck_discount_is_floored() {
        let receipt = price_receipt(vec![line(dec!(10.00), dec!(1), dec!(1.239))]).unwrap();
        assert_eq!(receipt.applied_discount, dec!(1.23));
        assert_eq!(receipt.granted_discount, dec!(1.239));
    }

    #[test]
    fn trailing_zeros_are_not_extra_decimals() {
        assert!(price_receipt(vec![line(dec!(10.0000), dec!(1.500000), dec!(0))]).is_ok());
    }

    #[test]
    fn invalid_lines_are_refused_with_their_index() {
        let cases = [
            (line(dec!(1), dec!(0), dec!(0)), "quantity"),
            (line(dec!(1), dec!(-1), dec!(0)), "quantity"),
            (line(dec!(-0.01), dec!(1), dec!(0)), "price"),
            (line(dec!(1), dec!(1), dec!(-1)), "discount"),
            (line(dec!(1.001), dec!(1), dec!(0)), "price"),
            (line(dec!(1), dec!(1.0001), dec!(0)), "quantity"),
            (line(dec!(1000000000.01), dec!(1), dec!(0)), "price"),
            (line(dec!(1), dec!(1000000001), dec!(0)), "quantity"),
        ];
        for (bad, field) in cases {
            let error = price_receipt(vec![line(dec!(1), dec!(1), dec!(0)), bad]).unwrap_err();
            let ReceiptError::InvalidLine { line: 1, problem } = &error else {
                panic!("unexpected {error:?}");
            };
            assert!(problem.to_string().starts_with(field), "{error}");
        }
    }

    #[test]
    fn largest_allowed_values_do_not_overflow() {
        let huge = dec!(1000000000);
        let receipt = price_receipt(vec![line(huge, huge, dec!(0.01)); 3]).unwrap();
        assert_eq!(receipt.total_before, dec!(3000000000000000000));
        assert_eq!(receipt.applied_discount, dec!(0.03));
    }

    #[test]
    fn empty_receipt_is_empty() {
        let receipt = price_receipt(Vec::<ReceiptLine<(), ()>>::new()).unwrap();
        assert!(receipt.lines.is_empty());
        assert_eq!(receipt.total_before, dec!(0));
    }

    #[test]
    fn line_sum_rounds_half_up_and_validates() {
        assert_eq!(line_sum(dec!(123.45), dec!(2.5)).unwrap(), dec!(308.63));
        assert_eq!(line_sum(dec!(0.01), dec!(0.499)).unwrap(), dec!(0.00));
        assert_eq!(line_sum(dec!(0.01), dec!(0.5)).unwrap(), dec!(0.01));
        assert!(matches!(
            line_sum(dec!(1.111), dec!(1)),
            Err(ReceiptError::Invalid(_))
        ));
    }

    /// Every target of every serial-free line in a grid of prices and weights is met exactly.
    #[test]
    fn weighed_lines_are_always_exact_without_serials() {
        for price in (1i128..=2000).step_by(151) {
            for quantity in 1i128..=3000 {
                let line_sum = paid_total(price, quantity);
                for target_paid in (0..=line_sum).step_by(23).chain([line_sum]) {
                    let line = ValidLine {
                        price,
                        quantity,
                        line_sum,
                        target_paid,
                    };
                    let plan = plan_line(&line, 0);
                    assert_eq!(plan.paid_total(), target_paid, "{price} × {quantity}");
                    assert!(plan.parts.iter().all(|part| part.unit_price <= price));
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Properties

    #[derive(Debug, Clone)]
    struct Generated {
        price: i64,
        quantity_millis: i64,
        discount: i64,
        serials: usize,
    }

    fn generated_line() -> impl Strategy<Value = Generated> {
        let integer = (1i64..=20).prop_map(|units| units * 1000);
        let fractional = 1i64..=20_000;
        (
            0i64..=10_000_000,
            prop_oneof![integer, fractional],
            any::<prop::sample::Index>(),
        )
            .prop_flat_map(|(price, quantity_millis, serial_choice)| {
                let sum = (i128::from(price) * i128::from(quantity_millis) + 500) / 1000;
                let sum = i64::try_from(sum).unwrap();
                let whole_units = usize::try_from(quantity_millis / 1000).unwrap();
                // Half of the lines with serials carry one per unit, the others fewer.
                let serials = if serial_choice.index(2) == 0 {
                    whole_units
                } else {
                    serial_choice.index(whole_units + 1)
                };
                (0..=sum).prop_map(move |discount| Generated {
                    price,
                    quantity_millis,
                    discount,
                    serials,
                })
            })
    }

    fn to_receipt_line(index: usize, generated: &Generated) -> ReceiptLine<usize, (usize, usize)> {
        ReceiptLine {
            price: Decimal::new(generated.price, 2),
            quantity: Decimal::new(generated.quantity_millis, 3),
            discount: Decimal::new(generated.discount, 2),
            serials: (0..generated.serials)
                .map(|serial| (index, serial))
                .collect(),
            extra: index,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn priced_receipts_keep_every_invariant(generated in prop::collection::vec(generated_line(), 1..50)) {
            let input: Vec<_> = generated.iter().enumerate().map(|(i, g)| to_receipt_line(i, g)).collect();
            let receipt = price_receipt(input.clone()).unwrap();

            let total_before: Decimal = input.iter().map(|l| line_sum(l.price, l.quantity).unwrap()).sum();
            let total_paid: Decimal = receipt.lines.iter().map(paid).sum();
            prop_assert_eq!(receipt.total_before, total_before);
            prop_assert_eq!(receipt.total_after, total_paid);
            prop_assert_eq!(total_paid, total_before - receipt.applied_discount);
            prop_assert!(receipt.applied_discount <= receipt.granted_discount);

            for (index, (source, discount)) in input.iter().zip(&receipt.discounts).enumerate() {
                let parts: Vec<_> = receipt.lines.iter().filter(|l| l.source_index == index).collect();
                prop_assert!(!parts.is_empty() && parts.len() <= 2);
                prop_assert_eq!(parts.iter().map(|l| l.quantity).sum::<Decimal>(), source.quantity);
                prop_assert_eq!(parts.iter().map(|l| paid(l)).sum::<Decimal>(), discount.line_sum - discount.applied);
                prop_assert!(discount.applied <= discount.granted);
                if source.quantity.is_integer() || source.serials.is_empty() {
                    prop_assert_eq!(discount.applied, discount.granted);
                } else {
                    // An inexact weighed line misses by less than one unit's worth of kopecks.
                    prop_assert!(discount.shortfall() < source.quantity.ceil() / dec!(100));
                }
                let serial_count: usize = parts.iter().map(|l| l.serials.len()).sum();
                for part in &parts {
                    prop_assert!(Decimal::from(part.serials.len()) <= part.quantity.floor());
                    if serial_count > 0 && Decimal::from(serial_count) == source.quantity {
                        prop_assert_eq!(Decimal::from(part.serials.len()), part.quantity);
                    }
                    prop_assert_eq!(part.extra, index);
                    prop_assert_eq!(part.price, source.price);
                }
            }

            let mut previous_source = 0;
            for line in &receipt.lines {
                prop_assert!(line.source_index >= previous_source);
                previous_source = line.source_index;
                prop_assert!(line.discounted_price >= Decimal::ZERO);
                prop_assert!(line.discounted_price <= line.price);
                prop_assert!(line.discounted_price.scale() == 2 && line.discount_percent.scale() == 2);
                prop_assert!(line.discount_percent >= Decimal::ZERO && line.discount_percent <= dec!(100));
                prop_assert!(line.quantity > Decimal::ZERO);
            }
            let serials_out: Vec<_> = receipt.lines.iter().flat_map(|l| l.serials.clone()).collect();
            let serials_in: Vec<_> = input.iter().flat_map(|l| l.serials.clone()).collect();
            prop_assert_eq!(serials_out, serials_in);
        }
    }

    #[test]
    fn completed_lines_are_booked_rounded_half_up() {
        let booked = book_as_happened(dec!(99.999), dec!(1));
        assert_eq!(
            (booked.price, booked.quantity, booked.rounded),
            (dec!(100.00), dec!(1), true)
        );
        let booked = book_as_happened(dec!(10.005), dec!(0.0005));
        assert_eq!((booked.price, booked.quantity), (dec!(10.01), dec!(0.001)));
        let booked = book_as_happened(dec!(10.004), dec!(2.0004));
        assert_eq!((booked.price, booked.quantity), (dec!(10.00), dec!(2.000)));
        let exact = book_as_happened(dec!(89.90), dec!(1.500));
        assert!(!exact.rounded);
        assert_eq!((exact.price, exact.quantity), (dec!(89.90), dec!(1.500)));
    }

    proptest! {
        /// Whatever a completed line carries, what is booked passes the receipt arithmetic's
        /// precision checks and is within half a kopeck / half a gram of what happened.
        #[test]
        fn booked_amounts_are_bookable_and_close(price in 0i64..100_000_000, price_scale in 0u32..7,
                                                 quantity in 1i64..10_000_000, quantity_scale in 0u32..7) {
            let (price, quantity) = (Decimal::new(price, price_scale), Decimal::new(quantity, quantity_scale));
            let booked = book_as_happened(price, quantity);
            prop_assert!((booked.price - price).abs() <= dec!(0.005));
            prop_assert!((booked.quantity - quantity).abs() <= dec!(0.0005));
            prop_assert_eq!(booked.rounded, booked.price != price || booked.quantity != quantity);
            if booked.quantity > Decimal::ZERO {
                prop_assert!(line_sum(booked.price, booked.quantity).is_ok());
            }
        }
    }
}
