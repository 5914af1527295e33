-- Contact profiles (phone, notes, custom attributes), shipments' delivery dates, and the
-- proactive messages sent (one per order and rule, ever).
ALTER TABLE contacts ADD COLUMN phone TEXT;
ALTER TABLE contacts ADD COLUMN notes TEXT;
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
CREATE INDEX contacts_phone ON contacts (phone);
CREATE INDEX contacts_email_lower ON contacts (LOWER(email));
CREATE INDEX contacts_name ON contacts (LOWER(name));

ALTER TABLE shipments ADD COLUMN expected_delivery_at BIGINT;
ALTER TABLE shipments ADD COLUMN delivered_at BIGINT;
CREATE INDEX shipments_expected ON shipments (expected_delivery_at) WHERE delivered_at IS NULL;
CREATE INDEX shipments_delivered ON shipments (delivered_at);
CREATE INDEX orders_unfulfilled ON orders (placed_at) WHERE fulfillment_status IS NULL AND cancelled_at IS NULL;

CREATE TABLE proactive_sends (
    order_id        BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    rule            TEXT NOT NULL,
    conversation_id BIGINT REFERENCES conversations (id) ON DELETE SET NULL,
    sent_at         BIGINT NOT NULL,
    PRIMARY KEY (order_id, rule)
);
