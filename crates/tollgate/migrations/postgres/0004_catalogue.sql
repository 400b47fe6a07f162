-- The catalogue. Mirrors migrations/sqlite/0004_catalogue.sql.

CREATE TABLE apis (
    api_id                TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    identifier            TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL UNIQUE,
    description           TEXT    NOT NULL DEFAULT '',
    access_token_lifetime BIGINT  NULL,
    signing_algorithm     TEXT    NULL,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);

CREATE TABLE api_permissions (
    value       TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    api_id      TEXT COLLATE "C" NOT NULL REFERENCES apis (api_id) ON DELETE CASCADE,
    description TEXT    NOT NULL DEFAULT '',
    position    BIGINT  NOT NULL
);

CREATE INDEX api_permissions_api ON api_permissions (api_id, position);

ALTER TABLE clients ADD COLUMN tenants TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN claims TEXT NULL;
ALTER TABLE clients ADD COLUMN scopes_locked BOOLEAN NOT NULL DEFAULT FALSE;
