//! The read phase: counterparties page by page from MoySklad's JSON API, filtered and stored as the
//! run's rows (one transaction per page, the offset saved after it), then settled in SQL.
//! Part of the `import` service: must not depend on `state`, incoming modules or `jobs`.

use serde_json::json;

use super::{json_api_error, stop_requested, ImportContext, Inputs, Outcome};
use crate::domain::customer_import::{Candidate, Counterparty, Gender, KOPECKS_PER_POINT};
use crate::store::{ImportRow, ImportRun, StoreError};

/// Reads from the saved offset to the end of the list.
pub(super) async fn read(
    ctx: &ImportContext,
    inputs: &Inputs,
    run: &mut ImportRun,
) -> Result<Outcome, super::ImportError> {
    loop {
        if stop_requested(ctx, run).await? {
            return Ok(Outcome::Stopped);
        }
        let offset = u64::try_from(run.cursor).unwrap_or(0);
        let page = ctx
            .json_api
            .counterparty_page(&inputs.token, offset, ctx.settings.page_size)
            .await
            .map_err(json_api_error)?;
        run.total = i64::try_from(page.total).unwrap_or(i64::MAX);
        let next = page.next_offset();
        let first_seq = i64::try_from(page.offset).unwrap_or(run.cursor);
        let rows: Vec<ImportRow> = page
            .rows
            .into_iter()
            .enumerate()
            .filter(|(_, counterparty)| inputs.options.filters.admits(counterparty))
            .map(|(i, counterparty)| row_of(run, first_seq + i as i64, counterparty))
            .collect();
        ctx.store.add_import_rows(&rows).await?;
        run.cursor = next.map_or(run.total, |next| i64::try_from(next).unwrap_or(i64::MAX));
        run.read_count = run.cursor;
        run.processed = run.cursor;
        ctx.store.save_import_progress(run).await?;
        if next.is_none() {
            settle(ctx, run).await?;
            return Ok(Outcome::Finished);
        }
    }
}

async fn settle(ctx: &ImportContext, run: &mut ImportRun) -> Result<(), StoreError> {
    ctx.store
        .settle_read_import_rows(&run.id, &run.account_id)
        .await?;
    let counts = ctx.store.import_decision_counts(&run.id).await?;
    let taken: i64 = counts.iter().map(|(_, _, rows, _)| rows).sum();
    run.filtered = (run.read_count - taken).max(0);
    ctx.store.save_import_progress(run).await
}

/// A counterparty as a row of the run: its phone parsed (or the phone's problem kept, pending
/// the card lookup), its card checked.
fn row_of(run: &ImportRun, seq: i64, counterparty: Counterparty) -> ImportRow {
    let candidate = Candidate::new(counterparty);
    let cp = &candidate.counterparty;
    let person = json!({
        "firstName": cp.first_name, "lastName": cp.last_name, "middleName": cp.middle_name,
        "email": cp.email, "birthDate": cp.birth_date,
        "sex": cp.sex.map(|sex| match sex { Gender::Male => "male", Gender::Female => "female" }),
    });
    ImportRow {
        run_id: run.id.clone(),
        seq,
        account_id: run.account_id.clone(),
        counterparty_id: cp.id.clone(),
        name: cp.name.clone(),
        phone_raw: cp.phone.clone(),
        phone: candidate.phone.as_ref().ok().map(|p| p.as_str().to_owned()),
        card: crate::domain::customer_import::card_of(cp).map(str::to_owned),
        ean: candidate.ean.as_ref().map(|e| e.as_str().to_owned()),
        points_kopecks: cp.points.saturating_mul(KOPECKS_PER_POINT),
        person: person.to_string(),
        decision: "pending".into(),
        problem: candidate
            .phone
            .as_ref()
            .err()
            .map(|p| p.as_ref().to_owned()),
        note: candidate.note().map(|p| p.as_ref().to_owned()),
        target_phone: None,
        credit_kopecks: 0,
    }
}
