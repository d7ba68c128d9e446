-- What each source last said of a customer's consent when it was not recorded as a change (it
-- equalled the consent held, or an import could not give back a withdrawn consent): so an import
-- tells a source repeating itself from a source changing its mind (customers::screen_import_consents).
CREATE TABLE consent_statements (
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  source TEXT {{binary}} NOT NULL,
  channel TEXT {{binary}} NOT NULL,
  purpose TEXT {{binary}} NOT NULL,
  granted INTEGER NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (customer_id, source, channel, purpose)
) {{without_rowid}};
