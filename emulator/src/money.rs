//! Kopeck arithmetic: rounding rules and exact proportional splitting.

use rust_decimal::{Decimal, RoundingStrategy};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Rounds to kopecks, half away from zero (BonusPlus's documented rounding for money).
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Rounds down to kopecks: limits are never rounded up past what the rules allow.
pub fn floor2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::ToNegativeInfinity)
}

/// Rounds to kopecks and always writes two decimals, so answers look like `7.00`.
pub fn money(value: Decimal) -> Decimal {
    let mut rounded = round2(value);
    rounded.rescale(2);
    rounded
}

/// Floors `value` to a multiple of `multiple`; a zero (or negative) multiple means "any kopeck".
pub fn floor_to_multiple(value: Decimal, multiple: Decimal) -> Decimal {
    if multiple <= Decimal::ZERO {
        return floor2(value);
    }
    floor2((value / multiple).floor() * multiple)
}

/// `value × percent / 100`, unrounded.
pub fn percent_of(value: Decimal, percent: Decimal) -> Decimal {
    value * percent / HUNDRED
}

/// What share of `whole` `part` is, in percent rounded to 2 decimals; 0 when `whole` is 0.
pub fn share_percent(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        return money(Decimal::ZERO);
    }
    money(part * HUNDRED / whole)
}

/// Splits `total` (in kopecks, i.e. 2 decimals) over `weights` proportionally, kopeck-exact:
/// each share is floored to a kopeck and the kopecks left over go to the largest remainders
/// (earlier lines win ties), so the shares always add up to `total`.
/// With no positive weight every share is zero.
pub fn split_proportionally(total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    let weight_sum: Decimal = weights.iter().copied().sum();
    if weight_sum <= Decimal::ZERO {
        return vec![money(Decimal::ZERO); weights.len()];
    }
    let kopecks = round2(total) * HUNDRED;
    let exact: Vec<Decimal> = weights.iter().map(|w| kopecks * *w / weight_sum).collect();
    let mut shares: Vec<Decimal> = exact.iter().map(|e| e.floor()).collect();
    let mut leftover = kopecks - shares.iter().copied().sum::<Decimal>();

    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    // A stable sort keeps the original order among equal remainders.
    by_remainder.sort_by(|a, b| (exact[*b] - shares[*b]).cmp(&(exact[*a] - shares[*a])));
    for index in by_remainder {
        if leftover <= Decimal::ZERO {
            break;
        }
        shares[index] += Decimal::ONE;
        leftover -= Decimal::ONE;
    }
    shares.into_iter().map(|s| money(s / HUNDRED)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round2(dec!(1.005)), dec!(1.01));
        assert_eq!(round2(dec!(-1.005)), dec!(-1.01));
        assert_eq!(round2(dec!(1.004)), dec!(1.00));
    }

    #[test]
    fn floors_to_multiples() {
        assert_eq!(floor_to_multiple(dec!(59.999), dec!(1)), dec!(59));
        assert_eq!(floor_to_multiple(dec!(59.999), dec!(0)), dec!(59.99));
        assert_eq!(floor_to_multiple(dec!(59.999), dec!(10)), dec!(50));
        assert_eq!(floor_to_multiple(dec!(1.26), dec!(0.5)), dec!(1.0));
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(dec!(7)).to_string(), "7.00");
        assert_eq!(money(dec!(7.125)).to_string(), "7.13");
    }

    #[test]
    fn split_adds_up_exactly() {
        let shares = split_proportionally(dec!(10.00), &[dec!(1), dec!(1), dec!(1)]);
        assert_eq!(shares, vec![dec!(3.34), dec!(3.33), dec!(3.33)]);
        let shares = split_proportionally(dec!(0.05), &[dec!(100), dec!(0), dec!(33.33)]);
        assert_eq!(shares.iter().copied().sum::<Decimal>(), dec!(0.05));
        assert_eq!(shares[1], dec!(0));
    }

    #[test]
    fn split_without_weights_is_zero() {
        assert_eq!(
            split_proportionally(dec!(0), &[dec!(0), dec!(0)]),
            vec![dec!(0), dec!(0)]
        );
    }

    #[test]
    fn split_never_exceeds_a_weight() {
        let weights = [dec!(0.01), dec!(0.02), dec!(99.97)];
        let shares = split_proportionally(dec!(100.00), &weights);
        for (share, weight) in shares.iter().zip(weights) {
            assert!(*share <= weight);
        }
    }

    #[test]
    fn share_percent_of_zero_is_zero() {
        assert_eq!(share_percent(dec!(5), dec!(0)), dec!(0));
        assert_eq!(share_percent(dec!(30), dec!(200)), dec!(15.00));
    }
}
