-- The import that first brought each e-mail address (NULL: entered otherwise, by the API, the back
-- office, a questionnaire or an order). The NPAI rate per source and per import counts an address
-- for the import that brought it, not for every file that names its customer. Addresses stored
-- before are given the import that created their customer (its provenance row dated at the
-- customer's creation, as merging::source_rank reads it); a customer an import only named keeps NULL.
ALTER TABLE customer_emails ADD COLUMN import_id BIGINT;
UPDATE customer_emails SET import_id = f.import_id FROM (
  SELECT p.customer_id, MIN(p.import_id) AS import_id FROM customer_provenance p
  JOIN customers c ON c.id = p.customer_id WHERE p.at = c.created_at GROUP BY p.customer_id) f
WHERE f.customer_id = customer_emails.customer_id;
