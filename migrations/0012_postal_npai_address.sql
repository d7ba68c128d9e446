-- The postal address a returned-mail flag was raised for: once the customer's address changes,
-- the flag no longer applies (deliverability/deliverability.h: PostalNpai).
ALTER TABLE postal_npai ADD COLUMN address_key TEXT NOT NULL DEFAULT '';
