-- The text of searchable events (POST /search, room_events): one row per
-- event and searched key (content.body of m.room.message, content.name of
-- m.room.name, content.topic and the text/plain m.topic of m.room.topic),
-- written with the event. value is lower-cased by the writer; searches
-- match each word of the term as a substring of it (LIKE), on both
-- engines. Redacted events are skipped by readers. Events stored before
-- this migration are not indexed.
CREATE TABLE event_search (
	event_nid     BIGINT NOT NULL,
	room_nid      BIGINT NOT NULL,
	search_key    TEXT NOT NULL,
	value         TEXT NOT NULL,
	PRIMARY KEY (event_nid, search_key)
);
CREATE INDEX event_search_room ON event_search (room_nid, event_nid);
