-- A client's optional token quota: at most `quota_tokens` tokens per fixed UTC window
-- (`hour` or `day`), refused beyond it (`enforce`) or only flagged (`monitor`). All three are
-- NULL for a client without one. Mirrors migrations/postgres/0009_client_quotas.sql.
ALTER TABLE clients ADD COLUMN quota_tokens INTEGER NULL;
ALTER TABLE clients ADD COLUMN quota_per TEXT NULL;
ALTER TABLE clients ADD COLUMN quota_mode TEXT NULL;
