-- Every customer and every sale at the till (issue 15).

-- Checkout settings of an account: register customers BonusPlus does not know yet at the till, and
-- how far back a return without its sale's id looks for the customer's sale.
ALTER TABLE loyalty_settings ADD COLUMN create_customers BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE loyalty_settings ADD COLUMN return_window_days BIGINT NOT NULL DEFAULT 14;

-- A rotated LoyaltyAPI token is pending until MoySklad confirms it (its answer, or the till using
-- it); the previous token keeps working until then.
ALTER TABLE api_tokens ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;

-- Who a sale or return was for and where, as MoySklad sent it (returns look for their sale by
-- them), and what was noted on arrival (amounts rounded).
ALTER TABLE operations ADD COLUMN retail_store_id TEXT;
ALTER TABLE operations ADD COLUMN counterparty_id TEXT;
ALTER TABLE operations ADD COLUMN notes TEXT;
CREATE INDEX operations_customer ON operations(account_id, kind, counterparty_id, created_at);

-- Product sync: MoySklad's syncId of a product beside its id, so goods created at the till (sent
-- with idType "sync") are named to BonusPlus by the id product sync imported.
CREATE TABLE product_sync_ids (
    account_id  TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    sync_id     TEXT NOT NULL,
    product_id  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, sync_id)
);
