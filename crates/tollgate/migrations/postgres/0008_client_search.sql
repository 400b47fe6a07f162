-- Searching clients by a part of their name or id with 100,000 clients: trigram indexes
-- (pg_trgm, a trusted extension shipped with PostgreSQL's contrib) let `LIKE '%…%'` find the
-- few that match without reading every row. Where the extension cannot be installed the
-- search still works, reading the table instead.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): client search reads the whole table', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS clients_name_trgm ON clients USING gin (lower(name) gin_trgm_ops)';
        EXECUTE 'CREATE INDEX IF NOT EXISTS clients_id_trgm ON clients USING gin (client_id gin_trgm_ops)';
    END IF;
END
$$;
