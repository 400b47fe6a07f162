-- Credential and key lifecycle.

-- A signing key is announced (published) before it activates (signs); see keyring.rs.
ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;

-- A client may sign its tokens with another active algorithm than the server's default.
ALTER TABLE clients ADD COLUMN signing_algorithm TEXT NULL;

-- A secret found in the wild is disabled, not deleted, so the record of it stays.
ALTER TABLE client_secrets ADD COLUMN disabled_at INTEGER NULL;
-- Whether the audit trail has recorded this secret's expiry yet.
ALTER TABLE client_secrets ADD COLUMN expiry_recorded INTEGER NOT NULL DEFAULT 0;

CREATE INDEX client_secrets_expiry ON client_secrets (expires_at) WHERE expires_at IS NOT NULL;

-- Who did what to which client, secret or key, and when.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    -- The administrator client that acted, or `tollgate` for the server itself.
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    client_id TEXT    NULL,
    secret_id TEXT    NULL,
    kid       TEXT    NULL,
    detail    TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_client ON audit_events (client_id, id);
