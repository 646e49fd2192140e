//! The part of `bonusbridge accounts <id>` that lists where the account's BonusPlus answered
//! otherwise than an unconfirmed point expects, and what the app did instead.
//! A part of the command layer: it formats stored rows; nothing in the library imports it.

use std::fmt::Write as _;

use time::macros::format_description;
use time::OffsetDateTime;

use crate::bonusplus::watch::Point;
use crate::store::Difference;

/// The section, one block per point (the first answer's call, status and shape; how often).
pub fn section(rows: &[Difference]) -> String {
    let mut text = String::from("BonusPlus differs from what the app expects:\n");
    if rows.is_empty() {
        text.push_str("  none\n");
    }
    for row in rows {
        let point = Point::parse(&row.point);
        let what: &str = match point {
            Some(point) => point.what_ru(),
            None => &row.point,
        };
        let instead = point.map(Point::did_instead_ru).unwrap_or_default();
        let _ = writeln!(
            text,
            "  {}  {}  ×{}  {} → HTTP {}  {}",
            when(row.last_seen_at),
            row.point,
            row.seen,
            row.endpoint,
            row.status,
            row.shape
        );
        let _ = writeln!(text, "    {what}; сделано: {instead}");
        if !row.detail.is_empty() {
            let _ = writeln!(text, "    {}", row.detail);
        }
    }
    text
}

fn when(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_point_shows_what_happened_and_what_was_done() {
        let row = Difference {
            account_id: "a".into(),
            point: "error_code".into(),
            endpoint: "GET customer".into(),
            status: 412,
            shape: "{code: number, msg: string}".into(),
            detail: String::new(),
            seen: 3,
            first_seen_at: 0,
            last_seen_at: 0,
        };
        let text = section(&[row]);
        assert!(text.contains("error_code  ×3  GET customer → HTTP 412  {code: number"));
        assert!(text.contains(Point::ErrorCode.did_instead_ru()));
        assert!(section(&[]).contains("none"));
    }
}
