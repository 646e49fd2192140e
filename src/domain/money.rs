//! Money between the two sides: MoySklad writes gift-certificate amounts in whole kopecks,
//! BonusPlus in roubles with up to two decimals. Conversions are exact both ways or refused.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).

use rust_decimal::Decimal;

const KOPECKS_PER_ROUBLE: i64 = 100;

/// Why an amount in roubles has no exact value in kopecks. `Display` is Russian: the cashier may
/// read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KopecksError {
    #[error("Сумма с долями копейки")]
    FractionOfKopeck,
    #[error("Отрицательная сумма")]
    Negative,
    #[error("Сумма слишком велика")]
    TooLarge,
}

/// `roubles` in whole kopecks: 500.5 → 50050. A fraction of a kopeck (500.555) or a negative
/// amount is refused, never rounded: an amount on a certificate is money the customer holds.
pub fn roubles_to_kopecks(roubles: Decimal) -> Result<i64, KopecksError> {
    if roubles.is_sign_negative() && !roubles.is_zero() {
        return Err(KopecksError::Negative);
    }
    let kopecks = roubles
        .checked_mul(Decimal::from(KOPECKS_PER_ROUBLE))
        .ok_or(KopecksError::TooLarge)?;
    if !kopecks.fract().is_zero() {
        return Err(KopecksError::FractionOfKopeck);
    }
    i64::try_from(kopecks.trunc()).map_err(|_| KopecksError::TooLarge)
}

/// `kopecks` in roubles with two decimals: 50000 → 500.00 (always exact).
pub fn kopecks_to_roubles(kopecks: i64) -> Decimal {
    Decimal::new(kopecks, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn whole_kopecks_convert_exactly() {
        assert_eq!(roubles_to_kopecks(dec!(500)), Ok(50_000));
        assert_eq!(roubles_to_kopecks(dec!(500.00)), Ok(50_000));
        assert_eq!(roubles_to_kopecks(dec!(0.01)), Ok(1));
        assert_eq!(roubles_to_kopecks(dec!(1234.5)), Ok(123_450));
        assert_eq!(roubles_to_kopecks(dec!(0)), Ok(0));
        assert_eq!(roubles_to_kopecks(dec!(-0.00)), Ok(0));
        assert_eq!(
            roubles_to_kopecks(dec!(0.100)),
            Ok(10),
            "trailing zeros are no fraction"
        );
    }

    #[test]
    fn fractions_of_a_kopeck_and_negative_amounts_are_refused() {
        assert_eq!(
            roubles_to_kopecks(dec!(500.555)),
            Err(KopecksError::FractionOfKopeck)
        );
        assert_eq!(
            roubles_to_kopecks(dec!(0.001)),
            Err(KopecksError::FractionOfKopeck)
        );
        assert_eq!(roubles_to_kopecks(dec!(-1)), Err(KopecksError::Negative));
        assert_eq!(
            roubles_to_kopecks(Decimal::MAX),
            Err(KopecksError::TooLarge)
        );
        assert_eq!(
            roubles_to_kopecks(dec!(100000000000000000)),
            Err(KopecksError::TooLarge)
        );
    }

    #[test]
    fn kopecks_become_roubles_with_two_decimals() {
        assert_eq!(kopecks_to_roubles(50_000).to_string(), "500.00");
        assert_eq!(kopecks_to_roubles(1).to_string(), "0.01");
    }

    proptest! {
        #[test]
        fn the_round_trip_is_exact(kopecks in 0i64..=i64::MAX / 1000) {
            prop_assert_eq!(roubles_to_kopecks(kopecks_to_roubles(kopecks)), Ok(kopecks));
        }
    }
}
