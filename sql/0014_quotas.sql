-- 0014_quotas.sql: what the per-account quotas (lib/so_quota.c) count.
--
-- An account is a user, or a team for the projects a team owns.  Most
-- usage is counted from the tables as they are (projects, deployments,
-- app_processes); the disk an artifact takes is measured once, when the
-- builder publishes it, and kept here so that an account's disk usage is
-- a sum in SQL.  NULL: not measured (published before this migration);
-- such an artifact counts as 0.

ALTER TABLE deployments ADD COLUMN artifact_bytes bigint
    CHECK (artifact_bytes >= 0);
