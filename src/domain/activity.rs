//! What a shop did, day by day, as the settings page shows it: which of the shop's calendar days an
//! instant falls on, the window shown (today and the 13 days before it), the figures of a day and
//! their totals. Pure rules: must not depend on anything with I/O (no `state`, `store`, clients).
//!
//! Days are counted by integer arithmetic on epoch milliseconds — day = ⌊(instant + offset) / 86 400 000⌋
//! — so the database can bucket with the same `/` on both backends (the instants shown are all
//! after 1970, where truncating and flooring division agree). A shop's time is a fixed offset from
//! UTC: Russia has kept fixed offsets without daylight saving since 2014, so for a Russian shop it is
//! exact. Money is whole kopecks (`i64`), never a float.

use rust_decimal::{Decimal, RoundingStrategy};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// Days the page shows, today included.
pub const WINDOW_DAYS: i64 = 14;

/// A shop's offset from UTC, in minutes east of Greenwich: −12:00 … +14:00 in steps of 15 minutes
/// (every offset in use in the world). The only way to one is [`UtcOffset::from_minutes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset(i64);

/// Why a number of minutes is no offset the page accepts. `Display` is Russian: the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Часовой пояс: смещение от UTC от −12:00 до +14:00, кратное 15 минутам")]
pub struct UtcOffsetError;

impl UtcOffset {
    /// Moscow time, UTC+3: the default of every shop.
    pub const MOSCOW: UtcOffset = UtcOffset(180);

    pub fn from_minutes(minutes: i64) -> Result<UtcOffset, UtcOffsetError> {
        if (-12 * 60..=14 * 60).contains(&minutes) && minutes % 15 == 0 {
            Ok(UtcOffset(minutes))
        } else {
            Err(UtcOffsetError)
        }
    }

    pub fn minutes(self) -> i64 {
        self.0
    }

    pub fn millis(self) -> i64 {
        self.0 * 60_000
    }

    /// `UTC+3`, `UTC+5:30`, `UTC−2`, `UTC` — as the page writes it.
    pub fn label(self) -> String {
        let (sign, minutes) = match self.0 {
            0 => return "UTC".to_owned(),
            m if m > 0 => ('+', m),
            m => ('−', -m),
        };
        match minutes % 60 {
            0 => format!("UTC{sign}{}", minutes / 60),
            rest => format!("UTC{sign}{}:{rest:02}", minutes / 60),
        }
    }
}

impl Default for UtcOffset {
    fn default() -> Self {
        UtcOffset::MOSCOW
    }
}

/// The shop's day of an instant: whole days since 1970-01-01 in the shop's time.
pub fn day_of(at_ms: i64, offset: UtcOffset) -> i64 {
    at_ms.saturating_add(offset.millis()).div_euclid(DAY_MS)
}

/// The calendar date of a day number, `YYYY-MM-DD`.
pub fn date_of(day: i64) -> String {
    // Julian day number of 1970-01-01.
    const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
    day.checked_add(UNIX_EPOCH_JULIAN_DAY)
        .and_then(|julian| i32::try_from(julian).ok())
        .and_then(|julian| time::Date::from_julian_day(julian).ok())
        .map(|date| date.to_string())
        .unwrap_or_default()
}

/// The days the page shows: [`WINDOW_DAYS`] days ending with today, in the shop's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: UtcOffset,
    pub first_day: i64,
    pub today: i64,
}

impl Window {
    pub fn ending_at(now_ms: i64, offset: UtcOffset) -> Window {
        let today = day_of(now_ms, offset);
        Window {
            offset,
            first_day: today - (WINDOW_DAYS - 1),
            today,
        }
    }

    /// The first instant of the window (epoch ms, inclusive).
    pub fn since_ms(&self) -> i64 {
        self.first_day * DAY_MS - self.offset.millis()
    }

    /// The first instant after the window (epoch ms, exclusive): the shop's next midnight.
    pub fn until_ms(&self) -> i64 {
        (self.today + 1) * DAY_MS - self.offset.millis()
    }

    pub fn days(&self) -> impl Iterator<Item = i64> {
        self.first_day..=self.today
    }
}

/// What the app did for a shop on one day, or over several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayActivity {
    /// Sales BonusPlus booked.
    pub sales_booked: i64,
    /// Returns BonusPlus booked.
    pub returns_booked: i64,
    /// Bonuses the booked sales spent, kopecks.
    pub bonuses_spent_kopecks: i64,
    /// Bonuses the booked sales earned, kopecks.
    pub bonuses_earned_kopecks: i64,
    /// Customers the app created in BonusPlus.
    pub customers_registered: i64,
    /// Sales and returns BonusPlus refused for good, not booked since.
    pub deliveries_failed: i64,
}

