-- Foundation: users, sessions, API keys, login throttling, audit log, outbox, idempotency,
-- customers and everything attached to them. Times are epoch milliseconds; flags are 0/1.

CREATE TABLE users (
  id {{id}},
  email TEXT {{binary}} NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT {{binary}} PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
  id {{id}},
  name TEXT {{binary}} NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  key_hash TEXT {{binary}} NOT NULL UNIQUE,
  role TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  last_used_at BIGINT
);

CREATE TABLE login_attempts (
  key TEXT {{binary}} PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_start BIGINT NOT NULL
);

CREATE TABLE audit_log (
  id {{id}},
  at BIGINT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id BIGINT,
  actor_name TEXT NOT NULL,
  action TEXT NOT NULL,
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  before_json TEXT,
  after_json TEXT,
  request_id TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE outbox_events (
  id {{id}},
  at BIGINT NOT NULL,
  type TEXT NOT NULL,
  customer_id BIGINT,
  entity_id TEXT NOT NULL,
  payload TEXT NOT NULL
);

CREATE TABLE idempotency_keys (
  key TEXT {{binary}} NOT NULL,
  actor TEXT {{binary}} NOT NULL,
  route TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status INTEGER NOT NULL,
  headers TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (actor, key)
);

CREATE TABLE custom_field_defs (
  key TEXT {{binary}} PRIMARY KEY,
  label TEXT NOT NULL,
  type TEXT NOT NULL,
  choices TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);

CREATE TABLE customers (
  id {{id}},
  civility TEXT,
  first_name TEXT,
  last_name TEXT,
  name_key TEXT {{binary}} NOT NULL DEFAULT '',
  name_key2 TEXT {{binary}} NOT NULL DEFAULT '',
  birth_date TEXT,
  street TEXT,
  street2 TEXT,
  postcode TEXT,
  city TEXT,
  city_key TEXT {{binary}},
  country TEXT,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE INDEX customers_name_key ON customers (name_key);
CREATE INDEX customers_name_key2 ON customers (name_key2);
CREATE INDEX customers_city_key ON customers (city_key);
CREATE INDEX customers_created_at ON customers (created_at);

-- The profile's JSON document as the API serves it (customers/customers.h: Document), rewritten
-- in the transaction of every change; a missing row means "render it from the tables". Kept apart
-- from customers so that scans and filters over customers stay small.
CREATE TABLE customer_docs (
  customer_id {{rowid_key}} REFERENCES customers(id),
  doc TEXT NOT NULL
);

CREATE TABLE customer_emails (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  position INTEGER NOT NULL,
  email TEXT NOT NULL,
  email_key TEXT {{binary}} NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (customer_id, position)
) {{without_rowid}};
CREATE INDEX customer_emails_key ON customer_emails (email_key);

CREATE TABLE customer_phones (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  position INTEGER NOT NULL,
  raw TEXT NOT NULL,
  e164 TEXT,
  phone_key TEXT {{binary}} NOT NULL,
  type TEXT NOT NULL,
  valid INTEGER NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (customer_id, position)
) {{without_rowid}};
CREATE INDEX customer_phones_key ON customer_phones (phone_key);

CREATE TABLE customer_household (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  position INTEGER NOT NULL,
  relation TEXT NOT NULL,
  first_name TEXT,
  birth_date TEXT,
  PRIMARY KEY (customer_id, position)
) {{without_rowid}};

CREATE TABLE customer_affinities (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  category TEXT {{binary}} NOT NULL,
  strength INTEGER NOT NULL,
  PRIMARY KEY (customer_id, category)
) {{without_rowid}};
CREATE INDEX customer_affinities_category ON customer_affinities (category, customer_id);

CREATE TABLE customer_consents (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  channel TEXT {{binary}} NOT NULL,
  purpose TEXT {{binary}} NOT NULL,
  granted INTEGER NOT NULL,
  source TEXT NOT NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, channel, purpose)
) {{without_rowid}};
CREATE INDEX customer_consents_lookup ON customer_consents (channel, purpose, granted, customer_id);

CREATE TABLE consent_events (
  id {{id}},
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  channel TEXT NOT NULL,
  purpose TEXT NOT NULL,
  granted INTEGER NOT NULL,
  source TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX consent_events_customer ON consent_events (customer_id, at);

CREATE TABLE customer_tags (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  tag TEXT {{binary}} NOT NULL,
  PRIMARY KEY (customer_id, tag)
) {{without_rowid}};
CREATE INDEX customer_tags_tag ON customer_tags (tag, customer_id);

CREATE TABLE customer_custom_values (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  key TEXT {{binary}} NOT NULL,
  value_type TEXT NOT NULL,
  value_text TEXT,
  value_int BIGINT,
  value_real DOUBLE PRECISION,
  PRIMARY KEY (customer_id, key)
) {{without_rowid}};

CREATE TABLE customer_external_ids (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  source TEXT {{binary}} NOT NULL,
  external_id TEXT {{binary}} NOT NULL,
  PRIMARY KEY (source, external_id)
) {{without_rowid}};
CREATE INDEX customer_external_ids_customer ON customer_external_ids (customer_id);

-- Secondary indexes dropped for a bulk load, recreated when it ends or, after a crash, at the
-- next start (storage/migrate.h).
CREATE TABLE bulk_dropped_indexes (
  name TEXT {{binary}} PRIMARY KEY,
  ddl TEXT NOT NULL
);
