-- Event relationships: one row per event whose cleartext content has an
-- m.relates_to with a rel_type and an event_id (the child), written with
-- the event. target_id is the parent's event ID, which may be unknown to
-- this server or in another room: readers join it to the parent in the
-- same room, so such relations are ignored, as the spec asks. A redacted
-- child's relation is broken: readers skip children in redactions.
-- Events stored before this migration are not indexed.
CREATE TABLE event_relations (
	event_nid     BIGINT PRIMARY KEY,
	room_nid      BIGINT NOT NULL,
	target_id     TEXT NOT NULL,
	rel_type      TEXT NOT NULL,
	event_type    TEXT NOT NULL,
	sender        TEXT NOT NULL
);
CREATE INDEX event_relations_target ON event_relations (target_id, rel_type);
CREATE INDEX event_relations_room_type ON event_relations (room_nid, rel_type);
