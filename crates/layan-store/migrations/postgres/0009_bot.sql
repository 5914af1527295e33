-- The answer bot. A bot message's quick replies, links and reasons (JSON, `MessageExtras`).
ALTER TABLE messages ADD COLUMN extras TEXT;

-- One row per conversation the bot has taken part in: its dialogue state (JSON: what it waits
-- for, failed answers, the orders the shopper proved are theirs, the last message it answered),
-- how it ended and the shopper's rating (1–5).
CREATE TABLE bot_sessions (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    outcome    TEXT CHECK (outcome IN ('answering', 'handed_over', 'ended')),
    rating     INTEGER CHECK (rating BETWEEN 1 AND 5),
    updated_at BIGINT NOT NULL
);