impl DayActivity {
    pub fn plus(self, other: DayActivity) -> DayActivity {
        DayActivity {
            sales_booked: self.sales_booked.saturating_add(other.sales_booked),
            returns_booked: self.returns_booked.saturating_add(other.returns_booked),
            bonuses_spent_kopecks: self
                .bonuses_spent_kopecks
                .saturating_add(other.bonuses_spent_kopecks),
            bonuses_earned_kopecks: self
                .bonuses_earned_kopecks
                .saturating_add(other.bonuses_earned_kopecks),
            customers_registered: self
                .customers_registered
                .saturating_add(other.customers_registered),
            deliveries_failed: self
                .deliveries_failed
                .saturating_add(other.deliveries_failed),
        }
    }
}

/// Every day of `window`, oldest first, with what the database counted for it (zeros for a day
/// with nothing). Counts of days outside the window are left out.
pub fn fill_window(window: &Window, counted: &[(i64, DayActivity)]) -> Vec<(i64, DayActivity)> {
    window
        .days()
        .map(|day| {
            let activity = counted
                .iter()
                .filter(|(counted_day, _)| *counted_day == day)
                .fold(DayActivity::default(), |sum, (_, activity)| {
                    sum.plus(*activity)
                });
            (day, activity)
        })
        .collect()
}

/// The sum of the days' figures.
pub fn total<'a>(days: impl IntoIterator<Item = &'a (i64, DayActivity)>) -> DayActivity {
    days.into_iter()
        .fold(DayActivity::default(), |sum, (_, activity)| {
            sum.plus(*activity)
        })
}

