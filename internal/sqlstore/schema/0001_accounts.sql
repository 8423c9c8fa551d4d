-- Local accounts, their devices, and access-token sessions.
CREATE TABLE accounts (
	localpart     TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	admin         BOOLEAN NOT NULL DEFAULT FALSE,
	deactivated   BOOLEAN NOT NULL DEFAULT FALSE,
	created_ts    BIGINT NOT NULL
);

CREATE TABLE devices (
	localpart     TEXT NOT NULL REFERENCES accounts (localpart),
	device_id     TEXT NOT NULL,
	display_name  TEXT NOT NULL DEFAULT '',
	last_seen_ip  TEXT NOT NULL DEFAULT '',
	last_seen_ts  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (localpart, device_id)
);

-- Tokens are stored as SHA-256 hashes: a database leak reveals no token.
CREATE TABLE sessions (
	token_hash    {{BLOB}} PRIMARY KEY,
	localpart     TEXT NOT NULL,
	device_id     TEXT NOT NULL,
	expires_ts    BIGINT NOT NULL DEFAULT 0,
	refresh_hash  {{BLOB}} UNIQUE,
	FOREIGN KEY (localpart, device_id) REFERENCES devices (localpart, device_id) ON DELETE CASCADE
);
CREATE INDEX sessions_device ON sessions (localpart, device_id);
