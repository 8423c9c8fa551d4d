-- Receipts (m.read, m.read.private): the latest receipt of each user per
-- room, receipt type and thread (thread_id '' = unthreaded). pos is the
-- receipts-stream position of the last change: "what changed in these
-- rooms after N" is room_id IN (...) AND pos > N. event_pos is the events
-- stream position of the acknowledged event, for comparing receipts.
CREATE TABLE receipts (
	room_id      TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	receipt_type TEXT NOT NULL,
	thread_id    TEXT NOT NULL,
	event_id     TEXT NOT NULL,
	event_pos    BIGINT NOT NULL,
	ts           BIGINT NOT NULL,
	pos          BIGINT NOT NULL,
	PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
);
CREATE INDEX receipts_room_pos ON receipts (room_id, pos);
CREATE INDEX receipts_user ON receipts (user_id);
