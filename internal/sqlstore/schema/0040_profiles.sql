-- Local users' profiles. displayname and avatar_url are columns because
-- member events and the user directory read them; every other field (m.tz,
-- custom namespaced fields) lives in fields, a JSON object.
CREATE TABLE profiles (
	localpart    TEXT PRIMARY KEY REFERENCES accounts (localpart),
	displayname  TEXT NOT NULL DEFAULT '',
	avatar_url   TEXT NOT NULL DEFAULT '',
	-- The display name lower-cased by the server (not by SQL, whose lower()
	-- differs between engines), for the user directory.
	search_name  TEXT NOT NULL DEFAULT '',
	fields       TEXT NOT NULL DEFAULT '{}'
);
