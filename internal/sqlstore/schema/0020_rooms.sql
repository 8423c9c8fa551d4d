-- Rooms, events and room state (design-notes/state-and-streams.md).
--
-- Room IDs, event IDs and (type, state_key) pairs are interned to integers
-- (room_nid, event_nid, state_key_nid). A room state is a set of
-- (state_key_nid, event_nid) pairs, stored as immutable snapshots, each a
-- delta over an ancestor snapshot with a logarithmic chain length.

CREATE TABLE rooms (
	room_nid      {{ID}},
	room_id       TEXT NOT NULL UNIQUE,
	room_version  TEXT NOT NULL,
	-- The snapshot of the room's current state (0 = empty), kept equal to
	-- the rows of room_current_state.
	snapshot_nid  BIGINT NOT NULL DEFAULT 0,
	-- Visibility in the published room directory: public or private.
	visibility    TEXT NOT NULL DEFAULT 'private',
	created_ts    BIGINT NOT NULL
);

CREATE TABLE state_keys (
	state_key_nid {{ID}},
	event_type    TEXT NOT NULL,
	state_key     TEXT NOT NULL,
	UNIQUE (event_type, state_key)
);

-- Snapshots are immutable and stored as skip deltas (sqlstore/state.go):
-- seq is the snapshot's distance from the empty state along the states it
-- was derived from, and entries the difference from base_nid (0 = the empty
-- state), the ancestor at seq - lowbit(seq). A snapshot is read from at most
-- log2(seq) rows, and each state change is stored about log2(seq)/2 times.
CREATE TABLE state_snapshots (
	snapshot_nid  {{ID}},
	room_nid      BIGINT NOT NULL,
	seq           BIGINT NOT NULL,
	base_nid      BIGINT NOT NULL,
	size          INTEGER NOT NULL,
	entries       {{BLOB}} NOT NULL
);

-- Memoized state resolutions: the sorted input snapshots (varints) to the
-- snapshot of their resolution.
CREATE TABLE state_resolutions (
	room_nid      BIGINT NOT NULL,
	inputs        {{BLOB}} NOT NULL,
	result_nid    BIGINT NOT NULL,
	PRIMARY KEY (room_nid, inputs)
);

-- Every event keeps the exact bytes it was built or received with (json).
-- stream_pos is its position in the events stream, set when its
-- transaction commits. state_before and state_after are snapshots (equal
-- for message events); replaces_nid is the state event it replaced in the
-- room state (for prev_content).
CREATE TABLE events (
	event_nid     {{ID}},
	event_id      TEXT NOT NULL UNIQUE,
	room_nid      BIGINT NOT NULL REFERENCES rooms (room_nid),
	stream_pos    BIGINT UNIQUE,
	depth         BIGINT NOT NULL,
	event_type    TEXT NOT NULL,
	state_key_nid BIGINT,
	sender        TEXT NOT NULL,
	origin_ts     BIGINT NOT NULL,
	membership    TEXT,
	state_before  BIGINT NOT NULL,
	state_after   BIGINT NOT NULL,
	replaces_nid  BIGINT,
	json          {{BLOB}} NOT NULL
);
CREATE INDEX events_room_pos ON events (room_nid, stream_pos);
CREATE INDEX events_key_pos ON events (state_key_nid, stream_pos);

-- The prev_events (kind 0) and auth_events (kind 1) of each event, by ID:
-- they may name events this server does not have.
CREATE TABLE event_edges (
	event_nid     BIGINT NOT NULL,
	kind          SMALLINT NOT NULL,
	target_id     TEXT NOT NULL,
	PRIMARY KEY (event_nid, kind, target_id)
);
CREATE INDEX event_edges_target ON event_edges (target_id);

-- Accepted redactions: target_id is redacted in room_nid by redaction_nid.
CREATE TABLE redactions (
	redaction_nid BIGINT PRIMARY KEY,
	target_id     TEXT NOT NULL,
	room_nid      BIGINT NOT NULL
);
CREATE INDEX redactions_target ON redactions (target_id);

-- The materialized current state of each room.
CREATE TABLE room_current_state (
	room_nid      BIGINT NOT NULL,
	state_key_nid BIGINT NOT NULL,
	event_nid     BIGINT NOT NULL,
	PRIMARY KEY (room_nid, state_key_nid)
);

-- The forward extremities: events of the room no other event references.
CREATE TABLE room_extremities (
	room_nid      BIGINT NOT NULL,
	event_nid     BIGINT NOT NULL,
	PRIMARY KEY (room_nid, event_nid)
);

-- Each user's current membership of each room, derived from
-- room_current_state in the same transaction. forgotten hides a left room
-- from its user until they join, are invited or knock again.
CREATE TABLE room_memberships (
	room_nid      BIGINT NOT NULL,
	user_id       TEXT NOT NULL,
	membership    TEXT NOT NULL,
	event_nid     BIGINT NOT NULL,
	forgotten     BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (room_nid, user_id)
);
CREATE INDEX room_memberships_user ON room_memberships (user_id, membership);

-- Client transaction IDs: a retried PUT with the same key returns the same
-- event. txn_key identifies the endpoint and path (see room.TxnKey).
CREATE TABLE client_txns (
	user_id       TEXT NOT NULL,
	device_id     TEXT NOT NULL,
	txn_key       TEXT NOT NULL,
	txn_id        TEXT NOT NULL,
	event_nid     BIGINT NOT NULL,
	PRIMARY KEY (user_id, device_id, txn_key)
);
CREATE INDEX client_txns_event ON client_txns (event_nid);

-- Local room aliases.
CREATE TABLE room_aliases (
	alias         TEXT PRIMARY KEY,
	room_nid      BIGINT NOT NULL,
	creator       TEXT NOT NULL
);
CREATE INDEX room_aliases_room ON room_aliases (room_nid);
