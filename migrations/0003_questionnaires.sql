-- Progressive-profiling questionnaires, their signed links and the answers received.

CREATE TABLE settings (
  key TEXT {{binary}} PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE questionnaires (
  id {{id}},
  slug TEXT {{binary}} NOT NULL UNIQUE,
  title TEXT NOT NULL,
  intro TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE questionnaire_questions (
  questionnaire_id BIGINT NOT NULL REFERENCES questionnaires(id),
  position INTEGER NOT NULL,
  section_key TEXT NOT NULL,
  section_title TEXT NOT NULL,
  key TEXT NOT NULL,
  label TEXT NOT NULL,
  type TEXT NOT NULL,
  target TEXT NOT NULL,
  choices TEXT NOT NULL,
  required INTEGER NOT NULL,
  PRIMARY KEY (questionnaire_id, position)
) {{without_rowid}};

CREATE TABLE questionnaire_links (
  questionnaire_id BIGINT NOT NULL REFERENCES questionnaires(id),
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  issued_at BIGINT NOT NULL,
  PRIMARY KEY (questionnaire_id, customer_id)
) {{without_rowid}};

CREATE TABLE questionnaire_answers (
  questionnaire_id BIGINT NOT NULL REFERENCES questionnaires(id),
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  question_key TEXT NOT NULL,
  answer TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (questionnaire_id, customer_id, question_key)
) {{without_rowid}};