/// Bonuses in whole kopecks, for counting: BonusPlus keeps bonuses to the kopeck, so an amount is
/// rounded half away from zero to kopecks only if it came with more decimals. Nothing negative is
/// counted; an amount beyond `i64` kopecks counts as the largest.
pub fn bonus_kopecks(roubles: Decimal) -> i64 {
    if roubles.is_sign_negative() {
        return 0;
    }
    roubles
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|kopecks| i64::try_from(kopecks.trunc()).ok())
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    /// 2026-11-30 00:00:00 UTC.
    const NOV_30_UTC: i64 = 1_795_996_800_000;

    #[test]
    fn offsets_are_whole_quarters_within_the_worlds_range() {
        assert_eq!(
            UtcOffset::from_minutes(180).map(UtcOffset::minutes),
            Ok(180)
        );
        assert_eq!(
            UtcOffset::from_minutes(-720).map(UtcOffset::minutes),
            Ok(-720)
        );
        assert_eq!(
            UtcOffset::from_minutes(840).map(UtcOffset::minutes),
            Ok(840)
        );
        assert!(UtcOffset::from_minutes(345).is_ok(), "Nepal, UTC+5:45");
        assert_eq!(UtcOffset::from_minutes(-735), Err(UtcOffsetError));
        assert_eq!(UtcOffset::from_minutes(855), Err(UtcOffsetError));
        assert_eq!(UtcOffset::from_minutes(100), Err(UtcOffsetError));
        assert_eq!(UtcOffset::default(), UtcOffset::MOSCOW);
    }

    #[test]
    fn offsets_are_labelled_as_people_write_them() {
        let label = |m| UtcOffset::from_minutes(m).unwrap().label();
        assert_eq!(label(180), "UTC+3");
        assert_eq!(label(600), "UTC+10");
        assert_eq!(label(330), "UTC+5:30");
        assert_eq!(label(-120), "UTC−2");
        assert_eq!(label(-570), "UTC−9:30");
        assert_eq!(label(0), "UTC");
    }

    #[test]
    fn an_instant_falls_on_the_shops_day() {
        let moscow = UtcOffset::MOSCOW;
        let day = day_of(NOV_30_UTC, UtcOffset::from_minutes(0).unwrap());
        assert_eq!(date_of(day), "2026-11-30");
        // 20:59:59.999 UTC is 23:59:59.999 in Moscow, still the 30th; a millisecond later the 1st.
        let late = NOV_30_UTC + 21 * 3_600_000 - 1;
        assert_eq!(date_of(day_of(late, moscow)), "2026-11-30");
        assert_eq!(date_of(day_of(late + 1, moscow)), "2026-12-01");
        // Vladivostok (UTC+10) is already on the 1st at 14:00 UTC.
        let vladivostok = UtcOffset::from_minutes(600).unwrap();
        assert_eq!(
            date_of(day_of(NOV_30_UTC + 14 * 3_600_000, vladivostok)),
            "2026-12-01"
        );
        // West of Greenwich, early UTC is still yesterday.
        let west = UtcOffset::from_minutes(-180).unwrap();
        assert_eq!(date_of(day_of(NOV_30_UTC + 3_600_000, west)), "2026-11-29");
    }

    #[test]
    fn dates_of_day_numbers() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(-1), "1969-12-31");
        assert_eq!(date_of(20_513), "2026-03-01");
        assert_eq!(date_of(i64::MAX), "");
    }

    #[test]
    fn the_window_is_fourteen_shop_days_ending_today() {
        let now = NOV_30_UTC + 12 * 3_600_000; // 15:00 in Moscow
        let window = Window::ending_at(now, UtcOffset::MOSCOW);
        assert_eq!(window.days().count(), 14);
        assert_eq!(date_of(window.today), "2026-11-30");
        assert_eq!(date_of(window.first_day), "2026-11-17");
        // From Moscow's midnight of the 17th (21:00 UTC on the 16th) to Moscow's next midnight.
        assert_eq!(window.since_ms(), NOV_30_UTC - 13 * DAY_MS - 3 * 3_600_000);
        assert_eq!(window.until_ms(), NOV_30_UTC + DAY_MS - 3 * 3_600_000);
        assert_eq!(
            day_of(window.since_ms(), UtcOffset::MOSCOW),
            window.first_day
        );
        assert_eq!(
            day_of(window.since_ms() - 1, UtcOffset::MOSCOW),
            window.first_day - 1
        );
        assert_eq!(
            day_of(window.until_ms() - 1, UtcOffset::MOSCOW),
            window.today
        );
        assert_eq!(
            day_of(window.until_ms(), UtcOffset::MOSCOW),
            window.today + 1
        );
    }

    #[test]
    fn days_with_nothing_are_zeros_and_totals_add_up() {
        let window = Window::ending_at(NOV_30_UTC, UtcOffset::MOSCOW);
        let sales = |n| DayActivity {
            sales_booked: n,
            bonuses_spent_kopecks: 100 * n,
            ..DayActivity::default()
        };
        let counted = [
            (window.today, sales(2)),
            (window.first_day, sales(1)),
            (window.first_day - 1, sales(50)),
            (
                window.today,
                DayActivity {
                    customers_registered: 1,
                    ..DayActivity::default()
                },
            ),
        ];
        let days = fill_window(&window, &counted);
        assert_eq!(days.len(), 14);
        assert_eq!(days[0], (window.first_day, sales(1)));
        assert_eq!(days[1].1, DayActivity::default());
        assert_eq!(days[13].0, window.today);
        assert_eq!(days[13].1.sales_booked, 2);
        assert_eq!(days[13].1.customers_registered, 1);
        let sum = total(&days);
        assert_eq!(sum.sales_booked, 3, "the day before the window is left out");
        assert_eq!(sum.bonuses_spent_kopecks, 300);
        assert_eq!(sum.customers_registered, 1);
    }

    #[test]
    fn bonuses_count_in_whole_kopecks() {
        assert_eq!(bonus_kopecks(dec!(30)), 3_000);
        assert_eq!(bonus_kopecks(dec!(4.5)), 450);
        assert_eq!(bonus_kopecks(dec!(0.01)), 1);
        assert_eq!(bonus_kopecks(dec!(0.005)), 1);
        assert_eq!(bonus_kopecks(dec!(0.0049)), 0);
        assert_eq!(bonus_kopecks(dec!(-5)), 0);
        assert_eq!(bonus_kopecks(Decimal::MAX), i64::MAX);
    }

    proptest! {
        /// The SQL bucket `(at + offset) / DAY_MS` is the shop's day for every instant after 1970.
        #[test]
        fn sql_division_buckets_like_day_of(at in 0i64..4_102_444_800_000, quarter in -48i64..=56) {
            let offset = UtcOffset::from_minutes(quarter * 15).unwrap();
            let shifted = at + offset.millis();
            prop_assume!(shifted >= 0);
            prop_assert_eq!(shifted / DAY_MS, day_of(at, offset));
        }

        /// Every instant of a window's days lies in [since, until), and no other.
        #[test]
        fn window_bounds_match_its_days(now in 86_400_000i64..4_102_444_800_000, at in 0i64..4_102_444_800_000, quarter in -48i64..=56) {
            let offset = UtcOffset::from_minutes(quarter * 15).unwrap();
            let window = Window::ending_at(now, offset);
            let inside = (window.since_ms()..window.until_ms()).contains(&at);
            let day = day_of(at, offset);
            prop_assert_eq!(inside, (window.first_day..=window.today).contains(&day));
        }

        /// Kopecks of whole-kopeck amounts are exact.
        #[test]
        fn whole_kopecks_are_exact(kopecks in 0i64..1_000_000_000_000) {
            prop_assert_eq!(bonus_kopecks(Decimal::new(kopecks, 2)), kopecks);
        }
    }
}
