-- 0011_logs.sql: what reading and retention of log_lines need.
--
-- A project's lines are read and searched across its deployments, and
-- trimmed oldest first when they take more than log_max_size: both walk
-- (project_id, id).  Lines older than log_max_age are found by "at".
--
-- log_usage keeps the bytes of line text each project holds, so that
-- shipoffd finds the projects over their size without summing the whole
-- table.  Statement triggers keep it: one row update per batch that
-- shipoffd inserts (a batch is one deployment's), one per project a
-- delete touched.

CREATE INDEX log_lines_project ON log_lines (project_id, id);
CREATE INDEX log_lines_at ON log_lines (at);

CREATE TABLE log_usage (
    project_id  bigint PRIMARY KEY,
    bytes       bigint NOT NULL DEFAULT 0
);

INSERT INTO log_usage (project_id, bytes)
SELECT project_id, sum(octet_length(line)) FROM log_lines
GROUP BY project_id;

CREATE FUNCTION log_usage_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO log_usage AS u (project_id, bytes)
    SELECT project_id, sum(octet_length(line)) FROM added
    GROUP BY project_id
    ORDER BY project_id
    ON CONFLICT (project_id) DO UPDATE SET bytes = u.bytes + excluded.bytes;
    RETURN NULL;
END;
$$;

CREATE FUNCTION log_usage_sub() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE log_usage u SET bytes = greatest(u.bytes - d.bytes, 0)
    FROM (SELECT project_id, sum(octet_length(line)) AS bytes FROM removed
          GROUP BY project_id) d
    WHERE u.project_id = d.project_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER log_lines_usage_add AFTER INSERT ON log_lines
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION log_usage_add();

CREATE TRIGGER log_lines_usage_sub AFTER DELETE ON log_lines
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION log_usage_sub();
