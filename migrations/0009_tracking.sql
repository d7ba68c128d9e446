-- Web tracking (visitors, sessions, events, per-customer counters) and interactions from every
-- channel. See src/tracking/tracking.h, src/timeline/timeline.h and docs/TRACKING.md.

-- An anonymous browser (or a Segment anonymousId). customer_id is set when it is stitched.
CREATE TABLE web_visitors (
  visitor_id TEXT {{binary}} PRIMARY KEY,
  customer_id BIGINT REFERENCES customers(id),
  first_seen_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  stitched_at BIGINT
);
CREATE INDEX web_visitors_customer ON web_visitors (customer_id);

-- A visit: the events of one visitor with less than 30 minutes between them.
CREATE TABLE web_sessions (
  id {{id}},
  visitor_id TEXT {{binary}} NOT NULL,
  customer_id BIGINT,
  started_at BIGINT NOT NULL,
  last_at BIGINT NOT NULL,
  source TEXT NOT NULL,               -- direct, search, social, email, ads, partner, referral
  referrer TEXT,
  utm_source TEXT,
  utm_medium TEXT,
  utm_campaign TEXT,
  landing_url TEXT,
  page_views BIGINT NOT NULL,
  events BIGINT NOT NULL
);
CREATE INDEX web_sessions_visitor ON web_sessions (visitor_id, last_at);
CREATE INDEX web_sessions_customer ON web_sessions (customer_id, started_at);

-- Append-only: one row per tracked event.
CREATE TABLE web_events (
  id {{id}},
  session_id BIGINT NOT NULL,
  visitor_id TEXT NOT NULL,
  customer_id BIGINT,
  type TEXT NOT NULL,                 -- session_start, page_view, product_view, search, cart_add, cart_remove, checkout_step, track
  name TEXT,                          -- the event name of a custom (Segment) track call
  at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  url TEXT,
  title TEXT,
  sku TEXT,
  query TEXT,
  quantity BIGINT,
  step TEXT,
  properties TEXT                     -- JSON object text, or NULL
);
CREATE INDEX web_events_session ON web_events (session_id);
CREATE INDEX web_events_customer ON web_events (customer_id, at);

-- Counters for segments, one row per (customer, visitor): a customer's figures are the sum over
-- its rows (see tracking::counters), so a merge moves rows without clashing. Updated in the
-- transaction of each ingested batch.
CREATE TABLE customer_web_counters (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  visitor_id TEXT {{binary}} NOT NULL,
  visits BIGINT NOT NULL,
  page_views BIGINT NOT NULL,
  events BIGINT NOT NULL,
  first_visit_at BIGINT NOT NULL,
  last_visit_at BIGINT NOT NULL,
  last_source TEXT NOT NULL,
  visits_direct BIGINT NOT NULL,
  visits_search BIGINT NOT NULL,
  visits_social BIGINT NOT NULL,
  visits_email BIGINT NOT NULL,
  visits_ads BIGINT NOT NULL,
  visits_partner BIGINT NOT NULL,
  visits_referral BIGINT NOT NULL,
  PRIMARY KEY (customer_id, visitor_id)
);

-- Calls, meetings, e-mails, SMS, chat, social posts, store visits, letters.
CREATE TABLE interactions (
  id {{id}},
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  channel TEXT NOT NULL,
  direction TEXT NOT NULL,            -- inbound, outbound
  at BIGINT NOT NULL,
  agent_id BIGINT REFERENCES users(id),
  subject TEXT NOT NULL,
  notes TEXT NOT NULL,
  outcome TEXT NOT NULL,
  source TEXT NOT NULL,               -- "api", "import:FILE"
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX interactions_customer ON interactions (customer_id, at);

-- The timeline reads e-mails by customer and time.
CREATE INDEX mail_messages_customer_at ON mail_messages (customer_id, created_at);
