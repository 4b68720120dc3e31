-- People who sign in to the web UI with a name and a password. The password is kept only as an
-- argon2id hash (PHC string); scopes and the product limit mean what they mean for a token.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    product_id      BIGINT REFERENCES products(id),
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT,
    last_sign_in    BIGINT,
    -- wrong passwords in a row, and until when sign-in is refused after too many
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT
);

-- Signed-in browsers: a person's, or one signed in with a token (the browser then holds a
-- session id, never the token). Only the SHA-256 of the session id is stored; the id lives in the
-- cookie.
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    id_sha256       TEXT NOT NULL UNIQUE,
    user_id         BIGINT REFERENCES users(id),
    token_id        BIGINT REFERENCES tokens(id),
    created_at      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    -- the absolute end, whatever the activity
    expires_at      BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (token_id IS NULL))
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_token ON sessions (token_id);
