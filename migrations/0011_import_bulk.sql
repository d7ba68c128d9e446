-- An import that set the search indexes aside while it loaded (imports/imports.h: BulkMode).
ALTER TABLE imports ADD COLUMN bulk INTEGER NOT NULL DEFAULT 0;
