-- Products from the shop's store, for the bot's product finder and agents' answers. The newest
-- store version wins, like orders; prices kept as the store's decimal string and in hundredths
-- for comparisons.
CREATE TABLE products (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    title            TEXT NOT NULL,
    keywords         TEXT NOT NULL DEFAULT '',
    url              TEXT,
    price            TEXT NOT NULL,
    price_minor      BIGINT NOT NULL,
    currency         TEXT,
    stock            BIGINT,
    active           BOOLEAN NOT NULL,
    store_updated_at BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX products_price ON products (price_minor) WHERE active;
