-- 0002_auth.sql: sessions, personal API tokens, OAuth identities, teams.
--
-- Every token is stored as the SHA-256 (hex) of its value, never the value.

-- Failed logins slow an email down (backoff), whatever the client.  Keyed
-- by the SHA-256 of the normalised email, so an unknown email is slowed
-- exactly like a known one and the table says nothing about who exists.
CREATE TABLE login_failures (
    email_hash      text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz
);

-- Refresh tokens: single use, rotated.  Every token descended from one
-- login shares a family; presenting a spent token revokes the family.
CREATE TABLE refresh_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family      text NOT NULL,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Personal API tokens for the CLI and CI: scoped, revocable, may expire.
CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash    text NOT NULL UNIQUE,
    prefix        text NOT NULL,
    scopes        text[] NOT NULL
                  CHECK (scopes <@ ARRAY['READ', 'WRITE', 'DELETE']
                         AND cardinality(scopes) > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- A user signed in through a provider; the provider's access token is
-- kept sealed (AES-256-GCM with the master key) for later API calls.
CREATE TABLE oauth_identities (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           bigint NOT NULL REFERENCES users (id)
                      ON DELETE CASCADE,
    provider          text NOT NULL CHECK (provider IN ('github', 'google')),
    subject           text NOT NULL,
    login             text,
    access_token_enc  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, subject),
    UNIQUE (user_id, provider)
);

-- The state of an OAuth login in flight: single use, expiring, with the
-- PKCE verifier (Google) kept server side.
CREATE TABLE oauth_states (
    state_hash     text PRIMARY KEY,
    provider       text NOT NULL,
    code_verifier  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);

CREATE TABLE teams (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
    team_id     bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'member')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

CREATE INDEX team_members_user ON team_members (user_id);

-- exactly one owner per team: at most one here, at least one by the code
-- (ownership moves in one transaction)
CREATE UNIQUE INDEX team_members_one_owner ON team_members (team_id)
    WHERE role = 'owner';

CREATE TABLE team_invitations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id       bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email         text NOT NULL CHECK (email = lower(btrim(email))),
    role          text NOT NULL CHECK (role IN ('owner', 'member')),
    invited_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'accepted', 'declined',
                                   'revoked')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL DEFAULT now() + interval '7 days',
    responded_at  timestamptz
);

CREATE UNIQUE INDEX team_invitations_pending
    ON team_invitations (team_id, email) WHERE state = 'pending';
CREATE INDEX team_invitations_email ON team_invitations (email);
