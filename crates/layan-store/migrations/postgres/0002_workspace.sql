-- The agent workspace (mirrors migrations/sqlite/0002_workspace.sql): roles with supervisors,
-- teams, inbox membership, routing, ticket fields, labels, notifications, read marks, canned
-- responses, API tokens, login throttling, audit log.

ALTER TABLE agents DROP CONSTRAINT agents_role_check;
ALTER TABLE agents ADD CONSTRAINT agents_role_check CHECK (role IN ('admin', 'supervisor', 'agent'));
ALTER TABLE agents ADD COLUMN locale TEXT NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'id', 'th', 'nl'));
ALTER TABLE agents ADD COLUMN capacity BIGINT NOT NULL DEFAULT 10 CHECK (capacity >= 0);
ALTER TABLE agents ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE teams (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE team_members (
    team_id  BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent ON team_members (agent_id);

CREATE TABLE inbox_members (
    inbox_id BIGINT NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    agent_id BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, agent_id)
);
CREATE INDEX inbox_members_agent ON inbox_members (agent_id);

ALTER TABLE inboxes ADD COLUMN auto_assign TEXT NOT NULL DEFAULT 'none'
    CHECK (auto_assign IN ('none', 'round_robin', 'least_loaded'));
ALTER TABLE inboxes ADD COLUMN reassign_on_offline BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE inboxes ADD COLUMN last_assigned_agent_id BIGINT;
ALTER TABLE inboxes ADD COLUMN auto_ack BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE inboxes ADD COLUMN response_minutes BIGINT NOT NULL DEFAULT 120;

ALTER TABLE conversations ADD COLUMN priority TEXT NOT NULL DEFAULT 'none'
    CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent'));
ALTER TABLE conversations ADD COLUMN team_id BIGINT REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN snoozed_until BIGINT;
ALTER TABLE conversations ADD COLUMN merged_into_id BIGINT REFERENCES conversations (id);
ALTER TABLE conversations ADD COLUMN last_incoming_seq BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET last_incoming_seq = COALESCE(
    (SELECT MAX(seq) FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = 'incoming'), 0);
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed';
CREATE INDEX conversations_assignee ON conversations (assignee_id, status);
CREATE INDEX conversations_waiting ON conversations (waiting_since);

CREATE TABLE conversation_labels (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label           TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_label ON conversation_labels (label);

CREATE TABLE agent_reads (
    agent_id        BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    last_read_seq   BIGINT NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
);

CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id        BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    actor_name      TEXT,
    excerpt         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    read_at         BIGINT
);
CREATE INDEX notifications_agent ON notifications (agent_id, id DESC);

CREATE TABLE canned_responses (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   BIGINT REFERENCES agents (id) ON DELETE CASCADE,
    shortcut   TEXT NOT NULL,
    locale     TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX canned_responses_unique ON canned_responses (COALESCE(owner_id, 0), shortcut, locale);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id     BIGINT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_agent ON api_tokens (agent_id);

CREATE TABLE login_throttle (
    email        TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor_id BIGINT REFERENCES agents (id) ON DELETE SET NULL,
    actor    TEXT,
    action   TEXT NOT NULL,
    target   TEXT,
    detail   TEXT,
    ip       TEXT
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

INSERT INTO inbox_members (inbox_id, agent_id) SELECT i.id, a.id FROM inboxes i, agents a;
