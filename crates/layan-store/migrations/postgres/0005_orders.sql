-- Orders from the shop's store, their lines and shipments, and the store events already applied
-- (a redelivered webhook is recognised by its event id and changes nothing).
CREATE TABLE orders (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source             TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    number             TEXT NOT NULL,
    contact_id         BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    email              TEXT,
    currency           TEXT NOT NULL,
    total              TEXT NOT NULL,
    financial_status   TEXT NOT NULL,
    fulfillment_status TEXT,
    cancelled_at       BIGINT,
    placed_at          BIGINT NOT NULL,
    store_updated_at   BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX orders_contact ON orders (contact_id, placed_at);
CREATE TABLE order_lines (
    order_id BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    title    TEXT NOT NULL,
    variant  TEXT,
    quantity BIGINT NOT NULL,
    price    TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE shipments (
    order_id         BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    carrier          TEXT,
    tracking_number  TEXT,
    tracking_url     TEXT,
    status           TEXT,
    store_updated_at BIGINT NOT NULL,
    PRIMARY KEY (order_id, external_id)
);
CREATE TABLE store_events (
    source      TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source, event_key)
);
