-- The server notices room of each local user who was sent a notice.
CREATE TABLE server_notice_rooms (
	localpart     TEXT PRIMARY KEY,
	room_id       TEXT NOT NULL
);
