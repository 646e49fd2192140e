//! What the page, the command line and the audit log show of a run: progress with an estimate,
//! the preview's exact counts (counted by the database), the result, and the CSV of problem rows.
//! Part of the `import` service: must not depend on `state`, incoming modules or `jobs`.

use rust_decimal::Decimal;
use serde::Serialize;

use super::ImportOptions;
use crate::domain::customer_import::{csv_line, Problem, CSV_HEADER, KOPECKS_PER_POINT};
use crate::store::{now_ms, ImportRun, Store, StoreError};

/// A run as the page shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportStatus {
    pub id: String,
    pub dry_run: bool,
    /// `read`, `match`, `execute`, `finished`.
    pub phase: String,
    /// `running`, `stopping`, `stopped`, `done`, `failed`.
    pub state: String,
    pub options: ImportOptions,
    /// Counterparties MoySklad reports.
    pub total: i64,
    /// Rows of the current phase done, out of `phase_total`.
    pub processed: i64,
    pub phase_total: i64,
    pub percent: i64,
    /// Seconds left in the current phase at the pace so far; `None` before there is a pace.
    pub eta_seconds: Option<i64>,
    pub last_error: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub preview: Preview,
    pub result: RunResult,
}

/// What the run found (exact once matching is done).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub read: i64,
    /// Left out by the filters.
    pub filtered: i64,
    pub new: i64,
    pub existing_by_phone: i64,
    pub existing_by_card: i64,
    /// Finished by an earlier run: skipped.
    pub done_before: i64,
    /// Not matched yet.
    pub pending: i64,
    pub problems: Vec<ProblemCount>,
    /// Brought over with a remark (e.g. without the card).
    pub notes: Vec<ProblemCount>,
    pub to_credit: i64,
    /// Σ points to carry, roubles with kopecks, exact.
    pub to_credit_total: Decimal,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemCount {
    pub code: String,
    pub reason: String,
    pub count: i64,
}

/// What the run did in BonusPlus (the ledger rows it wrote).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub created: i64,
    pub linked: i64,
    pub credited: i64,
    pub credited_total: Decimal,
    /// Credits whose answer was lost and that nothing proves: «требует решения».
    pub parked: i64,
    pub failed: i64,
    /// In flight (a crash's leftovers wait for the next attempt).
    pub in_flight: i64,
}

pub async fn status(store: &Store, run: &ImportRun) -> Result<ImportStatus, StoreError> {
    let preview = preview(store, run).await?;
    let result = result(store, &run.id).await?;
    let phase_total = match run.phase.as_str() {
        "read" => run.total,
        "match" => preview.pending + run.processed,
        "execute" => preview.new + preview.existing_by_phone + preview.existing_by_card,
        _ => run.processed,
    };
    let percent = match (run.phase.as_str(), phase_total) {
        ("finished", _) => 100,
        (_, 0) => 0,
        (_, total) => (run.processed * 100 / total).clamp(0, 100),
    };
    Ok(ImportStatus {
        id: run.id.clone(),
        dry_run: run.dry_run,
        phase: run.phase.clone(),
        state: run.state.clone(),
        options: serde_json::from_str(&run.options).unwrap_or_default(),
        total: run.total,
        processed: run.processed,
        phase_total,
        percent,
        eta_seconds: eta(run, phase_total),
        last_error: run.last_error.clone(),
        started_at: run.started_at,
        finished_at: run.finished_at,
        preview,
        result,
    })
}

fn eta(run: &ImportRun, phase_total: i64) -> Option<i64> {
    let elapsed = now_ms() - run.phase_started_at;
    if run.state != "running" || run.processed <= 0 || elapsed <= 0 {
        return None;
    }
    let left = (phase_total - run.processed).max(0);
    Some(left.saturating_mul(elapsed) / run.processed / 1000)
}

