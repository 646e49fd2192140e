-- Issue 22: BonusPlus answers that differ from an unconfirmed point of the wire contract (an error
-- body not {code, msg}, an unknown error code, a 404 naming no entity, a 2xx of another shape, a
-- date without offset, a card number that does not fit Int32, a PUT that would erase data, a
-- refused message route). One row per account and point: the shop sees each once; `seen` counts.
-- `shape` holds member names and JSON types only, never a value.
CREATE TABLE bonusplus_differences (
    account_id    TEXT   NOT NULL,
    point         TEXT   NOT NULL,
    endpoint      TEXT   NOT NULL,
    status        BIGINT NOT NULL,
    shape         TEXT   NOT NULL,
    detail        TEXT   NOT NULL,
    seen          BIGINT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, point)
);
