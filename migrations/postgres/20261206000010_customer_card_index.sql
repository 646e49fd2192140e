-- A card names one customer: linking it takes it from any other phone of the account, found by this index
-- (as the till's card lookups are).
CREATE INDEX customers_card ON customers(account_id, card_number);
