-- 0015_app_address.sql: where an app listens.  Each app runs in a network
-- namespace of its own (builder/netns.c) and is reached at the address of
-- its veth there; a row from before (NULL) is an app on the host's
-- 127.0.0.1, which the supervisor still adopts and routes.
ALTER TABLE app_processes ADD COLUMN address inet;
