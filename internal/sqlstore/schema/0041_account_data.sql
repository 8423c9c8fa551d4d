-- Global (room_id = '') and per-room account data. pos is the account-data
-- stream position of the last change: "what changed after N" is
-- pos > N, and only the latest content of each type is kept.
CREATE TABLE account_data (
	localpart  TEXT NOT NULL,
	room_id    TEXT NOT NULL,
	type       TEXT NOT NULL,
	content    TEXT NOT NULL,
	pos        BIGINT NOT NULL,
	PRIMARY KEY (localpart, room_id, type)
);
CREATE INDEX account_data_by_pos ON account_data (localpart, pos);
