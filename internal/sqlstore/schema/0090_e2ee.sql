-- End-to-end encryption (sqlstore/e2ee*.go). Rows are keyed by the full
-- user ID, so remote users' keys fit the same tables; for local users the
-- devices table (keyed by localpart) says which devices exist.

-- Device identity keys: the canonical JSON of the uploaded object.
CREATE TABLE e2ee_device_keys (
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	key_json   {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, device_id)
);

-- One-time keys, handed out in upload order (id). A claimed key keeps its
-- row (claimed = TRUE) until its device is deleted, so that a re-upload of
-- the same key ID is recognized and the key is never handed out twice.
CREATE TABLE e2ee_one_time_keys (
	id         {{ID}},
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	algorithm  TEXT NOT NULL,
	key_id     TEXT NOT NULL,
	key_json   {{BLOB}} NOT NULL,
	claimed    BOOLEAN NOT NULL DEFAULT FALSE,
	UNIQUE (user_id, device_id, algorithm, key_id)
);
CREATE INDEX e2ee_one_time_keys_unclaimed ON e2ee_one_time_keys (user_id, device_id, algorithm, claimed, id);

-- Fallback keys: one per device and algorithm; used is set when a claim
-- hands it out.
CREATE TABLE e2ee_fallback_keys (
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	algorithm  TEXT NOT NULL,
	key_id     TEXT NOT NULL,
	key_json   {{BLOB}} NOT NULL,
	used       BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (user_id, device_id, algorithm)
);

-- Cross-signing keys: one per user and usage (master, self_signing,
-- user_signing).
CREATE TABLE e2ee_cross_signing_keys (
	user_id    TEXT NOT NULL,
	key_usage  TEXT NOT NULL,
	public_key TEXT NOT NULL,
	key_json   {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, key_usage)
);

-- Signatures uploaded through /keys/signatures/upload. target_key_id is a
-- device ID or a cross-signing public key (they never collide: a
-- cross-signing key equal to a device ID is refused).
CREATE TABLE e2ee_key_signatures (
	target_user_id TEXT NOT NULL,
	target_key_id  TEXT NOT NULL,
	signer_user_id TEXT NOT NULL,
	signer_key_id  TEXT NOT NULL,
	signature      TEXT NOT NULL,
	PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signer_key_id)
);

-- The device-lists stream: pos is a position of stream device_lists. viewer
-- '' tells everyone who shares a room with user_id; else only viewer.
CREATE TABLE e2ee_device_list_changes (
	pos        BIGINT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	viewer     TEXT NOT NULL
);
CREATE INDEX e2ee_device_list_changes_user ON e2ee_device_list_changes (user_id, pos);

-- Send-to-device inboxes: pos is a position of stream to_device. Rows are
-- deleted when the device syncs past them.
CREATE TABLE e2ee_to_device (
	pos        BIGINT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	sender     TEXT NOT NULL,
	event_type TEXT NOT NULL,
	content    {{BLOB}} NOT NULL
);
CREATE INDEX e2ee_to_device_inbox ON e2ee_to_device (user_id, device_id, pos);

-- Transaction IDs of /sendToDevice requests, for idempotency.
CREATE TABLE e2ee_to_device_txns (
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	event_type TEXT NOT NULL,
	txn_id     TEXT NOT NULL,
	ts         BIGINT NOT NULL,
	PRIMARY KEY (user_id, device_id, event_type, txn_id)
);
CREATE INDEX e2ee_to_device_txns_ts ON e2ee_to_device_txns (ts);

-- Server-side key backups. version is never reused; a deleted version keeps
-- its row (deleted = TRUE) so that deleting it again succeeds. etag grows
-- with every change of the version's keys.
CREATE TABLE e2ee_backup_versions (
	version    {{ID}},
	user_id    TEXT NOT NULL,
	algorithm  TEXT NOT NULL,
	auth_data  {{BLOB}} NOT NULL,
	etag       BIGINT NOT NULL DEFAULT 0,
	deleted    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX e2ee_backup_versions_user ON e2ee_backup_versions (user_id, version);

CREATE TABLE e2ee_backup_keys (
	user_id             TEXT NOT NULL,
	version             BIGINT NOT NULL,
	room_id             TEXT NOT NULL,
	session_id          TEXT NOT NULL,
	first_message_index BIGINT NOT NULL,
	forwarded_count     BIGINT NOT NULL,
	is_verified         BOOLEAN NOT NULL,
	session_data        {{BLOB}} NOT NULL,
	PRIMARY KEY (user_id, version, room_id, session_id)
);
