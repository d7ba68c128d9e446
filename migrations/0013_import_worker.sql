-- The process running an import ("host:pid"): a second run of the same file for the same source
-- waits for it rather than storing its rows a second time (imports/importer.cpp).
ALTER TABLE imports ADD COLUMN worker TEXT NOT NULL DEFAULT '';
