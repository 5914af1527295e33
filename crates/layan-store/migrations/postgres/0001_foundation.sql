-- Layan foundation schema (PostgreSQL). Mirrors migrations/sqlite; the conformance tests hold both to the same behaviour. Never edit a migration once it has been released: add a new one.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
-- Ticket numbers start at #1001, as people expect from a helpdesk.
INSERT INTO counters (name, value) VALUES ('conversation_number', 1000);

CREATE TABLE agents (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE, -- lower-cased
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash TEXT NOT NULL,        -- argon2id PHC string
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,        -- SHA-256 of the cookie value; the value itself is never stored
    agent_id   BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_agent ON sessions (agent_id);

CREATE TABLE inboxes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    widget_key TEXT NOT NULL UNIQUE,
    greeting   TEXT NOT NULL,
    color      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE contacts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT,
    email      TEXT,
    locale     TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX contacts_email ON contacts (email);

-- Every way we can recognise a contact: a widget visitor (SHA-256 of the visitor's secret token),
-- later email addresses, phone numbers and messaging-app ids.
CREATE TABLE contact_identities (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE conversations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE,
    inbox_id        BIGINT NOT NULL REFERENCES inboxes (id),
    contact_id      BIGINT NOT NULL REFERENCES contacts (id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'pending', 'snoozed', 'resolved', 'closed')),
    assignee_id     BIGINT REFERENCES agents (id) ON DELETE SET NULL,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    waiting_since   BIGINT
);
CREATE INDEX conversations_contact ON conversations (contact_id, inbox_id, id);
CREATE INDEX conversations_recent ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_status ON conversations (status, last_message_at DESC);

CREATE TABLE messages (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id   BIGINT NOT NULL REFERENCES conversations (id),
    seq               BIGINT NOT NULL,
    direction         TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing', 'bot', 'note', 'system')),
    author_kind       TEXT NOT NULL CHECK (author_kind IN ('contact', 'agent', 'bot', 'system')),
    author_id         BIGINT,
    author_name       TEXT,
    body              TEXT NOT NULL,
    client_message_id TEXT,
    created_at        BIGINT NOT NULL,
    UNIQUE (conversation_id, seq)
);
-- A client that retries a send with the same id gets the stored message back, not a second copy.
CREATE UNIQUE INDEX messages_client_id ON messages (author_kind, author_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
