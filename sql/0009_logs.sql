-- 0009_logs.sql: the lines a deployment's build (and later its app)
-- printed, and what shipoffd said about it, kept for reading back and
-- searching.  The live tail goes through the Redis stream logs:<id>; this
-- table is the record.  Secret values are masked before a line is stored.

CREATE TABLE log_lines (
    id             bigserial PRIMARY KEY,
    deployment_id  bigint NOT NULL REFERENCES deployments (id)
                   ON DELETE CASCADE,
    project_id     bigint NOT NULL,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    stream         text NOT NULL
                   CHECK (stream IN ('build', 'stdout', 'stderr', 'system')),
    line           text NOT NULL,
    tsv            tsvector GENERATED ALWAYS AS (to_tsvector('simple', line))
                   STORED
);

CREATE INDEX log_lines_deployment ON log_lines (deployment_id, id);
CREATE INDEX log_lines_tsv ON log_lines USING gin (tsv);
