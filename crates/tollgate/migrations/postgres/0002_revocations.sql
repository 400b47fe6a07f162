-- Revoked access tokens (RFC 7009) and deleted clients, in the order they happened. The cursor
-- lets resource servers poll for what changed since their last look. Rows are kept until every
-- token they concern has expired (`prune_after`), then removed.
-- Mirrors migrations/sqlite/0002_revocations.sql.
CREATE TABLE revocations (
    cursor        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id     TEXT COLLATE "C" NOT NULL,
    -- Set for one revoked token.
    jti           TEXT    NULL,
    exp           BIGINT  NULL,
    -- Set for a deleted client: every token it got at or before this time is revoked.
    issued_before BIGINT  NULL,
    prune_after   BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    CHECK ((jti IS NOT NULL AND exp IS NOT NULL) OR issued_before IS NOT NULL)
);

CREATE UNIQUE INDEX revocations_jti ON revocations (jti) WHERE jti IS NOT NULL;
CREATE INDEX revocations_prune ON revocations (prune_after);
