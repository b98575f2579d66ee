-- 0017_app_usage.sql: what each project's app used, sampled by shipoffd's
-- supervisor (builder/appusage.c) every reap_interval, for
-- GET /api/v1/projects/:id/usage (charts over a window) and the
-- Prometheus text of /_shipoff/metrics/apps.
--
-- Memory is a gauge (the cgroup's now, and the most since the app's
-- process started); the other columns count what happened since the
-- sample before, so that a window's total is a sum.  Kept
-- BLD_USAGE_KEEP (builder/retention.c), found by "at".

CREATE TABLE app_usage (
    id                 bigserial PRIMARY KEY,
    project_id         bigint NOT NULL REFERENCES projects (id)
                       ON DELETE CASCADE,
    deployment_id      bigint NOT NULL,
    at                 timestamptz NOT NULL DEFAULT now(),
    memory_bytes       bigint NOT NULL,
    memory_peak_bytes  bigint NOT NULL,
    cpu_seconds        double precision NOT NULL,
    restarts           integer NOT NULL,
    oom_kills          integer NOT NULL,
    requests           bigint NOT NULL,
    wakes              integer NOT NULL
);

CREATE INDEX app_usage_project ON app_usage (project_id, at);
CREATE INDEX app_usage_at ON app_usage (at);
