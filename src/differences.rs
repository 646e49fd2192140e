//! Service: BonusPlus answers that differ from an unconfirmed point, recorded once per account
//! and point for the shop («Требуют внимания») and the operator (`bonusbridge accounts <id>`).
//! Must not depend on `state` or incoming modules; the client tells it through `Watcher`.

use std::sync::Arc;

use crate::bonusplus::watch::{Point, Unexpected, Watcher};
use crate::store::{Difference, Store};

/// Records what the BonusPlus client reports (it is the client's [`Watcher`]).
#[derive(Clone)]
pub struct Differences {
    store: Store,
}

impl Differences {
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Differences { store })
    }

    /// Records it and waits; true the first time this account meets this point.
    pub async fn record(&self, account_id: &str, event: &Unexpected) -> bool {
        let difference = Difference {
            account_id: account_id.to_owned(),
            point: event.point.as_str().to_owned(),
            endpoint: event.call.to_owned(),
            status: i64::from(event.status),
            shape: event.shape.clone(),
            detail: event.detail.clone(),
            seen: 1,
            first_seen_at: 0,
            last_seen_at: 0,
        };
        match self.store.record_difference(&difference).await {
            Ok(first) => first,
            Err(error) => {
                tracing::warn!(%error, point = event.point.as_str(), "a BonusPlus difference was not recorded");
                false
            }
        }
    }
}

impl Watcher for Differences {
    /// Recorded in the background: the call that met it does not wait. A key of no account (a
    /// key being checked before it is saved) records nothing: the log line and the metric remain.
    fn unexpected(&self, owner: Option<&str>, event: &Unexpected) {
        let (Some(account_id), Ok(runtime)) = (owner, tokio::runtime::Handle::try_current()) else {
            return;
        };
        let this = self.clone();
        let account_id = account_id.to_owned();
        let event = event.clone();
        runtime.spawn(async move {
            this.record(&account_id, &event).await;
        });
    }
}

/// One difference as the shop and the operator read it, in Russian.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DifferenceView {
    pub point: String,
    pub what: String,
    pub did_instead: String,
    pub call: String,
    pub status: i64,
    pub shape: String,
    pub detail: String,
    pub seen: i64,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

impl From<&Difference> for DifferenceView {
    fn from(row: &Difference) -> Self {
        let point = Point::parse(&row.point);
        DifferenceView {
            point: row.point.clone(),
            what: point.map_or_else(|| row.point.clone(), |p| p.what_ru().to_owned()),
            did_instead: point
                .map(Point::did_instead_ru)
                .unwrap_or_default()
                .to_owned(),
            call: row.endpoint.clone(),
            status: row.status,
            shape: row.shape.clone(),
            detail: row.detail.clone(),
            seen: row.seen,
            first_seen_at: row.first_seen_at,
            last_seen_at: row.last_seen_at,
        }
    }
}
