-- The import that first brought each e-mail address (NULL: entered otherwise, by the API, the back
-- office, a questionnaire or an order). The NPAI rate per source and per import counts an address
-- for the import that brought it, not for every file that names its customer. Addresses stored
-- before are given the first import their customer's provenance names.
ALTER TABLE customer_emails ADD COLUMN import_id BIGINT;
UPDATE customer_emails SET import_id = (
  SELECT p.import_id FROM customer_provenance p WHERE p.customer_id = customer_emails.customer_id
  ORDER BY p.at, p.import_id, p.line LIMIT 1);
