-- 0010_apps.sql: the processes of dynamic apps, as shipoffd's supervisor
-- (builder/apps.c) knows them, so that a restarted shipoffd finds the apps
-- it left running (they outlive it) and adopts them again.
--
-- One row per deployment with an app on this builder: starting (the
-- health check is not through yet), running, stopping (drained or
-- SIGTERMed), or sleeping (stopped for being idle: no process, woken on
-- the next request).  No foreign keys on purpose: a row outlives the
-- deletion of its project or deployment, so that whoever finds it (the
-- supervisor at start) still knows which process and cgroup to kill.

-- the command the app was started with, as detected at build time: a
-- rollback starts the kept artifact exactly as it was built
ALTER TABLE deployments ADD COLUMN run_cmd text;

CREATE TABLE app_processes (
    deployment_id  bigint PRIMARY KEY,
    project_id     bigint NOT NULL,
    -- the builder's host name: each builder adopts only its own
    owner          text NOT NULL,
    state          text NOT NULL
                   CHECK (state IN ('starting', 'running', 'stopping',
                                    'sleeping')),
    port           integer CHECK (port BETWEEN 1 AND 65535),
    -- bwrap's pid in the builder's pid namespace, NULL when sleeping
    pid            integer,
    cgroup         text,
    started_at     timestamptz,
    restarts       integer NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX app_processes_project ON app_processes (project_id);
CREATE INDEX app_processes_owner ON app_processes (owner);
