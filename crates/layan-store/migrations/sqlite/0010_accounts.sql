-- Deactivated accounts (staff who left): they cannot sign in, their sessions and API tokens end.
ALTER TABLE agents ADD COLUMN deactivated_at INTEGER;
-- An API token kept when its owner's password changes (an integration's); others end with it.
ALTER TABLE api_tokens ADD COLUMN survives_password_change INTEGER NOT NULL DEFAULT 0;
