-- Local users' presence. pos is the presence stream position of the last
-- change, including changes of the user's display name or avatar URL.
CREATE TABLE presence (
	localpart       TEXT PRIMARY KEY,
	state           TEXT NOT NULL,
	status_msg      TEXT NOT NULL DEFAULT '',
	last_active_ts  BIGINT NOT NULL,
	pos             BIGINT NOT NULL
);
CREATE INDEX presence_by_pos ON presence (pos);
