-- The shop owner's view (issue 18): what the app did for the shop, day by day, counted by the
-- database. Times are epoch milliseconds, money whole kopecks (BIGINT): exact sums on both backends.

-- When BonusPlus booked an operation (the delivery sets it once), when it was last refused for good,
-- and the bonuses a booked sale spent (what `POST retail` sent as bonusDebit) and earned (what the
-- sale reported as bonusProgram.bonusValueToEarn: BonusPlus's answer to `POST retail` carries no
-- earned amount), in kopecks.
ALTER TABLE operations ADD COLUMN booked_at BIGINT;
ALTER TABLE operations ADD COLUMN failed_at BIGINT;
ALTER TABLE operations ADD COLUMN bonus_spent_kopecks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN bonus_earned_kopecks BIGINT NOT NULL DEFAULT 0;

-- Backfill: an operation delivered or failed before this version was last updated when that
-- happened. Its bonuses sit only inside its JSON payload (as decimal text), which the same portable
-- SQL cannot turn into exact kopecks: older sales count with zero bonuses.
UPDATE operations SET booked_at = updated_at WHERE state = 'delivered';
UPDATE operations SET failed_at = updated_at WHERE state = 'failed';

CREATE INDEX operations_booked ON operations(account_id, booked_at);
CREATE INDEX operations_failed ON operations(account_id, state, failed_at);

-- When the app created the customer in BonusPlus (registration at the till, at checkout or before a
-- code); NULL for customers BonusPlus already had. Not known for customers linked before this version.
ALTER TABLE customers ADD COLUMN registered_at BIGINT;
CREATE INDEX customers_registered ON customers(account_id, registered_at);

-- The shop's time zone as a fixed offset from UTC in minutes (Russia has no daylight saving):
-- which calendar day an operation belongs to. Default Moscow, UTC+3.
ALTER TABLE loyalty_settings ADD COLUMN utc_offset_minutes BIGINT NOT NULL DEFAULT 180;
