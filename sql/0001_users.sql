-- 0001_users.sql: accounts.
-- Emails are stored normalised (lower case, trimmed) by the auth app and
-- unique here; password_hash is an argon2id PHC string or NULL for an
-- account that only signs in through OAuth.

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text NOT NULL,
    name           text NOT NULL DEFAULT '',
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email))),
    CONSTRAINT users_email_shape CHECK (email LIKE '_%@_%')
);

CREATE UNIQUE INDEX users_email_key ON users (email);
