-- Bringing a shop's MoySklad counterparties into BonusPlus (issue 24). Times are epoch
-- milliseconds, money whole kopecks (BIGINT): exact sums on both backends.

-- One run of the import (a preview is a run that stops before writing to BonusPlus). `phase` is
-- where it stands (read, match, execute, finished), `state` whether it goes on (running, stopping,
-- stopped, done, failed); `cursor` is where the phase resumes (a MoySklad offset while reading, the
-- last row's `seq` after).
CREATE TABLE import_runs (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    dry_run BOOLEAN NOT NULL,
    options TEXT NOT NULL,
    phase TEXT NOT NULL,
    state TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    read_count BIGINT NOT NULL DEFAULT 0,
    filtered BIGINT NOT NULL DEFAULT 0,
    cursor BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    phase_started_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX import_runs_account ON import_runs(account_id, started_at);

-- Every counterparty a run took, in MoySklad's order (`seq`), and what it becomes: `decision`
-- pending → new / existing_phone / existing_card / skipped (with `problem`) / done_before (an
-- earlier run finished it). `phone` is the parsed phone (NULL: none usable), `target_phone` the
-- BonusPlus customer's after matching; `note` a problem that does not block (card not an EAN).
CREATE TABLE import_rows (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    counterparty_id TEXT NOT NULL,
    name TEXT NOT NULL,
    phone_raw TEXT,
    phone TEXT,
    card TEXT,
    ean TEXT,
    points_kopecks BIGINT NOT NULL,
    person TEXT NOT NULL,
    decision TEXT NOT NULL,
    problem TEXT,
    note TEXT,
    target_phone TEXT,
    credit_kopecks BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX import_rows_phone ON import_rows(run_id, phone);
CREATE INDEX import_rows_decision ON import_rows(run_id, decision, seq);
CREATE INDEX import_rows_account ON import_rows(account_id, run_id);

-- The ledger: one row per counterparty of an account, across runs — never twice, never lost.
-- `step` planned → created → sent → done; a credit is marked `sent` (committed) before
-- `PATCH customer/{phone}/balance` is called, `done` after its answer. A `sent` row found after a
-- crash is judged by the customer's balance (`balance_seen`) or parked for the shop.
CREATE TABLE import_ledger (
    account_id TEXT NOT NULL,
    counterparty_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    step TEXT NOT NULL,
    created_by_import BOOLEAN NOT NULL DEFAULT FALSE,
    credit_kopecks BIGINT NOT NULL DEFAULT 0,
    credited_kopecks BIGINT NOT NULL DEFAULT 0,
    balance_seen TEXT,
    reason TEXT,
    run_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, counterparty_id)
);
CREATE INDEX import_ledger_step ON import_ledger(account_id, step);
