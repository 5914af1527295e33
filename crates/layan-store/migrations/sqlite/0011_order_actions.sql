-- Order actions taken from a conversation, with their outcome of record: written 'pending'
-- before the store is called, then 'done', 'failed' (the store refused, or nothing was sent) or
-- 'unknown' (sent, and no answer: the store may have done it); 'checking' while one request
-- asks the store about an unknown one (claimed by a conditional update, so two agents never
-- both decide it was not done). The reference travels with the request (in a refund's note, a
-- replacement order's source identifier and tags) so the store can be asked whether it was done
-- before the same action is allowed again.
CREATE TABLE order_actions (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    agent_id   INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('refund', 'cancel', 'resend')),
    amount     TEXT,
    reference  TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'checking', 'done', 'failed', 'unknown')),
    result     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- At most one action of a kind in flight or in doubt per order.
CREATE UNIQUE INDEX order_actions_open ON order_actions (order_id, kind)
    WHERE state IN ('pending', 'checking', 'unknown');
