//! What the app sent BonusPlus, from the emulator's request log: the requests to one call, and the
//! sales and returns sent to book (not what the emulator booked: it refuses a repeated
//! `externalId`, so its bookings cannot show a sale sent twice); when the app has nothing left to send.

use std::collections::BTreeMap;

use bonusbridge::state::AppState;
use bonusplus_emulator::{EmulatorHandle, RecordedRequest};

use super::wait::wait_until;

/// The requests the app sent to `method` `path` (exactly; no query), oldest first.
pub fn requests_to(emu: &EmulatorHandle, method: &str, path: &str) -> Vec<RecordedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

/// `POST retail` requests the app sent, per `externalId`, that the emulator served: a request
/// answered by an injected failure never reached BonusPlus's booking and is not counted; a second
/// one for the same sale is, even if BonusPlus refused it.
pub fn sales_sent(emu: &EmulatorHandle) -> BTreeMap<String, usize> {
    sales_sent_in(&emu.requests())
}

/// [`sales_sent`] over part of the request log.
pub fn sales_sent_in(requests: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut sent = BTreeMap::new();
    for request in requests {
        if request.method == "POST" && request.path == "/retail" && !request.injected_failure {
            let id = request.body["externalId"].as_str().unwrap_or_default();
            *sent.entry(id.to_owned()).or_default() += 1;
        }
    }
    sent
}

/// `PUT retail/back` requests the app sent that the emulator served, per sale (a returned line's
/// `ext` is `{sale}:{line}`).
pub fn returns_sent(emu: &EmulatorHandle) -> BTreeMap<String, usize> {
    returns_sent_in(&emu.requests())
}

/// [`returns_sent`] over part of the request log.
pub fn returns_sent_in(requests: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut sent = BTreeMap::new();
    for request in requests {
        if request.method == "PUT" && request.path == "/retail/back" && !request.injected_failure {
            let ext = request.body["ext"].as_str().unwrap_or_default();
            let sale = ext.rsplit_once(':').map_or(ext, |(sale, _)| sale);
            *sent.entry(sale.to_owned()).or_default() += 1;
        }
    }
    sent
}

/// Waits until the app has nothing left to deliver: no operation pending, no job due or running,
/// no delivery attempt in progress. What BonusPlus has been sent by then is all it will be sent.
pub async fn settled(state: &AppState) {
    wait_until(|| async {
        state.outbox.deliveries_settled().await;
        let (pending, _) = state.store.operation_counts(None).await.unwrap();
        let backlog = state.store.job_backlog(None, None).await.unwrap();
        pending == 0 && backlog.ready == 0 && backlog.running == 0
    })
    .await;
}
