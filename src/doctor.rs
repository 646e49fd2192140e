//! Service: the connection check («Проверить подключение», `bonusbridge doctor <account-id>`) —
//! the documented read-only BonusPlus calls with the shop's key, each with ✓/✗, its status and
//! what was wrong in Russian; and the store part of it that a settings save runs.
//! Must not depend on `state` or incoming modules.

use serde::Serialize;

use crate::accounts::Accounts;
use crate::bonusplus::{ApiKey, BonusPlusClient, BonusPlusError, Probe};
use crate::store::{Store, StoreError};

/// One call of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// What is checked, in Russian («Ключ API», «Магазин «…»»…).
    pub what: String,
    /// The call, e.g. `GET account`.
    pub call: String,
    pub ok: bool,
    /// BonusPlus's HTTP status; `None` when it did not answer.
    pub status: Option<u16>,
    /// What was wrong, in Russian; empty when the call passed.
    pub reason: String,
    /// Why a passed call's answer is an error status (the check's phone is no customer's).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The store of a calculation, when the check is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// BonusPlus answered and refused the calculation's store (not an outage, not an unknown call).
    pub store_refused: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error("no account {0} is installed")]
    UnknownAccount(String),
    #[error("account {0} has no usable BonusPlus key")]
    NoKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The whole check for `stores` (every mapped store and the default one).
pub async fn run(client: &BonusPlusClient, key: &ApiKey, stores: &[String]) -> Vec<Check> {
    let mut checks = Vec::with_capacity(3 + stores.len());
    for (probe, what) in [
        (Probe::Account, "Ключ API"),
        (Probe::CustomerLookup, "Поиск покупателя"),
        (Probe::CustomerList, "Поиск по фильтру (имя, фамилия)"),
    ] {
        checks.push(check(client, key, probe, what.to_owned()).await);
    }
    checks.extend(stores_check(client, key, stores).await);
    checks
}

/// A calculation (nothing booked) at each store: a store BonusPlus refuses is named.
pub async fn stores_check(client: &BonusPlusClient, key: &ApiKey, stores: &[String]) -> Vec<Check> {
    let calls = stores.iter().map(|store| {
        let probe = Probe::Calc {
            store: store.clone(),
        };
        check(
            client,
            key,
            probe,
            format!("Расчёт чека в магазине «{store}»"),
        )
    });
    futures::future::join_all(calls).await
}

/// The check of an installed account, with its stored key and mapped stores.
pub async fn for_account(
    store: &Store,
    accounts: &Accounts,
    client: &BonusPlusClient,
    account_id: &str,
) -> Result<Vec<Check>, DoctorError> {
    let settings = store
        .settings(account_id)
        .await?
        .ok_or_else(|| DoctorError::UnknownAccount(account_id.to_owned()))?;
    let key = accounts
        .bonusplus_key(account_id)
        .await?
        .ok_or_else(|| DoctorError::NoKey(account_id.to_owned()))?;
    Ok(run(
        client,
        &key,
        &mapped_stores(&settings.store_map, &settings.default_store),
    )
    .await)
}

/// The check as text for the operator: one line per call, ✓/✗, status, what was wrong.
pub fn render_text(checks: &[Check]) -> String {
    let mut text = String::new();
    for check in checks {
        let mark = if check.ok { '✓' } else { '✗' };
        let status = check
            .status
            .map_or_else(|| "нет ответа".to_owned(), |s| format!("HTTP {s}"));
        text.push_str(&format!("{mark} {}  {}  {status}", check.what, check.call));
        for comment in [&check.reason, &check.note] {
            if !comment.is_empty() {
                text.push_str("  — ");
                text.push_str(comment);
            }
        }
        text.push('\n');
    }
    text
}

/// Every distinct store the account maps, the default one included, in a stable order.
pub fn mapped_stores(store_map_json: &str, default_store: &str) -> Vec<String> {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(store_map_json).unwrap_or_default();
    let mut stores: Vec<String> = map
        .into_values()
        .chain(std::iter::once(default_store.to_owned()))
        .map(|store| store.trim().to_owned())
        .filter(|store| !store.is_empty())
        .collect();
    stores.sort();
    stores.dedup();
    stores
}

async fn check(client: &BonusPlusClient, key: &ApiKey, probe: Probe, what: String) -> Check {
    let answer = client.probe(key, &probe).await;
    let store = match &probe {
        Probe::Calc { store } => Some(store.clone()),
        _ => None,
    };
    let phone = crate::bonusplus::wire_assumptions::KEY_CHECK_FALLBACK_PHONE;
    let note = match (&answer.outcome, answer.status, &probe) {
        (Ok(()), Some(400..), Probe::Calc { .. }) => {
            format!("магазин принят; покупателя с проверочным номером {phone} нет, как и ожидалось")
        }
        (Ok(()), Some(400..), _) => {
            format!("ответ «покупатель не найден» на проверочный номер {phone}: запрос работает")
        }
        _ => String::new(),
    };
    let store_refused =
        store.is_some() && matches!(answer.outcome, Err(BonusPlusError::Refused { .. }));
    Check {
        what,
        call: probe.call(),
        ok: answer.outcome.is_ok(),
        status: answer.status,
        reason: answer
            .outcome
            .err()
            .map(|error| reason_ru(&probe, &error))
            .unwrap_or_default(),
        note,
        store,
        store_refused,
    }
}

/// What was wrong, for the shop owner.
fn reason_ru(probe: &Probe, error: &BonusPlusError) -> String {
    match (probe, error) {
        (Probe::Calc { store }, BonusPlusError::Refused { .. }) => format!(
            "БонусПлюс не принял магазин «{store}»: {}. Проверьте название магазина в БонусПлюс",
            error.describe_ru()
        ),
        (_, BonusPlusError::UnknownCall { status }) => {
            format!("БонусПлюс не знает этот запрос (HTTP {status}); приложение обойдётся без него")
        }
        (_, BonusPlusError::Unauthorized) => {
            "БонусПлюс не принял ключ API: проверьте его в личном кабинете БонусПлюс".to_owned()
        }
        _ => error.describe_ru(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_stores_are_distinct_and_include_the_default() {
        let stores = mapped_stores(
            r#"{"pos-1":"Магазин 1","pos-2":" Магазин 2 ","pos-3":"Магазин 1"}"#,
            "Склад",
        );
        assert_eq!(stores, ["Магазин 1", "Магазин 2", "Склад"]);
        assert!(mapped_stores("not json", " ").is_empty());
    }
}