async fn preview(store: &Store, run: &ImportRun) -> Result<Preview, StoreError> {
    let mut preview = Preview {
        read: run.read_count,
        filtered: run.filtered,
        ..Preview::default()
    };
    let mut credit_kopecks = 0;
    for (decision, problem, rows, credit) in store.import_decision_counts(&run.id).await? {
        match decision.as_str() {
            "new" => preview.new += rows,
            "existing_phone" => preview.existing_by_phone += rows,
            "existing_card" => preview.existing_by_card += rows,
            "done_before" => preview.done_before += rows,
            "pending" => preview.pending += rows,
            _ => preview
                .problems
                .push(problem_count(problem.as_deref().unwrap_or_default(), rows)),
        }
        credit_kopecks += credit;
    }
    preview.to_credit = store.import_credit_rows(&run.id).await?;
    preview.to_credit_total = Decimal::new(credit_kopecks, 2);
    for (note, rows) in store.import_note_counts(&run.id).await? {
        preview.notes.push(problem_count(&note, rows));
    }
    Ok(preview)
}

fn problem_count(code: &str, count: i64) -> ProblemCount {
    let reason = code
        .parse::<Problem>()
        .map(|p| p.reason_ru().to_owned())
        .unwrap_or_else(|_| code.to_owned());
    ProblemCount {
        code: code.to_owned(),
        reason,
        count,
    }
}

async fn result(store: &Store, run_id: &str) -> Result<RunResult, StoreError> {
    let mut result = RunResult::default();
    let mut credited_kopecks = 0;
    for (step, rows, created, credited) in store.ledger_counts(run_id).await? {
        result.created += created;
        credited_kopecks += credited;
        match step.as_str() {
            "done" => {
                result.linked += rows;
            }
            "parked" => {
                result.linked += rows;
                result.parked += rows;
            }
            "failed" => {
                result.linked += rows;
                result.failed += rows;
            }
            "created" | "sent" => {
                result.linked += rows;
                result.in_flight += rows;
            }
            _ => result.in_flight += rows,
        }
    }
    result.credited = store.ledger_credited_rows(run_id).await?;
    result.credited_total = Decimal::new(credited_kopecks, 2);
    Ok(result)
}

/// The report in one Russian line, for the audit log and the command line.
pub fn summary_ru(status: &ImportStatus) -> String {
    let p = &status.preview;
    let r = &status.result;
    let problems: i64 = p.problems.iter().map(|c| c.count).sum();
    if status.dry_run {
        format!(
            "Предпросмотр: прочитано {}, новых {}, уже в БонусПлюс {} (по телефону {}, по карте {}), \
             перенесено раньше {}, с проблемами {}, отфильтровано {}; к начислению {} покупателям {} бонусов",
            p.read,
            p.new,
            p.existing_by_phone + p.existing_by_card,
            p.existing_by_phone,
            p.existing_by_card,
            p.done_before,
            problems,
            p.filtered,
            p.to_credit,
            p.to_credit_total
        )
    } else {
        format!(
            "Перенос: создано {}, связано {}, начислено {} покупателям {} бонусов, требуют решения {}, \
             отказов {}, пропущено с проблемами {}, перенесено раньше {}",
            r.created, r.linked, r.credited, r.credited_total, r.parked, r.failed, problems, p.done_before
        )
    }
}

/// Every problem row of a run (and every row brought over with a remark) as CSV, with its reason.
pub async fn problems_csv(store: &Store, run_id: &str) -> Result<String, StoreError> {
    let mut csv = String::from("\u{feff}");
    csv.push_str(CSV_HEADER);
    csv.push_str("\r\n");
    let mut after = -1;
    loop {
        let rows = store.import_problem_rows(run_id, after, 1000).await?;
        let Some(last) = rows.last().map(|row| row.seq) else {
            return Ok(csv);
        };
        for row in &rows {
            let code = row
                .problem
                .as_deref()
                .or(row.note.as_deref())
                .unwrap_or_default();
            let reason = code
                .parse::<Problem>()
                .map(Problem::reason_ru)
                .unwrap_or(code);
            let points = (row.points_kopecks / KOPECKS_PER_POINT).to_string();
            csv.push_str(&csv_line(&[
                &row.counterparty_id,
                &row.name,
                row.phone_raw.as_deref().unwrap_or_default(),
                row.card.as_deref().unwrap_or_default(),
                &points,
                reason,
            ]));
            csv.push_str("\r\n");
        }
        after = last;
    }
}
