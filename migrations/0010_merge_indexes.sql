-- A merge moves a customer's rows out of every table that has them (merging/merging.h,
-- attached_tables): each of those tables is looked up by customer_id.
CREATE INDEX questionnaire_links_customer ON questionnaire_links (customer_id);
CREATE INDEX questionnaire_answers_customer ON questionnaire_answers (customer_id);
CREATE INDEX email_events_customer ON email_events (customer_id);
CREATE INDEX order_lines_customer ON order_lines (customer_id);
CREATE INDEX order_status_history_customer ON order_status_history (customer_id);
CREATE INDEX order_returns_customer ON order_returns (customer_id);
CREATE INDEX shipments_customer ON shipments (customer_id);
CREATE INDEX slot_bookings_customer ON slot_bookings (customer_id);
