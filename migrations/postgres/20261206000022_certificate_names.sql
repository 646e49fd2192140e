-- Issue 22: gift certificates by their printed number. BonusPlus looks certificates up only by
-- GUID; the app remembers every certificate it has seen (GUID ↔ `name`) and the shop's imported
-- list, per account. `number_key` is the printed number without spaces, in upper case.
CREATE TABLE certificate_names (
    account_id     TEXT   NOT NULL,
    number_key     TEXT   NOT NULL,
    number         TEXT   NOT NULL,
    certificate_id TEXT   NOT NULL,
    source         TEXT   NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, number_key)
);
