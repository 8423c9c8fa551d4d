-- Dehydrated devices (MSC3814, sqlstore/dehydrated.go): at most one per
-- account. The device itself is a row of devices; a record whose device
-- row is gone is stale and ignored.
CREATE TABLE e2ee_dehydrated_devices (
	localpart   TEXT PRIMARY KEY,
	device_id   TEXT NOT NULL,
	device_data {{BLOB}} NOT NULL
);
