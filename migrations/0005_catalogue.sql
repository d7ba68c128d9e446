-- The shop's catalogue: departments ("rayons") as a tree, and products.

CREATE TABLE categories (
  id {{id}},
  slug TEXT {{binary}} NOT NULL UNIQUE,
  name TEXT NOT NULL,
  parent_id BIGINT REFERENCES categories(id),
  path TEXT {{binary}} NOT NULL,  -- "/maison/jardin/": ancestors' slugs, for subtree filters
  created_at BIGINT NOT NULL
);
CREATE INDEX categories_path ON categories (path);

CREATE TABLE products (
  id {{id}},
  sku TEXT {{binary}} NOT NULL UNIQUE,
  name TEXT NOT NULL,
  name_key TEXT {{binary}} NOT NULL,
  category_id BIGINT REFERENCES categories(id),
  price_minor BIGINT NOT NULL,
  currency TEXT NOT NULL,
  active INTEGER NOT NULL,
  replenishment_days INTEGER,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX products_category ON products (category_id);
CREATE INDEX products_name_key ON products (name_key);
