-- The agent workspace: roles with supervisors, teams, inbox membership, routing, ticket fields,
-- labels, notifications, read marks, canned responses, API tokens, login throttling, audit log.
-- SQLite cannot change a CHECK constraint in place: `agents` is rebuilt. The migration runs in a
-- transaction with foreign keys on, so dropping the old table runs its ON DELETE actions
-- (sessions deleted, assignees set to NULL): both are saved first and put back afterwards.
CREATE TEMP TABLE saved_sessions AS SELECT * FROM sessions;
CREATE TEMP TABLE saved_assignees AS
    SELECT id, assignee_id FROM conversations WHERE assignee_id IS NOT NULL;

CREATE TABLE agents_new (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    password_hash TEXT NOT NULL,
    locale        TEXT NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'id', 'th', 'nl')),
    capacity      INTEGER NOT NULL DEFAULT 10 CHECK (capacity >= 0),
    away          INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
INSERT INTO agents_new (id, email, name, role, password_hash, created_at)
    SELECT id, email, name, role, password_hash, created_at FROM agents;
DROP TABLE agents;
ALTER TABLE agents_new RENAME TO agents;
INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at)
    SELECT token_hash, agent_id, csrf_token, created_at, expires_at FROM saved_sessions;
UPDATE conversations SET assignee_id =
    (SELECT s.assignee_id FROM saved_assignees s WHERE s.id = conversations.id)
    WHERE id IN (SELECT id FROM saved_assignees);
DROP TABLE saved_sessions;
DROP TABLE saved_assignees;

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE team_members (
    team_id  INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members (agent_id);

-- Which agents work which inbox (admins and supervisors see every inbox regardless).
CREATE TABLE inbox_members (
    inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, agent_id)
);
CREATE INDEX inbox_members_agent ON inbox_members (agent_id);

ALTER TABLE inboxes ADD COLUMN auto_assign TEXT NOT NULL DEFAULT 'none'
    CHECK (auto_assign IN ('none', 'round_robin', 'least_loaded'));
ALTER TABLE inboxes ADD COLUMN reassign_on_offline INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inboxes ADD COLUMN last_assigned_agent_id INTEGER;
ALTER TABLE inboxes ADD COLUMN auto_ack INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inboxes ADD COLUMN response_minutes INTEGER NOT NULL DEFAULT 120;

ALTER TABLE conversations ADD COLUMN priority TEXT NOT NULL DEFAULT 'none'
    CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent'));
ALTER TABLE conversations ADD COLUMN team_id INTEGER REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN snoozed_until INTEGER;
ALTER TABLE conversations ADD COLUMN merged_into_id INTEGER REFERENCES conversations (id);
ALTER TABLE conversations ADD COLUMN last_incoming_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_incoming_seq = COALESCE(
    (SELECT MAX(seq) FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = 'incoming'), 0);
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed';
CREATE INDEX conversations_assignee ON conversations (assignee_id, status);
CREATE INDEX conversations_waiting ON conversations (waiting_since);

CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label           TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_label ON conversation_labels (label);

-- What each agent has read, for unread marks and counts.
CREATE TABLE agent_reads (
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    last_read_seq   INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    actor_name      TEXT,
    excerpt         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    read_at         INTEGER
);
CREATE INDEX notifications_agent ON notifications (agent_id, id DESC);

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER REFERENCES agents (id) ON DELETE CASCADE, -- NULL: shared
    shortcut   TEXT NOT NULL,
    locale     TEXT NOT NULL DEFAULT '',                          -- '': the default variant
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_responses_unique ON canned_responses (COALESCE(owner_id, 0), shortcut, locale);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    agent_id     INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_agent ON api_tokens (agent_id);

-- Failed logins per email address (known or not, so a lockout reveals nothing).
CREATE TABLE login_throttle (
    email        TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor_id INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    actor    TEXT,
    action   TEXT NOT NULL,
    target   TEXT,
    detail   TEXT,
    ip       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

-- Existing agents keep working the inboxes that exist.
INSERT INTO inbox_members (inbox_id, agent_id) SELECT i.id, a.id FROM inboxes i, agents a;
