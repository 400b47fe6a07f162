-- Token requests per hour, client and outcome, written behind by every node's upkeep: each
-- node adds its counts to the row (an upsert that adds), so the rows hold the cluster's sums.
-- Kept 30 days. Mirrors migrations/sqlite/0007_usage.sql.
CREATE TABLE token_usage (
    -- Unix time of the start of the hour (UTC).
    hour_start BIGINT  NOT NULL,
    -- The client, or '' for requests that named no existing client. No foreign key: the
    -- counts of a deleted client still belong to the totals until they are pruned.
    client_id  TEXT COLLATE "C" NOT NULL,
    -- `issued`, or the OAuth error code of a refusal (`invalid_client`, `invalid_scope`, ...).
    outcome    TEXT    NOT NULL,
    requests   BIGINT  NOT NULL,
    PRIMARY KEY (hour_start, client_id, outcome)
);

-- A client's counts (the client object, the dashboard's attention list).
CREATE INDEX token_usage_client ON token_usage (client_id, hour_start);
