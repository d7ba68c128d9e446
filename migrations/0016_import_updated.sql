-- Rows that updated a customer they name (its Fidelis id, its id in a source, its e-mails alone),
-- counted apart from the rows the duplicate model merged.
ALTER TABLE imports ADD COLUMN updated BIGINT NOT NULL DEFAULT 0;
