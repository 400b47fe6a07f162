-- Administrators. Mirrors migrations/sqlite/0005_admins.sql.

CREATE TABLE admins (
    admin_id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    email           TEXT    NOT NULL,
    email_key       TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    password_hash   TEXT    NULL,
    totp_secret     BYTEA   NULL,
    totp_last_step  BIGINT  NULL,
    sso_subject     TEXT    NULL UNIQUE,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    last_sign_in_at BIGINT  NULL,
    disabled_at     BIGINT  NULL
);

CREATE TABLE admin_recovery_codes (
    admin_id TEXT COLLATE "C" NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    digest   TEXT    NOT NULL,
    used_at  BIGINT  NULL,
    PRIMARY KEY (admin_id, digest)
);

CREATE TABLE admin_links (
    digest     TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    purpose    TEXT    NOT NULL,
    email      TEXT    NULL,
    role       TEXT    NULL,
    admin_id   TEXT COLLATE "C" NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

CREATE TABLE admin_sessions (
    digest       TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    admin_id     TEXT COLLATE "C" NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    stage        TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    address      TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
