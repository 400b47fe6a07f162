-- Tollgate schema (PostgreSQL). Mirrors migrations/sqlite/0001_initial.sql one-to-one.
-- Timestamps are Unix seconds. Identifiers use the "C" collation so they sort byte-wise, as
-- in SQLite, and list pagination orders the same on both databases.

CREATE TABLE clients (
    client_id             TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name                  TEXT    NOT NULL UNIQUE,
    description           TEXT    NOT NULL DEFAULT '',
    -- Space-delimited, sorted (the canonical form of a scope set).
    scopes                TEXT    NOT NULL DEFAULT '',
    access_token_lifetime BIGINT  NULL,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);

CREATE INDEX clients_created ON clients (created_at, client_id);

-- A client holds several secrets so they can be rotated without downtime. Only the keyed hash
-- (HMAC-SHA-256) of a secret is stored.
CREATE TABLE client_secrets (
    secret_id    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id    TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    secret_hash  BYTEA   NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NULL,
    last_used_at BIGINT  NULL
);

CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- Token signing keys, PKCS#8 DER.
CREATE TABLE signing_keys (
    kid         TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    algorithm   TEXT    NOT NULL,
    private_key BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Server-wide keys that are not signing keys (the secret-hashing key), kept apart from the
-- rows they protect.
CREATE TABLE instance_keys (
    name       TEXT    PRIMARY KEY NOT NULL,
    material   BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);

-- Small facts about this installation, such as whether the bootstrap has run.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
