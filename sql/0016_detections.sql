-- 0016_detections.sql: detections of repositories, made by a builder.
--
-- POST /api/v1/detect records the request here and tells the builders on
-- shipoff:events; one of them clones and detects in its sandbox, under a
-- deadline, and writes the answer back.  The API never clones: a
-- repository that hangs or explodes costs a sandbox, not an API thread.
-- A detection is its requester's only; rows go with the user.

CREATE TABLE detections (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    repo_url       text NOT NULL,
    branch         text NOT NULL,
    root_dir       text NOT NULL DEFAULT '',
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'done', 'failed')),
    result         jsonb,
    error_code     text,
    error_message  text,
    error_field    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    CHECK ((state = 'done') = (result IS NOT NULL)),
    CHECK ((state = 'failed') = (error_code IS NOT NULL))
);

CREATE INDEX detections_user ON detections (user_id, id);
CREATE INDEX detections_pending ON detections (created_at)
    WHERE state = 'pending';
