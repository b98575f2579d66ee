-- 0015_sandbox.sql: what sets one project's sandboxes apart from
-- another's (builder/netns.c, builder/uid.c).

-- Where an app listens.  Each app runs in a network namespace of its own
-- and is reached at the address of its veth there; a row from before
-- (NULL) is an app on the host's 127.0.0.1, which the supervisor still
-- adopts and routes.
ALTER TABLE app_processes ADD COLUMN address inet;

-- The project's uid offset: its builds and apps run as sandbox_uid_base +
-- sandbox_slot.  Taken the first time the project builds (the lowest free
-- one), given back with the project's row; the unique index is what makes
-- two concurrent takers pick different ones.
ALTER TABLE projects ADD COLUMN sandbox_slot integer
    CHECK (sandbox_slot >= 0);
CREATE UNIQUE INDEX projects_sandbox_slot ON projects (sandbox_slot);
