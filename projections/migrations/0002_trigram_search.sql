-- Trigram indexes make substring search of names fast ("civic" in "Civic
-- Integration Foundation", Georgian alike). pg_trgm ships with PostgreSQL,
-- but creating an extension needs privileges a managed database may not
-- grant; then search still works, by scanning, and read models simply make
-- no trigram index (they check for the extension).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available (%); name search runs without a trigram index', SQLERRM;
END $$;
