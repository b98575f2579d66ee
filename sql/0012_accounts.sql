-- 0012_accounts.sql: what trusting an account takes (issue 11, points 2, 3
-- and 9): verified emails, a token generation per user, who set a
-- project's repository, ownership transfers as offers, and login
-- failures counted per email and client.

-- An address is verified when a provider said so for the login that made
-- the account, or when the account's owner, signed in, linked a provider
-- that has the same address verified.  A password sign-up is not (until
-- mail verification exists).  Only verified addresses are linked to a
-- provider login by email and receive invitations.  Accounts made by a
-- provider login are the ones that were verified before.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

UPDATE users u SET email_verified = true
WHERE u.password_hash IS NULL
  AND EXISTS (SELECT 1 FROM oauth_identities i WHERE i.user_id = u.id);

-- Carried in every access token ("gen"); a password change bumps it, so
-- the access tokens issued before it stop working at once.
ALTER TABLE users ADD COLUMN token_gen integer NOT NULL DEFAULT 0;

-- Who last set repo_url: the owner's GitHub token is used for a clone only
-- when that is the owner (of a team's project: the team's owner).  Who set
-- the repositories of existing projects is unknown: their owners confirm
-- them by saving repo_url again.
ALTER TABLE projects ADD COLUMN repo_url_set_by bigint
    REFERENCES users (id) ON DELETE SET NULL;

-- A project's transfer is an offer in the invitations inbox: "become the
-- owner of project P", to an email (a user) or to a team (its owner
-- answers).  A row is either a team invitation (team_id, email) or a
-- transfer offer (project_id, and email or to_team_id).
ALTER TABLE team_invitations
    ALTER COLUMN team_id DROP NOT NULL,
    ALTER COLUMN email DROP NOT NULL,
    ADD COLUMN project_id bigint REFERENCES projects (id) ON DELETE CASCADE,
    ADD COLUMN to_team_id bigint REFERENCES teams (id) ON DELETE CASCADE,
    ADD CONSTRAINT team_invitations_kind CHECK (
        (team_id IS NOT NULL AND project_id IS NULL AND to_team_id IS NULL
         AND email IS NOT NULL)
        OR (team_id IS NULL AND project_id IS NOT NULL AND role = 'owner'
            AND (email IS NULL) <> (to_team_id IS NULL)));

-- one live offer per project: a new one revokes the old first
CREATE UNIQUE INDEX team_invitations_transfer_pending
    ON team_invitations (project_id) WHERE state = 'pending';
CREATE INDEX team_invitations_to_team ON team_invitations (to_team_id);

-- Failures are counted per email and client address (a /64 for IPv6):
-- someone else's failures never lock a user out.
DELETE FROM login_failures;
ALTER TABLE login_failures RENAME COLUMN email_hash TO key_hash;
