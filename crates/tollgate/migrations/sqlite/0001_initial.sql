-- Tollgate schema. Timestamps are Unix seconds.

CREATE TABLE clients (
    client_id             TEXT    PRIMARY KEY NOT NULL,
    name                  TEXT    NOT NULL UNIQUE,
    description           TEXT    NOT NULL DEFAULT '',
    -- Space-delimited, sorted (the canonical form of a scope set).
    scopes                TEXT    NOT NULL DEFAULT '',
    access_token_lifetime INTEGER NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

CREATE INDEX clients_created ON clients (created_at, client_id);

-- A client holds several secrets so they can be rotated without downtime. Only the keyed hash
-- (HMAC-SHA-256) of a secret is stored.
CREATE TABLE client_secrets (
    secret_id    TEXT    PRIMARY KEY NOT NULL,
    client_id    TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    secret_hash  BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NULL,
    last_used_at INTEGER NULL
);

CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- Token signing keys, PKCS#8 DER.
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY NOT NULL,
    algorithm   TEXT    NOT NULL,
    private_key BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Server-wide keys that are not signing keys (the secret-hashing key), kept apart from the
-- rows they protect.
CREATE TABLE instance_keys (
    name       TEXT    PRIMARY KEY NOT NULL,
    material   BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Small facts about this installation, such as whether the bootstrap has run.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
