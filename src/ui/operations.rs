//! Sales and returns that need the shop: sales and returns BonusPlus refused for good (the reason
//! and what to do, in Russian; an administrator retries one), returns whose sale was not found (an
//! administrator matches them to a booked sale, or closes them), and operations booked with a note
//! (amounts rounded on arrival). `GET /ui/api/operations`, `POST /ui/api/operations/{id}/retry`,
//! `POST /ui/api/returns/{id}/match`, `POST /ui/api/returns/{id}/close`.
//! Must not depend on `loyalty_api` or `vendor_api`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{audit, changeable_account, parse_body, UiError, UiUser};
use crate::domain::attention::advise;
use crate::domain::audit::{operation as operation_name, AuditAction};
use crate::outbox::{Matched, OutboxError, Payload, Record};
use crate::state::AppState;
use crate::store::{OperationKind, OperationState};

/// Most entries of each list.
const LISTED: i64 = 50;

/// What `GET /ui/api/operations` answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationsView {
    /// Sales and returns BonusPlus refused for good, newest first.
    failed: Vec<OperationView>,
    /// Returns whose sale was not found.
    needs_attention: Vec<OperationView>,
    /// Operations recorded with a note (e.g. rounded amounts).
    noted: Vec<OperationView>,
    /// Recent booked sales, to match a return with.
    booked_sales: Vec<OperationView>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OperationView {
    id: String,
    kind: &'static str,
    state: &'static str,
    number: Option<String>,
    moment: Option<String>,
    /// Roubles, before discounts.
    sum: Option<Decimal>,
    lines: Vec<LineView>,
    reason: Option<String>,
    /// For a refused delivery: what the shop can do about it.
    what_to_do: Option<&'static str>,
    notes: Option<String>,
    recorded_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LineView {
    product: String,
    price: Decimal,
    quantity: Decimal,
}

/// `GET /ui/api/operations`
pub async fn list(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<OperationsView>, UiError> {
    operations(&state, &user.account_id).await.map(Json)
}

/// Body of `POST /ui/api/returns/{id}/match`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MatchBody {
    sale_id: String,
}

/// `POST /ui/api/returns/{id}/match`: administrators match a return that needs attention to a
/// booked sale; it is reversed once however often this is asked.
pub async fn match_to_sale(
    State(state): State<AppState>,
    user: UiUser,
    Path(return_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<OperationsView>, UiError> {
    user.require_admin()?;
    let body: MatchBody = parse_body(&body)?;
    let account = changeable_account(&state, &user).await?;
    let account_id = account.account_id.as_str();
    let matched = state
        .outbox
        .match_return(account_id, &return_id, &body.sale_id)
        .await
        .map_err(refused)?;
    if matched == Matched::Now {
        let details = format!(
            "{} → {}",
            named(&state, account_id, &return_id).await,
            named(&state, account_id, &body.sale_id).await
        );
        audit(
            &state,
            account_id,
            &user,
            AuditAction::ReturnMatched,
            &details,
        )
        .await;
    }
    operations(&state, account_id).await.map(Json)
}

/// `POST /ui/api/operations/{id}/retry`: administrators send a delivery BonusPlus refused for good
/// once more (after fixing its cause). Only a failed operation of the user's own account goes back
/// to the queue — once, however often this is asked — and is delivered at once; the answer is the
/// lists as they are afterwards (booked, or failed again with the new reason).
pub async fn retry(
    State(state): State<AppState>,
    user: UiUser,
    Path(operation_id): Path<String>,
) -> Result<Json<OperationsView>, UiError> {
    user.require_admin()?;
    let account = changeable_account(&state, &user).await?;
    let account_id = account.account_id.as_str();
    match state.outbox.retry_one(account_id, &operation_id).await? {
        Some(op) => {
            let details = operation_name(
                op.kind == OperationKind::Return,
                number_of(&op).as_deref(),
                &op.id,
            );
            audit(
                &state,
                account_id,
                &user,
                AuditAction::DeliveryRetried,
                &details,
            )
            .await;
        }
        // A second click (or another instance) retried it already: nothing more to do.
        None if state
            .store
            .operation::<Payload>(account_id, &operation_id)
            .await?
            .is_some() => {}
        None => return Err(UiError::new(StatusCode::NOT_FOUND, "Операция не найдена")),
    }
    operations(&state, account_id).await.map(Json)
}

/// `POST /ui/api/returns/{id}/close`: administrators close a return that needs attention without
/// reversing anything (e.g. its sale was made before the app was installed).
pub async fn close(
    State(state): State<AppState>,
    user: UiUser,
    Path(return_id): Path<String>,
) -> Result<Json<OperationsView>, UiError> {
    user.require_admin()?;
    let account = changeable_account(&state, &user).await?;
    let account_id = account.account_id.as_str();
    let why = format!("Закрыт без списания бонусов: {}", user.actor());
    if state
        .store
        .close_return(account_id, &return_id, &why)
        .await?
    {
        let details = named(&state, account_id, &return_id).await;
        audit(
            &state,
            account_id,
            &user,
            AuditAction::ReturnClosed,
            &details,
        )
        .await;
    }
    operations(&state, account_id).await.map(Json)
}

async fn operations(state: &AppState, account_id: &str) -> Result<OperationsView, UiError> {
    let store = &state.store;
    let (failed_sales, failed_returns, attention, noted, booked) = tokio::join!(
        store.operations_in_state(
            account_id,
            OperationKind::Sale,
            OperationState::Failed,
            LISTED
        ),
        store.operations_in_state(
            account_id,
            OperationKind::Return,
            OperationState::Failed,
            LISTED
        ),
        store.operations_in_state(
            account_id,
            OperationKind::Return,
            OperationState::NeedsAttention,
            LISTED
        ),
        store.operations_with_notes(account_id, LISTED),
        store.operations_in_state(
            account_id,
            OperationKind::Sale,
            OperationState::Delivered,
            LISTED
        ),
    );
    let mut failed: Vec<Record> = failed_sales?.into_iter().chain(failed_returns?).collect();
    failed.sort_by_key(|op| std::cmp::Reverse(op.created_at));
    let describe = |ops: Vec<Record>| ops.iter().map(describe).collect::<Vec<_>>();
    Ok(OperationsView {
        failed: describe(failed),
        needs_attention: describe(attention?),
        noted: describe(noted?),
        booked_sales: describe(booked?),
    })
}

/// An operation of the account named for the audit log: «продажа № 00077» (its id if unreadable).
async fn named(state: &AppState, account_id: &str, id: &str) -> String {
    match state.store.operation::<Payload>(account_id, id).await {
        Ok(Some(op)) => operation_name(
            op.kind == OperationKind::Return,
            number_of(&op).as_deref(),
            &op.id,
        ),
        _ => id.to_owned(),
    }
}

/// The number MoySklad gave the operation, if it can be read.
fn number_of(op: &Record) -> Option<String> {
    describe(op).number
}

/// An operation as the page lists it, read from what was recorded.
fn describe(op: &Record) -> OperationView {
    let advice = (op.state == OperationState::Failed).then(|| advise(op.last_error.as_deref()));
    let mut view = OperationView {
        id: op.id.clone(),
        kind: if op.kind == OperationKind::Sale {
            "sale"
        } else {
            "return"
        },
        state: op.state.into(),
        number: None,
        moment: None,
        sum: None,
        lines: Vec::new(),
        reason: match &advice {
            Some(advice) => Some(advice.reason.clone()),
            None => op.last_error.clone(),
        },
        what_to_do: advice.map(|advice| advice.what_to_do),
        notes: op.notes.clone(),
        recorded_at: op.created_at,
    };
    match &op.payload {
        Payload::Sale(sale) => {
            view.number = sale.name.clone();
            view.moment = sale.moment.clone();
            view.sum = Some(sale.lines.iter().map(|line| line.sum).sum());
            view.lines = sale
                .lines
                .iter()
                .map(|l| line(&l.product, l.price, l.quantity))
                .collect();
        }
        Payload::ReturnAwaitingSale(waiting) => {
            view.number = waiting.name.clone();
            view.moment = waiting.moment.clone();
            view.sum = Some(waiting.sum);
            view.lines = waiting
                .positions
                .iter()
                .map(|p| line(&p.product, p.price, p.quantity))
                .collect();
        }
        Payload::Return(returned) => {
            view.number = returned.name.clone();
            view.moment = returned.moment.clone();
            view.sum = Some(returned.parts.iter().map(|part| part.sum).sum());
        }
        Payload::Nothing | Payload::Unreadable(_) => {}
    }
    view
}

fn line(product: &str, price: Decimal, quantity: Decimal) -> LineView {
    LineView {
        product: product.to_owned(),
        price,
        quantity,
    }
}

/// A match that cannot be made, as the page shows it.
fn refused(error: OutboxError) -> UiError {
    match error {
        OutboxError::UnknownReturn => UiError::new(StatusCode::NOT_FOUND, "Возврат не найден"),
        OutboxError::NotBooked => UiError::invalid(
            "saleId",
            "Выберите продажу, проведённую в БонусПлюс, из списка",
        ),
        OutboxError::NothingLeft => UiError::new(
            StatusCode::CONFLICT,
            "В этой продаже не осталось возвращённых товаров: выберите другую продажу",
        ),
        OutboxError::Store(error) => error.into(),
        // A match records nothing new: a refusal of a new record cannot come from it.
        other
        @ (OutboxError::Corrupt(_) | OutboxError::UnmappedStore | OutboxError::Invalid(_)) => {
            tracing::error!(reason = %other, "a recorded operation cannot be read");
            UiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Не удалось прочитать записанную операцию",
            )
        }
    }
}
