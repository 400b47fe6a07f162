-- Revoked access tokens (RFC 7009) and deleted clients, in the order they happened. The cursor
-- lets resource servers poll for what changed since their last look. Rows are kept until every
-- token they concern has expired (`prune_after`), then removed.
CREATE TABLE revocations (
    cursor        INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id     TEXT    NOT NULL,
    -- Set for one revoked token.
    jti           TEXT    NULL,
    exp           INTEGER NULL,
    -- Set for a deleted client: every token it got at or before this time is revoked.
    issued_before INTEGER NULL,
    prune_after   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    CHECK ((jti IS NOT NULL AND exp IS NOT NULL) OR issued_before IS NOT NULL)
);

CREATE UNIQUE INDEX revocations_jti ON revocations (jti) WHERE jti IS NOT NULL;
CREATE INDEX revocations_prune ON revocations (prune_after);
