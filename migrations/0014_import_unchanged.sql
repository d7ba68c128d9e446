-- Rows that matched a customer and brought nothing new (the same record sent again): counted apart
-- from the rows that changed the customer they matched.
ALTER TABLE imports ADD COLUMN unchanged BIGINT NOT NULL DEFAULT 0;
-- What reading the file's first rows warned of (columns left unread that look like contacts), one
-- sentence a line.
ALTER TABLE imports ADD COLUMN warnings TEXT NOT NULL DEFAULT '';
