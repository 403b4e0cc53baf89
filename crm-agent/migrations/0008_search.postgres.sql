-- PostgreSQL keeps `search` as ILIKE over the columns (0008_search.sqlite.sql indexes them on
-- SQLite). A trigram index here would need the pg_trgm extension, which a host's server may not
-- have installed; so this migration only keeps the version numbers of both databases aligned.
SELECT 1;
