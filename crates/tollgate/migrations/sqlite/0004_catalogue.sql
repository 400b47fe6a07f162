-- The catalogue: the APIs (resource servers) clients are given permissions on.

-- An API; its identifier is the `aud` of the tokens for it. The built-in admin API
-- (`api_tollgate`) is a row too, holding only the permissions an administrator added to it.
CREATE TABLE apis (
    api_id                TEXT    PRIMARY KEY NOT NULL,
    identifier            TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL UNIQUE,
    description           TEXT    NOT NULL DEFAULT '',
    access_token_lifetime INTEGER NULL,
    signing_algorithm     TEXT    NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- A permission's value is a scope, unique across the catalogue, so a scope names one API.
CREATE TABLE api_permissions (
    value       TEXT    PRIMARY KEY NOT NULL,
    api_id      TEXT    NOT NULL REFERENCES apis (api_id) ON DELETE CASCADE,
    description TEXT    NOT NULL DEFAULT '',
    -- Order in the API's list, as the administrator gave it.
    position    INTEGER NOT NULL
);

CREATE INDEX api_permissions_api ON api_permissions (api_id, position);

-- Tenants a client is bound to: space-delimited, sorted.
ALTER TABLE clients ADD COLUMN tenants TEXT NOT NULL DEFAULT '';
-- Claims merged into each of the client's tokens: a JSON object, or NULL for none.
ALTER TABLE clients ADD COLUMN claims TEXT NULL;
-- The scopes were fixed at creation.
ALTER TABLE clients ADD COLUMN scopes_locked BOOLEAN NOT NULL DEFAULT FALSE;
