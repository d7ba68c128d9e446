-- The deliverability of each e-mail address (NPAI when it hard-bounces) and every delivery event.

CREATE TABLE email_status (
  email_key TEXT {{binary}} PRIMARY KEY,
  customer_id BIGINT REFERENCES customers(id),
  status TEXT NOT NULL,
  soft_count INTEGER NOT NULL,
  sent INTEGER NOT NULL,
  last_code TEXT NOT NULL,
  last_reason TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX email_status_customer ON email_status (customer_id);

CREATE TABLE email_events (
  id {{id}},
  email_key TEXT NOT NULL,
  customer_id BIGINT,
  kind TEXT NOT NULL,
  status_code TEXT NOT NULL,
  reason TEXT NOT NULL,
  diagnostic TEXT NOT NULL,
  message_id TEXT NOT NULL,
  via TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX email_events_key ON email_events (email_key, at);

-- Postal addresses flagged NPAI when mail comes back.
CREATE TABLE postal_npai (
  customer_id BIGINT PRIMARY KEY REFERENCES customers(id),
  reason TEXT NOT NULL,
  at BIGINT NOT NULL
);
