-- Orders with their lines, status history, returns and shipments; delivery zones, slot templates,
-- booked slots and the bookings that tie an order to a slot.

CREATE TABLE orders (
  id {{id}},
  number TEXT {{binary}} NOT NULL UNIQUE,  -- the shop's own order number
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  channel TEXT NOT NULL,                   -- web, store, phone, marketplace
  currency TEXT NOT NULL,
  subtotal_minor BIGINT NOT NULL,
  discount_minor BIGINT NOT NULL,
  shipping_minor BIGINT NOT NULL,
  total_minor BIGINT NOT NULL,
  payment_state TEXT NOT NULL,
  delivery_method TEXT NOT NULL,
  delivery_name TEXT,
  delivery_street TEXT,
  delivery_street2 TEXT,
  delivery_postcode TEXT,
  delivery_city TEXT,
  delivery_country TEXT,
  contact_email TEXT,                      -- normalised, for the public tracking look-up
  status TEXT NOT NULL,
  notes TEXT,                              -- internal, never shown to the customer
  source TEXT NOT NULL,                    -- "api", or the import's source
  content_hash TEXT NOT NULL,              -- what a repeated number is compared with
  placed_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, id);
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_placed ON orders (placed_at);

CREATE TABLE order_lines (
  id {{id}},
  order_id BIGINT NOT NULL REFERENCES orders(id),
  customer_id BIGINT NOT NULL,
  position INTEGER NOT NULL,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  product_id BIGINT REFERENCES products(id),
  quantity BIGINT NOT NULL,
  unit_price_minor BIGINT NOT NULL,
  discount_minor BIGINT NOT NULL,
  returned_quantity BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX order_lines_order ON order_lines (order_id, position);
CREATE INDEX order_lines_product ON order_lines (product_id);

CREATE TABLE order_status_history (
  id {{id}},
  order_id BIGINT NOT NULL REFERENCES orders(id),
  customer_id BIGINT NOT NULL,
  status TEXT NOT NULL,
  at BIGINT NOT NULL,
  recorded_at BIGINT NOT NULL
);
CREATE INDEX order_status_history_order ON order_status_history (order_id, id);

CREATE TABLE order_returns (
  id {{id}},
  order_id BIGINT NOT NULL REFERENCES orders(id),
  customer_id BIGINT NOT NULL,
  line_id BIGINT NOT NULL REFERENCES order_lines(id),
  quantity BIGINT NOT NULL,
  reason TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX order_returns_order ON order_returns (order_id);

CREATE TABLE shipments (
  id {{id}},
  order_id BIGINT NOT NULL REFERENCES orders(id),
  customer_id BIGINT NOT NULL,
  carrier TEXT NOT NULL,
  tracking_number TEXT NOT NULL,
  tracking_url TEXT,
  shipped_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX shipments_order ON shipments (order_id);

CREATE TABLE delivery_zones (
  id {{id}},
  name TEXT {{binary}} NOT NULL UNIQUE,
  utc_offset_minutes INTEGER NOT NULL,     -- slot templates are in this fixed local time
  created_at BIGINT NOT NULL
);

-- A postcode belongs to the zone with the longest prefix it starts with ("69" or "69002").
CREATE TABLE delivery_zone_prefixes (
  prefix TEXT {{binary}} PRIMARY KEY,
  zone_id BIGINT NOT NULL REFERENCES delivery_zones(id)
);

CREATE TABLE slot_templates (
  id {{id}},
  zone_id BIGINT NOT NULL REFERENCES delivery_zones(id),
  weekdays INTEGER NOT NULL,               -- bit 0 = Monday ... bit 6 = Sunday
  start_minute INTEGER NOT NULL,           -- local minutes after midnight of the first slot
  end_minute INTEGER NOT NULL,             -- no slot ends after this
  length_minutes INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX slot_templates_zone ON slot_templates (zone_id);

-- A slot gets its row the first time someone books it; `booked` never exceeds `capacity`.
CREATE TABLE delivery_slots (
  id {{id}},
  zone_id BIGINT NOT NULL REFERENCES delivery_zones(id),
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  capacity INTEGER NOT NULL,
  booked INTEGER NOT NULL,
  UNIQUE (zone_id, starts_at)
);

CREATE TABLE slot_bookings (
  order_id BIGINT PRIMARY KEY REFERENCES orders(id),
  customer_id BIGINT NOT NULL,
  slot_id BIGINT NOT NULL REFERENCES delivery_slots(id),
  zone_id BIGINT NOT NULL,
  slot_starts_at BIGINT NOT NULL,
  slot_ends_at BIGINT NOT NULL,
  booked_at BIGINT NOT NULL,
  delivered_at BIGINT,
  late INTEGER
);
CREATE INDEX slot_bookings_zone ON slot_bookings (zone_id, slot_starts_at);
