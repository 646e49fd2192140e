//! `bonusbridge accounts [id]`: one line per installed account (status, the till's traffic and
//! errors in the last 24 hours, the delivery backlog, parked deliveries, the last product sync), or
//! one account in detail. Reads the store only; never shows a secret — only whether one is set.

use std::fmt::Write as _;

use time::macros::format_description;
use time::OffsetDateTime;

use crate::store::{AccountDetail, AccountOverview, Store, StoreError};

/// The window of "recent" traffic and errors.
const WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Problems listed in the detail view.
const PROBLEMS_SHOWN: i64 = 10;
/// Long texts (subscription JSON, error messages) are cut to this many characters.
const TEXT_LIMIT: usize = 160;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no account {0} is installed")]
    UnknownAccount(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The report as text: the list of every account, or the detail of `account_id`.
pub async fn accounts_report(
    store: &Store,
    account_id: Option<&str>,
    now_ms: i64,
) -> Result<String, ReportError> {
    let since = now_ms - WINDOW_MS;
    let overviews = store.account_overviews(since, account_id).await?;
    match account_id {
        None => Ok(list(&overviews)),
        Some(id) => {
            let overview = overviews
                .first()
                .ok_or_else(|| ReportError::UnknownAccount(id.to_owned()))?;
            let detail = store
                .account_detail(id)
                .await?
                .ok_or_else(|| ReportError::UnknownAccount(id.to_owned()))?;
            let problems = store.account_problems(id, PROBLEMS_SHOWN).await?;
            let mut text = details(overview, &detail);
            text.push_str("recent problems:\n");
            if problems.is_empty() {
                text.push_str("  none\n");
            }
            for problem in problems {
                let detail = problem.detail.as_deref().map(cut).unwrap_or_default();
                let _ = writeln!(text, "  {}  {}  {detail}", when(problem.at), problem.what);
            }
            text.push_str(&super::differences::section(&store.differences(id).await?));
            Ok(text)
        }
    }
}

fn list(overviews: &[AccountOverview]) -> String {
    let mut text = format!(
        "{:<36}  {:<24}  {:<16}  {:<17}  {:>9}  {:>10}  {:>7}  {:>6}  LAST SYNC\n",
        "ACCOUNT", "NAME", "STATUS", "LAST CALL", "CALLS 24H", "ERRORS 24H", "BACKLOG", "FAILED"
    );
    for o in overviews {
        let _ = writeln!(
            text,
            "{:<36}  {:<24}  {:<16}  {:<17}  {:>9}  {:>10}  {:>7}  {:>6}  {}",
            o.account_id,
            o.account_name.chars().take(24).collect::<String>(),
            o.status,
            o.last_call_at.map_or_else(|| "never".to_owned(), when),
            o.calls,
            o.errors,
            o.backlog,
            o.failed,
            last_sync(o),
        );
    }
    if overviews.is_empty() {
        text.push_str("no accounts installed\n");
    }
    text
}

fn details(o: &AccountOverview, d: &AccountDetail) -> String {
    let mapped = d
        .store_map
        .as_deref()
        .and_then(|map| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(map).ok()
        })
        .map_or(0, |map| map.len());
    let default_store = match d.default_store.as_deref() {
        Some(store) if !store.trim().is_empty() => "set",
        _ => "none",
    };
    let yes_no = |flag: bool, yes: &str, no: &str| if flag { yes } else { no }.to_owned();
    let rows = [
        ("account", o.account_id.clone()),
        ("name", o.account_name.clone()),
        (
            "status",
            format!(
                "{} (MoySklad was told: {})",
                o.status,
                d.reported_status.as_deref().unwrap_or("nothing yet")
            ),
        ),
        (
            "installed",
            format!("{}; changed {}", when(d.created_at), when(d.updated_at)),
        ),
        (
            "subscription",
            d.subscription
                .as_deref()
                .map(cut)
                .unwrap_or_else(|| "—".to_owned()),
        ),
        (
            "JSON API",
            yes_no(d.has_json_api_access, "access given", "no access token"),
        ),
        (
            "BonusPlus key",
            match (d.settings_updated_at, d.has_bonusplus_key) {
                (None, _) => "not configured".to_owned(),
                (Some(_), set) => yes_no(set == Some(true), "set", "none (uninstalled)"),
            },
        ),
        (
            "stores",
            format!("{mapped} points of sale mapped; default store {default_store}"),
        ),
        (
            "codes",
            d.code_delivery.clone().unwrap_or_else(|| "—".to_owned()),
        ),
        (
            "reserves",
            format!(
                "{} open; lifetime {}",
                d.open_reserves,
                d.reserve_ttl_secs
                    .map_or_else(|| "—".to_owned(), |secs| format!("{secs} s"))
            ),
        ),
        (
            "LoyaltyAPI",
            format!(
                "last call {}; last 24 h: {} calls, {} errors",
                o.last_call_at.map_or_else(|| "never".to_owned(), when),
                o.calls,
                o.errors
            ),
        ),
        (
            "deliveries",
            format!("{} waiting, {} failed for good", o.backlog, o.failed),
        ),
        ("last sync", last_sync(o)),
        (
            "settings saved",
            d.settings_updated_at
                .map_or_else(|| "never".to_owned(), when),
        ),
    ];
    let mut text = String::new();
    for (label, value) in rows {
        let _ = writeln!(text, "{label:<15} {value}");
    }
    text
}

fn last_sync(o: &AccountOverview) -> String {
    match (&o.sync_state, o.sync_started_at) {
        (Some(state), Some(at)) => format!("{state} (started {})", when(at)),
        _ => "never".to_owned(),
    }
}

/// Epoch milliseconds as `2026-11-29 22:10Z` (UTC, minutes are enough for an operator).
fn when(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(format_description!("[year]-[month]-[day] [hour]:[minute]Z"))
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn cut(text: &str) -> String {
    let mut cut: String = text.chars().take(TEXT_LIMIT).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_minutes() {
        assert_eq!(when(0), "1970-01-01 00:00Z");
        assert_eq!(when(1_764_454_200_000), "2025-11-29 22:10Z");
    }

    #[test]
    fn long_texts_are_cut() {
        assert_eq!(cut("short"), "short");
        let long = "я".repeat(TEXT_LIMIT + 5);
        assert_eq!(cut(&long).chars().count(), TEXT_LIMIT + 1);
    }
}
