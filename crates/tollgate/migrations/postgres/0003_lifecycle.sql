-- Credential and key lifecycle. Mirrors migrations/sqlite/0003_lifecycle.sql.

-- A signing key is announced (published) before it activates (signs); see keyring.rs.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;
-- Insertion order, which breaks ties between keys activating in the same second (SQLite uses
-- its rowid). Existing keys are numbered by creation time.
ALTER TABLE signing_keys ADD COLUMN seq BIGINT NULL;
UPDATE signing_keys k SET seq = o.n
    FROM (SELECT kid, row_number() OVER (ORDER BY created_at, kid) AS n FROM signing_keys) o
    WHERE o.kid = k.kid;
CREATE SEQUENCE signing_keys_seq OWNED BY signing_keys.seq;
SELECT setval('signing_keys_seq', COALESCE((SELECT max(seq) FROM signing_keys), 0) + 1, false);
ALTER TABLE signing_keys ALTER COLUMN seq SET DEFAULT nextval('signing_keys_seq');
ALTER TABLE signing_keys ALTER COLUMN seq SET NOT NULL;

-- A client may sign its tokens with another active algorithm than the server's default.
ALTER TABLE clients ADD COLUMN signing_algorithm TEXT NULL;

-- A secret found in the wild is disabled, not deleted, so the record of it stays.
ALTER TABLE client_secrets ADD COLUMN disabled_at BIGINT NULL;
-- Whether the audit trail has recorded this secret's expiry yet.
ALTER TABLE client_secrets ADD COLUMN expiry_recorded BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX client_secrets_expiry ON client_secrets (expires_at) WHERE expires_at IS NOT NULL;

-- Who did what to which client, secret or key, and when.
CREATE TABLE audit_events (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT  NOT NULL,
    -- The administrator client that acted, or `tollgate` for the server itself.
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    client_id TEXT COLLATE "C" NULL,
    secret_id TEXT COLLATE "C" NULL,
    kid       TEXT COLLATE "C" NULL,
    detail    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_client ON audit_events (client_id, id);
