-- Initial schema (SQLite). Times are Unix epoch milliseconds (BIGINT) so that the same queries
-- run on both backends; money is stored as exact decimal text; JSON documents as TEXT.

-- A MoySklad account that installed the app.
CREATE TABLE accounts (
    account_id        TEXT PRIMARY KEY,          -- MoySklad account UUID
    app_id            TEXT NOT NULL,
    account_name      TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,             -- SettingsRequired | Activated | Suspended | Uninstalled
    reported_status   TEXT,                      -- last status MoySklad has from us (never push Activated twice)
    subscription      TEXT,                      -- JSON as MoySklad sent it
    access_token_enc  BLOB,                     -- JSON API token, encrypted (key id inside the envelope)
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- Loyalty settings chosen on the settings page.
CREATE TABLE loyalty_settings (
    account_id              TEXT PRIMARY KEY REFERENCES accounts(account_id) ON DELETE CASCADE,
    bonusplus_key_enc       BLOB,               -- BonusPlus API key, encrypted
    default_store           TEXT NOT NULL DEFAULT '',
    store_map               TEXT NOT NULL DEFAULT '{}', -- JSON: MoySklad retail store id -> BonusPlus store
    external_search         BOOLEAN NOT NULL DEFAULT TRUE,
    spend_requires_code     BOOLEAN NOT NULL DEFAULT FALSE,
    register_requires_code  BOOLEAN NOT NULL DEFAULT FALSE,
    reserve_ttl_secs        BIGINT NOT NULL DEFAULT 900,
    updated_at              BIGINT NOT NULL,
    updated_by              TEXT NOT NULL DEFAULT ''
);

-- LoyaltyAPI tokens: only a hash is kept; the clear token exists once, on its way to MoySklad.
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_tokens_account ON api_tokens(account_id);

-- Customer identity: BonusPlus knows a customer by phone; MoySklad by counterparty id; we answer a GUID.
CREATE TABLE customers (
    account_id          TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    phone               TEXT NOT NULL,
    customer_guid       TEXT NOT NULL,
    ms_counterparty_id  TEXT,
    card_number         TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (account_id, phone)
);
CREATE UNIQUE INDEX customers_guid ON customers(account_id, customer_guid);
CREATE INDEX customers_ms_id ON customers(account_id, ms_counterparty_id);

-- Sales and returns, recorded before they are delivered to BonusPlus.
CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,              -- sale | return
    idempotency_key  TEXT NOT NULL,
    ms_id            TEXT,                       -- MoySklad's id of the sale / return
    sale_id          TEXT,                       -- for a return: our id of the original sale
    phone            TEXT,
    state            TEXT NOT NULL,              -- pending | delivered | failed | nothing_to_do
    payload          TEXT NOT NULL,              -- what is (to be) sent to BonusPlus, JSON
    response         TEXT,                       -- what BonusPlus answered, JSON
    last_error       TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (account_id, kind, idempotency_key)
);
CREATE INDEX operations_ms_id ON operations(account_id, kind, ms_id);
CREATE INDEX operations_state ON operations(state, updated_at);

-- Bonus reserves made for receipts being calculated at a till.
CREATE TABLE reserves (
    id               TEXT PRIMARY KEY,           -- the order id sent to BonusPlus
    account_id       TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    phone            TEXT NOT NULL,
    retail_store_id  TEXT NOT NULL,
    amount           TEXT NOT NULL,              -- exact decimal
    state            TEXT NOT NULL,              -- intended | active | releasing | released | consumed
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX reserves_lookup ON reserves(account_id, phone, retail_store_id, state);
CREATE INDEX reserves_expiry ON reserves(state, expires_at);

-- The job queue (transactional outbox) for background work.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    dedupe_key    TEXT UNIQUE,                   -- at most one job per key
    state         TEXT NOT NULL,                 -- ready | running | done | failed
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    run_at        BIGINT NOT NULL,
    locked_by     TEXT,
    locked_until  BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs(state, run_at);

-- Product synchronisation runs (MoySklad catalogue -> BonusPlus).
CREATE TABLE sync_runs (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    state        TEXT NOT NULL,                  -- running | done | failed
    full_import  BOOLEAN NOT NULL,
    total        BIGINT NOT NULL DEFAULT 0,
    processed    BIGINT NOT NULL DEFAULT 0,
    sent         BIGINT NOT NULL DEFAULT 0,
    errors       BIGINT NOT NULL DEFAULT 0,
    cursor       TEXT,                           -- where to resume
    last_error   TEXT,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX sync_runs_account ON sync_runs(account_id, started_at);

-- What was last imported per product, to send only what changed.
CREATE TABLE synced_products (
    account_id   TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    store        TEXT NOT NULL,
    product_id   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    synced_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, store, product_id)
);

-- Vendor API JWT ids already seen (replay protection shared by every instance).
CREATE TABLE seen_jwt_ids (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX seen_jwt_ids_expiry ON seen_jwt_ids(expires_at);

-- Settings-page sessions (bearer tokens, stored hashed).
CREATE TABLE ui_sessions (
    token_hash  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    user_name   TEXT NOT NULL,
    user_login  TEXT NOT NULL,
    is_admin    BOOLEAN NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Verification codes requested at a till (to avoid a second SMS inside the repeat window).
CREATE TABLE verification_requests (
    account_id  TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    purpose     TEXT NOT NULL,                   -- register | spend
    sent_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, phone, purpose)
);

-- Who changed what, never the secret itself.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log(account_id, at);

-- Recent LoyaltyAPI calls per account, for "why no bonuses?" on the settings page.
CREATE TABLE api_calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    status      BIGINT NOT NULL,
    error       TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX api_calls_account ON api_calls(account_id, at);
