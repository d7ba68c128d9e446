-- Merging duplicates: the review queue of uncertain pairs, every merge with what it needs to be
-- undone, runs of the whole-base deduplication, and what imports sent to review.

-- A merged customer stays as a soft-deleted record pointing at the one it was merged into.
ALTER TABLE customers ADD COLUMN merged_into BIGINT;
-- Candidate search on insert (merging/candidates.cpp): the same name in the same postcode, and the
-- same birth date with the same first name (in either name order). The name index keeps serving
-- prefix search.
DROP INDEX customers_name_key;
CREATE INDEX customers_name_key ON customers (name_key, postcode);
CREATE INDEX customers_birth_name ON customers (birth_date, name_key2);

ALTER TABLE imports ADD COLUMN queued BIGINT NOT NULL DEFAULT 0;

CREATE TABLE merge_reviews (
  id {{id}},
  customer_a BIGINT NOT NULL REFERENCES customers(id),  -- customer_a < customer_b
  customer_b BIGINT NOT NULL REFERENCES customers(id),
  score DOUBLE PRECISION NOT NULL,
  comparison TEXT NOT NULL,       -- JSON: per field level, similarity and weight
  origin TEXT NOT NULL,           -- "api", "import:12", "dedup:3"
  status TEXT NOT NULL,           -- pending, accepted, rejected, obsolete
  created_at BIGINT NOT NULL,
  decided_at BIGINT,
  decided_by TEXT,
  merge_id BIGINT,
  UNIQUE (customer_a, customer_b)
);
CREATE INDEX merge_reviews_status ON merge_reviews (status, score);
CREATE INDEX merge_reviews_b ON merge_reviews (customer_b);

CREATE TABLE customer_merges (
  id {{id}},
  winner_id BIGINT NOT NULL REFERENCES customers(id),
  loser_id BIGINT NOT NULL REFERENCES customers(id),
  score DOUBLE PRECISION,
  reason TEXT NOT NULL,           -- auto, review, manual
  origin TEXT NOT NULL,
  winner_before TEXT NOT NULL,    -- JSON: the winner's profile rows before the merge
  winner_after TEXT NOT NULL,     -- JSON: the same rows right after it
  survivorship TEXT NOT NULL,     -- JSON: per field, the side kept and the rule that chose it
  moved TEXT NOT NULL,            -- JSON: per attached table, the keys of the rows moved
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  undone_at BIGINT,
  undone_by TEXT
);
CREATE INDEX customer_merges_winner ON customer_merges (winner_id);
CREATE INDEX customer_merges_loser ON customer_merges (loser_id);

CREATE TABLE dedup_runs (
  id {{id}},
  status TEXT NOT NULL,           -- running, done, failed
  dry_run INTEGER NOT NULL,
  records BIGINT NOT NULL DEFAULT 0,
  compared BIGINT NOT NULL DEFAULT 0,
  pairs_merge BIGINT NOT NULL DEFAULT 0,
  pairs_review BIGINT NOT NULL DEFAULT 0,
  done BIGINT NOT NULL DEFAULT 0, -- pairs handled so far
  merged BIGINT NOT NULL DEFAULT 0,
  queued BIGINT NOT NULL DEFAULT 0,
  skipped BIGINT NOT NULL DEFAULT 0,
  error TEXT,
  actor TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
