//! The execute phase: customers created (`POST customer`, no registration message, the card as
//! `ean`, the default store), counterparties linked, points credited once — and the recovery of
//! credits a crash left without an answer.
//! Part of the `import` service: must not depend on `state`, incoming modules or `jobs`.
//!
//! The ledger row of a counterparty is written before each call to BonusPlus: `planned` before the
//! creation, `created` once the customer exists and is linked, `sent` (committed) before the
//! balance call, `done` after its answer. A definite refusal marks it `failed` with the reason. A
//! lost answer leaves it `sent`: the next attempt judges it by the customer's balance
//! (`domain::customer_import::recover`) — credited, not credited (then sent), or parked
//! «требует решения» with both figures — and never sends it blindly again.

use std::ops::ControlFlow;

use futures::StreamExt;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::macros::format_description;

use super::matching::candidate_of;
use super::{
    bonusplus_error, next_chunk, save_cursor, ImportContext, ImportError, Inputs, Outcome,
};
use crate::bonusplus::{BonusPlusError, NewCustomer, Sex};
use crate::domain::customer_import::{recover, Recovery};
use crate::domain::keys::customer_guid;
use crate::domain::phone::Phone;
use crate::store::{CustomerLink, ImportRow, ImportRun, LedgerEntry};

const CHUNK: i64 = 100;
const TO_EXECUTE: &str = "new,existing_phone,existing_card";

