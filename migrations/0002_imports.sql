-- Imports: source systems with a merge priority, resumable import runs, their rejected rows,
-- per-customer provenance and quality flags.

CREATE TABLE sources (
  name TEXT {{binary}} PRIMARY KEY,
  priority INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE imports (
  id {{id}},
  source TEXT NOT NULL REFERENCES sources(name),
  file_name TEXT NOT NULL,
  path TEXT NOT NULL,
  fingerprint TEXT {{binary}} NOT NULL,
  file_size BIGINT NOT NULL,
  encoding TEXT NOT NULL,
  delimiter TEXT NOT NULL,
  options TEXT NOT NULL,
  status TEXT NOT NULL,
  records_done BIGINT NOT NULL DEFAULT 1,  -- number of the last committed record (1: the header)
  bytes_done BIGINT NOT NULL DEFAULT 0,
  accepted BIGINT NOT NULL DEFAULT 0,
  merged BIGINT NOT NULL DEFAULT 0,
  rejected BIGINT NOT NULL DEFAULT 0,
  flagged BIGINT NOT NULL DEFAULT 0,
  error TEXT,
  started_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX imports_fingerprint ON imports (fingerprint, source);

CREATE TABLE import_rejects (
  import_id BIGINT NOT NULL REFERENCES imports(id),
  line BIGINT NOT NULL,
  column_name TEXT NOT NULL,
  reason TEXT NOT NULL,
  raw TEXT NOT NULL,
  PRIMARY KEY (import_id, line)
) {{without_rowid}};

CREATE TABLE customer_provenance (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  import_id BIGINT NOT NULL REFERENCES imports(id),
  line BIGINT NOT NULL,
  source TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, import_id, line)
) {{without_rowid}};
CREATE INDEX customer_provenance_import ON customer_provenance (import_id, line);

CREATE TABLE customer_flags (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, field, value)
) {{without_rowid}};
