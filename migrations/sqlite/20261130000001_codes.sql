-- Verification codes (issue 14): how a code reaches the customer, the text of the message that
-- carries the bridge's own code, and every code texted (at most 5 per phone per hour).

-- 'own' (the bridge's random code through BonusPlus's sendMessage), 'bonusplus' (sendCode, used
-- only when BonusPlus reveals the code) or 'off'.
ALTER TABLE loyalty_settings ADD COLUMN code_delivery TEXT NOT NULL DEFAULT 'own';
-- Must contain {code}; at most 160 characters (checked by the settings page).
ALTER TABLE loyalty_settings ADD COLUMN code_message TEXT NOT NULL DEFAULT 'Код для кассы: {code}';

CREATE TABLE verification_sends (
    account_id  TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    sent_at     BIGINT NOT NULL
);
CREATE INDEX verification_sends_phone ON verification_sends(account_id, phone, sent_at);