pub(super) async fn execute(
    ctx: &ImportContext,
    inputs: &Inputs,
    run: &mut ImportRun,
) -> Result<Outcome, ImportError> {
    recover_sent(ctx, inputs, &run.account_id).await?;
    loop {
        let (rows, last) = match next_chunk(ctx, run, TO_EXECUTE, CHUNK).await? {
            ControlFlow::Continue(chunk) => chunk,
            ControlFlow::Break(outcome) => return Ok(outcome),
        };
        let count = rows.len() as i64;
        let results: Vec<Result<(), ImportError>> = futures::stream::iter(rows)
            .map(|row| execute_row(ctx, inputs, row))
            .buffer_unordered(ctx.settings.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        save_cursor(ctx, run, last, count).await?;
    }
}

/// Brings one counterparty over, from wherever its ledger row stands.
async fn execute_row(
    ctx: &ImportContext,
    inputs: &Inputs,
    row: ImportRow,
) -> Result<(), ImportError> {
    let Some(phone) = row
        .target_phone
        .as_deref()
        .and_then(|p| Phone::parse(p).ok())
    else {
        return Ok(());
    };
    let known = ctx
        .store
        .ledger_entry(&row.account_id, &row.counterparty_id)
        .await?;
    // A `planned` row left by an earlier attempt: its `POST customer` may have been made with the
    // answer lost, so "already exists" then means the import created the customer.
    let retried = known.as_ref().is_some_and(|entry| entry.step == "planned");
    let mut entry = match known {
        Some(entry) if entry.step != "planned" => entry,
        _ => planned(&row, &phone),
    };
    if entry.step == "planned" {
        ctx.store.save_ledger_entry(&entry).await?;
        let created = row.decision == "new" && create(ctx, inputs, &row, &phone, retried).await?;
        entry.created_by_import = created;
        if !created && !inputs.options.credit_existing {
            entry.credit_kopecks = 0;
        }
        link(ctx, &row, &phone, created).await?;
        entry.step = "created".into();
        ctx.store.save_ledger_entry(&entry).await?;
    }
    if entry.step == "created" {
        credit(ctx, inputs, &mut entry).await?;
    }
    Ok(())
}

fn planned(row: &ImportRow, phone: &Phone) -> LedgerEntry {
    LedgerEntry {
        account_id: row.account_id.clone(),
        counterparty_id: row.counterparty_id.clone(),
        phone: phone.as_str().to_owned(),
        step: "planned".into(),
        created_by_import: false,
        credit_kopecks: row.credit_kopecks,
        credited_kopecks: 0,
        balance_seen: None,
        reason: None,
        run_id: row.run_id.clone(),
    }
}

/// `POST customer`; `true` when the import created the customer, `false` when BonusPlus had the
/// phone meanwhile (`CUSTOMER_ALREADY_EXIST`) — unless this is a `retried` creation, whose first
/// attempt is what made it exist.
async fn create(
    ctx: &ImportContext,
    inputs: &Inputs,
    row: &ImportRow,
    phone: &Phone,
    retried: bool,
) -> Result<bool, ImportError> {
    let customer = new_customer(row, phone, inputs.store.as_deref());
    ctx.pace().await;
    match ctx.bonusplus.create_customer(&inputs.key, &customer).await {
        Ok(_) => Ok(true),
        Err(BonusPlusError::AlreadyExists) => Ok(retried),
        Err(error) => Err(bonusplus_error(error)),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PersonData {
    first_name: Option<String>,
    last_name: Option<String>,
    middle_name: Option<String>,
    email: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
}

fn new_customer(row: &ImportRow, phone: &Phone, store: Option<&str>) -> NewCustomer {
    let person: PersonData = serde_json::from_str(&row.person).unwrap_or_default();
    let date = format_description!("[year]-[month]-[day]");
    let mut customer = NewCustomer::new(phone.clone());
    customer.first_name = person.first_name;
    customer.last_name = person.last_name;
    customer.middle_name = person.middle_name;
    customer.email = person.email;
    customer.birth_day = person
        .birth_date
        .and_then(|d| time::Date::parse(&d, &date).ok());
    customer.sex = match person.sex.as_deref() {
        Some("male") => Some(Sex::Male),
        Some("female") => Some(Sex::Female),
        _ => None,
    };
    if customer.first_name.is_none() && customer.last_name.is_none() && !row.name.is_empty() {
        customer.first_name = Some(row.name.clone());
    }
    customer.ean = candidate_of(row).ean;
    customer.store = store.map(str::to_owned);
    customer.no_reg_notification = true;
    customer
}

/// Links the counterparty (and its card) to the customer, so the till's first search finds them.
async fn link(
    ctx: &ImportContext,
    row: &ImportRow,
    phone: &Phone,
    created: bool,
) -> Result<(), ImportError> {
    let link = CustomerLink {
        account_id: row.account_id.clone(),
        phone: phone.as_str().to_owned(),
        customer_guid: customer_guid(&row.account_id, phone.as_str()),
        ms_counterparty_id: Some(row.counterparty_id.clone()),
        card_number: row.ean.clone().or_else(|| row.card.clone()),
    };
    ctx.customers.save_link(&link, created).await?;
    Ok(())
}

/// Credits the entry's points once: `sent` is committed first; the answer makes it `done` or
/// `failed`; no answer leaves it `sent` for [`recover_sent`].
async fn credit(
    ctx: &ImportContext,
    inputs: &Inputs,
    entry: &mut LedgerEntry,
) -> Result<(), ImportError> {
    if entry.credit_kopecks <= 0 {
        entry.step = "done".into();
        ctx.store.save_ledger_entry(entry).await?;
        return Ok(());
    }
    entry.step = "sent".into();
    ctx.store.save_ledger_entry(entry).await?;
    send_credit(ctx, inputs, entry).await
}

/// The phone a ledger row was written for (a row that no longer reads as one is a defect).
fn ledger_phone(entry: &LedgerEntry) -> Result<Phone, ImportError> {
    Phone::parse(&entry.phone)
        .map_err(|_| ImportError::Permanent("в журнале переноса неверный телефон".into()))
}

async fn send_credit(
    ctx: &ImportContext,
    inputs: &Inputs,
    entry: &mut LedgerEntry,
) -> Result<(), ImportError> {
    let phone = ledger_phone(entry)?;
    let days = inputs
        .options
        .burns_in_days
        .unwrap_or(super::MAX_BURNS_IN_DAYS);
    let amount = Decimal::new(entry.credit_kopecks, 2);
    ctx.pace().await;
    match ctx
        .bonusplus
        .credit_balance(&inputs.key, &phone, amount, days)
        .await
    {
        Ok(()) => {
            entry.step = "done".into();
            entry.credited_kopecks = entry.credit_kopecks;
        }
        Err(error)
            if error.is_retryable() || matches!(error, BonusPlusError::Unexpected { .. }) =>
        {
            // The credit may have been made: the row stays `sent` for the recovery.
            return Err(ImportError::Retry(error.describe_ru()));
        }
        Err(error) => {
            entry.step = "failed".into();
            entry.reason = Some(error.describe_ru());
        }
    }
    ctx.store.save_ledger_entry(entry).await?;
    Ok(())
}

/// Judges every credit of the account left `sent` (its answer lost) by the customer's balance.
pub(super) async fn recover_sent(
    ctx: &ImportContext,
    inputs: &Inputs,
    account_id: &str,
) -> Result<(), ImportError> {
    loop {
        let sent = ctx.store.ledger_in_step(account_id, "sent", 100).await?;
        if sent.is_empty() {
            return Ok(());
        }
        for mut entry in sent {
            recover_one(ctx, inputs, &mut entry).await?;
        }
    }
}

async fn recover_one(
    ctx: &ImportContext,
    inputs: &Inputs,
    entry: &mut LedgerEntry,
) -> Result<(), ImportError> {
    let phone = ledger_phone(entry)?;
    ctx.pace().await;
    let balance = match ctx.bonusplus.get_customer(&inputs.key, &phone).await {
        Ok(customer) => customer.available_bonuses,
        Err(BonusPlusError::NotFound) => None,
        Err(error) => return Err(bonusplus_error(error)),
    };
    let verdict = balance.map_or(Recovery::Uncertain, |balance| {
        recover(entry.created_by_import, entry.credit_kopecks, balance)
    });
    tracing::info!(counterparty = %entry.counterparty_id, ?verdict, "customer import: credit without answer judged");
    match verdict {
        Recovery::Credited => {
            entry.step = "done".into();
            entry.credited_kopecks = entry.credit_kopecks;
        }
        Recovery::NotCredited => return send_credit(ctx, inputs, entry).await,
        Recovery::Uncertain => {
            entry.step = "parked".into();
            entry.balance_seen = balance.map(|b| b.to_string());
            entry.reason = Some(format!(
                "Требует решения: ответ БонусПлюс на начисление {} бонусов потерян, на балансе сейчас {}. \
                 Проверьте начисление в кабинете БонусПлюс",
                Decimal::new(entry.credit_kopecks, 2),
                balance.map_or_else(|| "неизвестно".to_owned(), |b| b.to_string()),
            ));
        }
    }
    ctx.store.save_ledger_entry(entry).await?;
    Ok(())
}
