-- Administrators: the people who sign in to the console.

CREATE TABLE admins (
    admin_id        TEXT    PRIMARY KEY NOT NULL,
    -- As the person typed it; `email_key` (lower case) makes it unique without regard to case.
    email           TEXT    NOT NULL,
    email_key       TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    -- Argon2id PHC string; NULL for a person who signs in only through single sign-on.
    password_hash   TEXT    NULL,
    -- The TOTP secret, sealed (AES-256-GCM) under a key the key-encryption key seals.
    totp_secret     BLOB    NULL,
    -- The last TOTP time step accepted, so a code is accepted once.
    totp_last_step  INTEGER NULL,
    -- `issuer sub` of the single sign-on account that created this one.
    sso_subject     TEXT    NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_sign_in_at INTEGER NULL,
    disabled_at     INTEGER NULL
);

-- Recovery codes, as keyed hashes; a used code keeps its row so it is refused, not unknown.
CREATE TABLE admin_recovery_codes (
    admin_id TEXT    NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    digest   TEXT    NOT NULL,
    used_at  INTEGER NULL,
    PRIMARY KEY (admin_id, digest)
);

-- One-time links (first owner, invitations, password resets), by the SHA-256 of their token.
CREATE TABLE admin_links (
    digest     TEXT    PRIMARY KEY NOT NULL,
    purpose    TEXT    NOT NULL,
    email      TEXT    NULL,
    role       TEXT    NULL,
    admin_id   TEXT    NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Console sessions, by the SHA-256 of their cookie: deleting a row ends the session on every node.
CREATE TABLE admin_sessions (
    digest       TEXT    PRIMARY KEY NOT NULL,
    admin_id     TEXT    NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    stage        TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    address      TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
