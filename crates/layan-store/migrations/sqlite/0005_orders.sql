-- Orders from the shop's store, their lines and shipments, and the store events already applied
-- (a redelivered webhook is recognised by its event id and changes nothing).
CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    source             TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    number             TEXT NOT NULL,
    contact_id         INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    email              TEXT,
    currency           TEXT NOT NULL,
    total              TEXT NOT NULL,
    financial_status   TEXT NOT NULL,
    fulfillment_status TEXT,
    cancelled_at       INTEGER,
    placed_at          INTEGER NOT NULL,
    store_updated_at   INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX orders_contact ON orders (contact_id, placed_at);
CREATE TABLE order_lines (
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title    TEXT NOT NULL,
    variant  TEXT,
    quantity INTEGER NOT NULL,
    price    TEXT NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE TABLE shipments (
    order_id         INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    carrier          TEXT,
    tracking_number  TEXT,
    tracking_url     TEXT,
    status           TEXT,
    store_updated_at INTEGER NOT NULL,
    PRIMARY KEY (order_id, external_id)
);
CREATE TABLE store_events (
    source      TEXT NOT NULL,
    event_key   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (source, event_key)
);
