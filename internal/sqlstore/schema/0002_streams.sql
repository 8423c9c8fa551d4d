-- One row per stream: the last position handed out. A writer takes the next
-- position with UPDATE ... RETURNING inside its own transaction, which locks
-- the row until commit: positions of one stream become visible in order, so
-- a reader that saw position N has seen every position below N.
CREATE TABLE stream_positions (
	stream TEXT PRIMARY KEY,
	pos    BIGINT NOT NULL
);
