-- 0013_repo_key_env_names.sql: two changes of issue 11, in one file as
-- the issue has one migration number for them.
--
-- 1. (point 7) The exact repository of a project, indexed, so the
-- webhook receiver finds the projects of a delivery's repository in SQL.
-- Before, it took the 64 oldest projects whose repo_url merely ended in
-- the repository's full name on any host, so 64 decoys on other hosts
-- kept the real project from every delivery.
--
-- shipoff_repo_key() is the one definition of a repository's identity
-- for webhooks: "host[:port]/owner/name" of a scheme://host/path URL,
-- without user@, trailing slashes or ".git", all in lower case (GitHub,
-- which sends the deliveries, treats owner and name without regard to
-- case; a key shared by two repositories costs only a signature check,
-- never a delivery to a project whose secret does not verify).  NULL
-- for what has no host and path (file:///...).  The webhook receiver
-- derives the key of a payload's html_url and clone_url with the same
-- function, so both sides cannot drift apart.
--
-- repo_key is a stored generated column: every INSERT and UPDATE of
-- repo_url, by whatever code, keeps it in step, and adding it fills the
-- existing rows.  Changing the function later needs a migration that
-- rewrites the column (ALTER TABLE ... ALTER COLUMN ... SET EXPRESSION
-- does not exist in PostgreSQL 15: drop and add it again).

CREATE FUNCTION shipoff_repo_key(url text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN k.path <> '' THEN lower(k.host || '/' || k.path) END
    FROM (SELECT m[1] AS host,
                 regexp_replace(m[2], '/*(\.git)?/*$', '') AS path
          FROM regexp_match(url, '^[A-Za-z][A-Za-z0-9+.-]*://'
                                 '(?:[^/@]*@)?([^/@]+)/+(.*)$') AS m
          WHERE url !~ '[[:cntrl:] ]') AS k
$$;

ALTER TABLE projects ADD COLUMN repo_key text
    GENERATED ALWAYS AS (shipoff_repo_key(repo_url)) STORED;

CREATE INDEX projects_repo_key ON projects (repo_key);

-- 2. (point 9) Environment variable names: letters of either case, as
-- Heroku and Vercel accept them (npm_config_* is read in lower case).
-- The table keeps the grammar only; which names are refused is
-- lib/so_env.c's, checked when a variable is set and when it is loaded.
ALTER TABLE env_vars DROP CONSTRAINT env_vars_key_check;

ALTER TABLE env_vars ADD CONSTRAINT env_vars_key_check
    CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$');
