-- When the person made a consent decision, as its source dates it (an import's opt-out date or
-- consent date column, an API call's source_at), beside when Fidelis recorded it (changed_at, at).
-- NULL when the source gave no date.
ALTER TABLE customer_consents ADD COLUMN source_at BIGINT;
ALTER TABLE consent_events ADD COLUMN source_at BIGINT;
