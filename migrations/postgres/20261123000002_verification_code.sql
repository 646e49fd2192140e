-- The code answered to the till, sealed like every secret, so a repeated request inside the repeat
-- window answers the same code without a second SMS.
ALTER TABLE verification_requests ADD COLUMN code_enc BYTEA;
