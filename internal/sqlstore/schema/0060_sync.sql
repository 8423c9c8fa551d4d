-- Reads of /sync and the timeline endpoints (sqlstore/sync.go).
--
-- timestamp_to_event looks events of a room up by origin_server_ts.
CREATE INDEX events_room_ts ON events (room_nid, origin_ts);
