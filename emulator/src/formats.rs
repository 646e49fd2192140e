//! Text formats BonusPlus uses on the wire: dates (`ДД.ММ.ГГГГ` in requests), EAN card
//! numbers, GUIDs, and the emulator's clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// A calendar date, validated (leap years included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: u32, month: u32, day: u32) -> Option<Self> {
        let valid = (1900..=2999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day);
        valid.then_some(Self { year, month, day })
    }

    /// `YYYY-MM-DD` — how the emulator keeps dates ([`crate::Person::birth_day`]).
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

fn digits(text: &str, len: usize) -> Option<u32> {
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `ДД.ММ.ГГГГ` (DD.MM.YYYY): the documented request format of `birthDay` / `birthday`.
pub fn parse_dotted_date(text: &str) -> Option<Date> {
    let mut parts = text.split('.');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Date::new(digits(year, 4)?, digits(month, 2)?, digits(day, 2)?)
}

/// `YYYY-MM-DD`, optionally followed by `T00:00:00` (how seeded data may be written).
pub fn parse_iso_date(text: &str) -> Option<Date> {
    let date = text.strip_suffix("T00:00:00").unwrap_or(text);
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Date::new(digits(year, 4)?, digits(month, 2)?, digits(day, 2)?)
}

/// How a stored `YYYY-MM-DD` date is answered inside a `Customer`. BonusPlus's format for
/// dates it *answers* is unconfirmed; this is ASP.NET's default rendering of a `DateTime`
/// (decision recorded in `docs/bonusplus-wire.md`). Change it here and nowhere else.
pub fn answered_date(iso: &str) -> String {
    format!("{iso}T00:00:00")
}

/// A date-time `YYYY-MM-DDTHH:MM:SS` (no offset; an optional `Z` or a bare date is accepted
/// and normalised). Used for certificate expiry.
pub fn parse_date_time(text: &str) -> Option<String> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, time),
        None => (text, "00:00:00"),
    };
    let date = parse_iso_date(date)?;
    let mut parts = time.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (h, m, s) = (digits(h, 2)?, digits(m, 2)?, digits(s, 2)?);
    (h < 24 && m < 60 && s < 60).then(|| format!("{}T{h:02}:{m:02}:{s:02}", date.iso()))
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS` (comparable as text with
/// [`parse_date_time`]'s output).
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Digits only, 8 or 13 of them: the shape of a card number BonusPlus looks up (`ean=`).
pub fn is_ean_shaped(text: &str) -> bool {
    matches!(text.len(), 8 | 13) && text.bytes().all(|b| b.is_ascii_digit())
}

/// An EAN-8 or EAN-13 with a correct check digit.
pub fn is_valid_ean(text: &str) -> bool {
    is_ean_shaped(text) && {
        let (body, check) = text.split_at(text.len() - 1);
        ean_check_digit(body) == check.as_bytes()[0] - b'0'
    }
}

/// The check digit for the digits before it (weights 3 and 1 from the right).
pub fn ean_check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(at, b)| u32::from(b - b'0') * if at % 2 == 0 { 3 } else { 1 })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// A GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, any case, optionally in braces, or 32
/// bare hex digits), normalised to lowercase hyphenated.
pub fn parse_guid(text: &str) -> Option<String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let hex: String = match inner.len() {
        32 => inner.to_owned(),
        36 => {
            let dashes = [8, 13, 18, 23];
            if dashes.iter().any(|&at| inner.as_bytes()[at] != b'-') {
                return None;
            }
            inner.chars().filter(|&c| c != '-').collect()
        }
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A random (version 4) GUID.
pub fn new_guid() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    // RandomState is seeded randomly per instance: two fresh ones give independent halves.
    let high = RandomState::new().hash_one(seq);
    let low = RandomState::new().hash_one(seq);
    let bits = (u128::from(high) << 64 | u128::from(low)) & !(0xf000 << 64) & !(0xc << 60)
        | (0x4000 << 64)
        | (0x8 << 60);
    parse_guid(&format!("{bits:032x}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_dates_are_validated() {
        assert_eq!(parse_dotted_date("17.05.1990").unwrap().iso(), "1990-05-17");
        assert_eq!(parse_dotted_date("29.02.2000").unwrap().iso(), "2000-02-29");
        for bad in [
            "1990-05-17",
            "29.02.1900",
            "31.04.1990",
            "7.5.1990",
            "17.05.90",
            "",
        ] {
            assert!(parse_dotted_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn iso_dates_tolerate_midnight() {
        assert_eq!(
            parse_iso_date("1990-05-17T00:00:00").unwrap().iso(),
            "1990-05-17"
        );
        assert!(parse_iso_date("17.05.1990").is_none());
    }

    #[test]
    fn date_times_are_normalised() {
        assert_eq!(
            parse_date_time("2030-01-02").unwrap(),
            "2030-01-02T00:00:00"
        );
        assert_eq!(
            parse_date_time("2030-01-02 10:11:12").unwrap(),
            "2030-01-02T10:11:12"
        );
        assert_eq!(
            parse_date_time("2030-01-02T10:11:12Z").unwrap(),
            "2030-01-02T10:11:12"
        );
        assert!(parse_date_time("2030-01-02T25:00:00").is_none());
        let now = now_utc();
        assert_eq!(parse_date_time(&now).unwrap(), now);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn ean_check_digits() {
        assert!(is_valid_ean("2000000051420"));
        assert!(is_valid_ean("96385074"));
        assert!(is_valid_ean("4006381333931"));
        assert!(!is_valid_ean("2000000051421"));
        assert!(!is_valid_ean("200000005142"));
        assert_eq!(ean_check_digit("200000000001"), 5);
    }

    #[test]
    fn guids_are_normalised() {
        let id = "9F2A5C1E-0B7D-4C33-8E55-1A2B3C4D5E6F";
        assert_eq!(
            parse_guid(id).unwrap(),
            "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f"
        );
        assert!(parse_guid("2000000051420").is_none());
        assert!(parse_guid("9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6g").is_none());
        let fresh = new_guid();
        assert_eq!(parse_guid(&fresh).as_deref(), Some(fresh.as_str()));
        assert_eq!(&fresh[14..15], "4");
        assert!(matches!(&fresh[19..20], "8" | "9" | "a" | "b"), "{fresh}");
        assert_ne!(fresh, new_guid());
    }
}
