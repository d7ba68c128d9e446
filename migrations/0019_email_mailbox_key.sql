-- The mailbox an address delivers to (fidelis::mailbox_key: "+tag" dropped, Gmail's dots and
-- googlemail.com read away), kept only where it differs from email_key: matching on insert finds
-- jean.dupont@gmail.com through jeandupont+promo@gmail.com. Filled for stored rows at the first
-- start (customers::upgrade_stored_emails).
ALTER TABLE customer_emails ADD COLUMN mailbox_key TEXT {{binary}};
CREATE INDEX customer_emails_mailbox ON customer_emails (mailbox_key) WHERE mailbox_key IS NOT NULL;
