-- User-interactive authentication sessions, registration tokens and
-- shared-secret registration nonces. They live in the database so that
-- several myelin processes sharing one PostgreSQL see the same state.

-- completed holds the completed stage names, each followed by one space.
-- registration_token is the token whose use the session holds ('' = none).
CREATE TABLE uia_sessions (
	session_id         TEXT PRIMARY KEY,
	purpose            TEXT NOT NULL,
	localpart          TEXT NOT NULL DEFAULT '',
	binding            {{BLOB}},
	completed          TEXT NOT NULL DEFAULT '',
	registration_token TEXT NOT NULL DEFAULT '',
	created_ts         BIGINT NOT NULL,
	expires_ts         BIGINT NOT NULL
);
CREATE INDEX uia_sessions_expiry ON uia_sessions (expires_ts);

-- Synapse's shape: uses_allowed and expiry_time NULL mean unlimited.
CREATE TABLE registration_tokens (
	token        TEXT PRIMARY KEY,
	uses_allowed BIGINT,
	pending      BIGINT NOT NULL DEFAULT 0,
	completed    BIGINT NOT NULL DEFAULT 0,
	expiry_time  BIGINT
);

CREATE TABLE registration_nonces (
	nonce      TEXT PRIMARY KEY,
	expires_ts BIGINT NOT NULL
);
CREATE INDEX registration_nonces_expiry ON registration_nonces (expires_ts);
