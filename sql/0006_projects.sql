-- 0006_projects.sql: projects, who may act on them, deployments and their
-- state machine, environment variables, the build outbox and webhook
-- deliveries.

CREATE TABLE projects (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the subdomain: a DNS label
    name                text NOT NULL UNIQUE
                        CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    -- owned by a user or by a team, never both
    owner_user_id       bigint REFERENCES users (id) ON DELETE CASCADE,
    owner_team_id       bigint REFERENCES teams (id) ON DELETE CASCADE,
    repo_url            text NOT NULL,
    branch              text NOT NULL DEFAULT 'main',
    root_dir            text NOT NULL DEFAULT '',
    kind                text NOT NULL DEFAULT 'auto'
                        CHECK (kind IN ('auto', 'static', 'dynamic')),
    framework           text,
    runtime             text CHECK (runtime IN ('node', 'python', 'php')),
    install_cmd         text,
    build_cmd           text,
    run_cmd             text,
    output_dir          text,
    health_path         text,
    -- sealed with the master key (AAD: "webhook:" || id)
    webhook_secret_enc  text NOT NULL,
    github_hook_id      bigint,
    github_hook_error   text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_one_owner
        CHECK ((owner_user_id IS NULL) <> (owner_team_id IS NULL))
);

CREATE INDEX projects_owner_user ON projects (owner_user_id);
CREATE INDEX projects_owner_team ON projects (owner_team_id);

-- direct grants to users and links to teams; scopes as in api_tokens
CREATE TABLE project_members (
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes      text[] NOT NULL
                CHECK (scopes <@ ARRAY['READ', 'WRITE', 'DELETE']
                       AND cardinality(scopes) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);

CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE project_teams (
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    team_id     bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    scopes      text[] NOT NULL
                CHECK (scopes <@ ARRAY['READ', 'WRITE', 'DELETE']
                       AND cardinality(scopes) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, team_id)
);

CREATE INDEX project_teams_team ON project_teams (team_id);

-- The deployment state machine.  lib/so_state.c holds the same table for
-- the C writers; tests check both against one matrix.
CREATE TABLE deployment_transitions (
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);

INSERT INTO deployment_transitions (from_state, to_state) VALUES
    ('QUEUED', 'BUILDING'),
    ('QUEUED', 'CANCELED'),
    ('QUEUED', 'FAILED'),
    ('BUILDING', 'PROVISIONING'),
    ('BUILDING', 'FAILED'),
    ('BUILDING', 'CANCELED'),
    ('BUILDING', 'QUEUED'),             -- retried after builder_lost
    ('PROVISIONING', 'PRODUCTION'),
    ('PROVISIONING', 'FAILED'),
    ('PROVISIONING', 'QUEUED'),         -- retried after builder_lost
    ('PRODUCTION', 'INACTIVE'),
    ('INACTIVE', 'PRODUCTION');         -- promote: instant rollback

CREATE TABLE deployments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        bigint NOT NULL REFERENCES projects (id)
                      ON DELETE CASCADE,
    state             text NOT NULL DEFAULT 'QUEUED'
                      CHECK (state IN ('QUEUED', 'BUILDING', 'PROVISIONING',
                                       'PRODUCTION', 'INACTIVE', 'FAILED',
                                       'CANCELED')),
    reason            text,
    branch            text NOT NULL,
    commit_sha        text CHECK (commit_sha ~ '^[0-9a-f]{40}$'),
    commit_message    text,
    trigger           text NOT NULL DEFAULT 'manual'
                      CHECK (trigger IN ('push', 'manual', 'redeploy')),
    created_by        bigint REFERENCES users (id) ON DELETE SET NULL,
    -- what the builder detected and used
    kind              text CHECK (kind IN ('static', 'dynamic')),
    framework         text,
    runtime           text,
    -- the artifact under var/sites or var/apps, while it is kept
    artifact_path     text,
    attempts          integer NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_expires_at  timestamptz,
    exit_code         integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz
);

CREATE INDEX deployments_project ON deployments (project_id, id DESC);
CREATE INDEX deployments_active ON deployments (state)
    WHERE state IN ('QUEUED', 'BUILDING', 'PROVISIONING');

-- at most one PRODUCTION per project
CREATE UNIQUE INDEX deployments_one_production ON deployments (project_id)
    WHERE state = 'PRODUCTION';

CREATE TABLE deployment_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id  bigint NOT NULL REFERENCES deployments (id)
                   ON DELETE CASCADE,
    from_state     text,
    to_state       text NOT NULL,
    reason         text,
    at             timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX deployment_events_deployment
    ON deployment_events (deployment_id, id);

CREATE FUNCTION deployments_transition() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'QUEUED' THEN
            RAISE EXCEPTION 'a deployment starts QUEUED, not %', NEW.state
                USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO deployment_events (deployment_id, from_state, to_state,
                                       reason)
            VALUES (NEW.id, NULL, NEW.state, NEW.reason);
        RETURN NEW;
    END IF;

    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF NOT EXISTS (SELECT 1 FROM deployment_transitions
                       WHERE from_state = OLD.state
                         AND to_state = NEW.state)
        THEN
            RAISE EXCEPTION 'illegal deployment transition % -> %',
                OLD.state, NEW.state
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.updated_at := now();
        INSERT INTO deployment_events (deployment_id, from_state, to_state,
                                       reason)
            VALUES (NEW.id, OLD.state, NEW.state, NEW.reason);
    END IF;

    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER deployments_insert AFTER INSERT ON deployments
    FOR EACH ROW EXECUTE FUNCTION deployments_transition();

CREATE TRIGGER deployments_update BEFORE UPDATE OF state ON deployments
    FOR EACH ROW EXECUTE FUNCTION deployments_transition();

-- Written in the same transaction as a QUEUED deployment; the XADD to
-- shipoff:builds follows the commit.  The builder's reconciler sends what
-- was never sent, so nothing is lost between the database and the queue.
CREATE TABLE build_outbox (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id  bigint NOT NULL REFERENCES deployments (id)
                   ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);

CREATE INDEX build_outbox_unsent ON build_outbox (id) WHERE sent_at IS NULL;

CREATE TABLE env_vars (
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (key ~ '^[A-Z_][A-Z0-9_]*$'
                                      AND length(key) <= 128),
    -- a plain value, or for a secret the value sealed with the master key
    -- (AAD: project id, key, key_version)
    value        text NOT NULL,
    secret       boolean NOT NULL DEFAULT false,
    key_version  integer NOT NULL DEFAULT 1,
    target       text NOT NULL DEFAULT 'both'
                 CHECK (target IN ('build', 'runtime', 'both')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, key)
);

-- GitHub's X-GitHub-Delivery, recorded once
CREATE TABLE webhook_deliveries (
    delivery_id    text PRIMARY KEY,
    project_id     bigint REFERENCES projects (id) ON DELETE CASCADE,
    event          text NOT NULL,
    deployment_id  bigint REFERENCES deployments (id) ON DELETE SET NULL,
    outcome        text NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);
