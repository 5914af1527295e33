-- Email inboxes (channel 'email'): the shop's support address and its mail servers, as JSON
-- checked by `layan_core::EmailSettings`; the passwords are needed in clear to log in, so
-- protect backups as the settings file is protected. `secret` signs the reply tokens in our
-- Message-IDs (the same on every node).
CREATE TABLE email_inboxes (
    inbox_id   INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
    address    TEXT NOT NULL UNIQUE,
    settings   TEXT NOT NULL,
    secret     TEXT NOT NULL,
    fetch_error TEXT,
    fetched_at INTEGER
);

-- Every mail as received, stored before anything else happens to it (and before the IMAP
-- server is told it was read). The same mail fetched again (same Message-ID, or the same bytes
-- when it has none) is recognised by the dedupe key. Never deleted by processing: a mail that
-- cannot be read stays here for an admin.
CREATE TABLE inbound_emails (
    id          INTEGER PRIMARY KEY,
    inbox_id    INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    dedupe_key  TEXT NOT NULL,
    sender      TEXT,
    raw         BLOB NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('received', 'processed', 'failed', 'held', 'ignored')),
    error       TEXT,
    message_id  INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (inbox_id, dedupe_key)
);
CREATE INDEX inbound_emails_sender ON inbound_emails (inbox_id, sender, received_at);
CREATE INDEX inbound_emails_status ON inbound_emails (status, id);
CREATE INDEX inbound_emails_message ON inbound_emails (message_id);

-- The email side of a message, in or out: headers for threading, the sanitised HTML and the
-- full text of inbound mail, the delivery of outbound mail.
CREATE TABLE email_messages (
    message_id      INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    rfc_message_id  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    from_address    TEXT NOT NULL,
    to_addresses    TEXT NOT NULL,
    cc_addresses    TEXT NOT NULL,
    html            TEXT,
    full_text       TEXT,
    delivery        TEXT NOT NULL CHECK (delivery IN ('received', 'queued', 'sent', 'failed', 'bounced')),
    delivery_detail TEXT,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX email_messages_rfc ON email_messages (rfc_message_id);
CREATE INDEX email_messages_conversation ON email_messages (conversation_id, message_id);

-- Files that came with a message (email attachments and inline images), served as downloads.
-- An agent's upload waits without a message (its conversation and uploader set) until the reply
-- that carries it is stored.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    uploaded_by  INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_id   TEXT,
    data         BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_pending ON attachments (conversation_id) WHERE message_id IS NULL;
