-- «Куда отправлять код» (issue 22): `sms` (SMS only, the default) or `telegram_vk_sms`
-- (Telegram, else VK, else SMS), sent as `route` with each code message.
ALTER TABLE loyalty_settings ADD COLUMN message_route TEXT NOT NULL DEFAULT 'sms';
