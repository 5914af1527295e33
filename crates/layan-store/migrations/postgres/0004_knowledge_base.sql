-- The knowledge base: categories and articles with one translation per locale (each translation
-- is a draft or published on its own), helpfulness votes (one per visitor per article), and shop
-- documents (structured JSON such as the shipping and returns policy).
CREATE TABLE kb_categories (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    position   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE kb_category_texts (
    category_id BIGINT NOT NULL REFERENCES kb_categories(id) ON DELETE CASCADE,
    locale      TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (category_id, locale)
);
CREATE TABLE kb_articles (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id BIGINT REFERENCES kb_categories(id) ON DELETE SET NULL,
    slug        TEXT NOT NULL UNIQUE,
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX kb_articles_category ON kb_articles (category_id, position);
CREATE TABLE kb_article_texts (
    article_id BIGINT NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    locale     TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,                 -- markdown
    status     TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (article_id, locale)
);
CREATE TABLE kb_votes (
    article_id BIGINT NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    voter      TEXT NOT NULL,                 -- a hash of the visitor's id
    helpful    BIGINT NOT NULL,              -- 1 yes, 0 no
    created_at BIGINT NOT NULL,
    PRIMARY KEY (article_id, voter)
);
CREATE TABLE shop_documents (
    key        TEXT PRIMARY KEY,
    body       TEXT NOT NULL,                 -- JSON
    updated_at BIGINT NOT NULL
);
