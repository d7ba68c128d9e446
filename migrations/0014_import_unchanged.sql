-- Rows that matched a customer and brought nothing new (the same record sent again): counted apart
-- from the rows that changed the customer they matched.
ALTER TABLE imports ADD COLUMN unchanged BIGINT NOT NULL DEFAULT 0;
