//! The match phase: each pending row asked of BonusPlus — by phone, then by card when the phone
//! found no one — and decided by `domain::customer_import::decide`; decisions saved per chunk.
//! Part of the `import` service: must not depend on `state`, incoming modules or `jobs`.

use std::ops::ControlFlow;

use futures::StreamExt;

use super::{
    bonusplus_error, next_chunk, save_cursor, ImportContext, ImportError, Inputs, Outcome,
};
use crate::bonusplus::BonusPlusError;
use crate::domain::customer_import::{
    decide, planned_credit, Candidate, Counterparty, Decision, Found, Problem, KOPECKS_PER_POINT,
};
use crate::domain::ean::Ean;
use crate::domain::phone::Phone;
use crate::store::{ImportRow, ImportRun};

/// Rows decided per chunk (and per saved cursor).
const CHUNK: i64 = 200;

pub(super) async fn match_rows(
    ctx: &ImportContext,
    inputs: &Inputs,
    run: &mut ImportRun,
) -> Result<Outcome, ImportError> {
    loop {
        let (rows, last) = match next_chunk(ctx, run, "pending", CHUNK).await? {
            ControlFlow::Continue(chunk) => chunk,
            ControlFlow::Break(outcome) => return Ok(outcome),
        };
        let count = rows.len() as i64;
        let decided: Vec<Result<ImportRow, ImportError>> = futures::stream::iter(rows)
            .map(|row| match_row(ctx, inputs, row))
            .buffered(ctx.settings.concurrency.max(1))
            .collect()
            .await;
        let decided = decided.into_iter().collect::<Result<Vec<_>, _>>()?;
        ctx.store.save_import_decisions(&decided).await?;
        save_cursor(ctx, run, last, count).await?;
    }
}

async fn match_row(
    ctx: &ImportContext,
    inputs: &Inputs,
    mut row: ImportRow,
) -> Result<ImportRow, ImportError> {
    let candidate = candidate_of(&row);
    let mut found = Found::default();
    if let Ok(phone) = &candidate.phone {
        ctx.pace().await;
        found.by_phone = known(ctx.bonusplus.get_customer(&inputs.key, phone).await)?.is_some();
    }
    if let (true, Some(ean)) = (candidate.card_lookup_needed(found.by_phone), &candidate.ean) {
        ctx.pace().await;
        let holder = known(ctx.bonusplus.get_customer_by_ean(&inputs.key, ean).await)?;
        found.card_holder = holder.and_then(|customer| Phone::parse(&customer.phone).ok());
    }
    let decision = decide(&candidate, &found);
    row.decision = decision.code().to_owned();
    row.problem = match &decision {
        Decision::Skipped(problem) => Some(problem.as_ref().to_owned()),
        _ => None,
    };
    row.target_phone = decision.phone().map(|p| p.as_str().to_owned());
    row.credit_kopecks = planned_credit(
        decision.code(),
        row.points_kopecks,
        inputs.options.credit_existing,
    );
    Ok(row)
}

/// A lookup's answer: the customer, or `None` when BonusPlus has none.
fn known<T>(answer: Result<T, BonusPlusError>) -> Result<Option<T>, ImportError> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(BonusPlusError::NotFound) => Ok(None),
        Err(error) => Err(bonusplus_error(error)),
    }
}

/// The row read back as the domain's candidate.
pub(super) fn candidate_of(row: &ImportRow) -> Candidate {
    let phone = match row.phone.as_deref().map(Phone::parse) {
        Some(Ok(phone)) => Ok(phone),
        _ => Err(row
            .problem
            .as_deref()
            .and_then(|code| code.parse::<Problem>().ok())
            .filter(|p| matches!(p, Problem::NoPhone | Problem::InvalidPhone))
            .unwrap_or(Problem::NoPhone)),
    };
    Candidate {
        counterparty: Counterparty {
            id: row.counterparty_id.clone(),
            name: row.name.clone(),
            card: row.card.clone(),
            points: row.points_kopecks / KOPECKS_PER_POINT,
            ..Counterparty::default()
        },
        phone,
        ean: row.ean.as_deref().and_then(|e| Ean::parse(e).ok()),
    }
}
