-- Pushers (POST /pushers/set): at most one per user, app ID and pushkey.
-- device_id is the device whose access token set the pusher: deleting the
-- device (logout, device deletion, password change with logout,
-- deactivation) deletes its pushers in the same transaction. data is the
-- client's PusherData object as JSON text.
CREATE TABLE pushers (
	localpart           TEXT NOT NULL,
	app_id              TEXT NOT NULL,
	pushkey             TEXT NOT NULL,
	device_id           TEXT NOT NULL,
	kind                TEXT NOT NULL,
	app_display_name    TEXT NOT NULL,
	device_display_name TEXT NOT NULL,
	profile_tag         TEXT NOT NULL,
	lang                TEXT NOT NULL,
	data                TEXT NOT NULL,
	created_ts          BIGINT NOT NULL,
	PRIMARY KEY (localpart, app_id, pushkey)
);
CREATE INDEX pushers_key ON pushers (app_id, pushkey);
CREATE INDEX pushers_device ON pushers (localpart, device_id);
