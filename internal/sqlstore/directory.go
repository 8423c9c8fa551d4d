package sqlstore

import (
	"context"
	"fmt"

	"myelin/internal/store"
)

var _ store.Directory = (*DB)(nil)

// PublishedRooms implements store.Directory with two queries: the public
// rooms with their joined member counts, then their current state events
// of the requested types.
func (db *DB) PublishedRooms(ctx context.Context, stateTypes []string) ([]store.PublishedRoom, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT r.room_nid, r.room_id, r.room_version,
		(SELECT COUNT(*) FROM room_memberships m WHERE m.room_nid = r.room_nid AND m.membership = 'join')
		FROM rooms r WHERE r.visibility = 'public'`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading published rooms: %w", err)
	}
	var out []store.PublishedRoom
	index := map[int64]int{}
	for rows.Next() {
		var nid int64
		var r store.PublishedRoom
		if err := rows.Scan(&nid, &r.RoomID, &r.Version, &r.JoinedMembers); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: reading published rooms: %w", err)
		}
		index[nid] = len(out)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading published rooms: %w", err)
	}
	if len(out) == 0 || len(stateTypes) == 0 {
		return out, nil
	}
	rows, err = db.read.QueryContext(ctx, `SELECT cs.room_nid, k.event_type, e.json,
		EXISTS (SELECT 1 FROM redactions x WHERE x.target_id = e.event_id AND x.room_nid = e.room_nid)
		FROM rooms r
		JOIN room_current_state cs ON cs.room_nid = r.room_nid
		JOIN state_keys k ON k.state_key_nid = cs.state_key_nid
		JOIN events e ON e.event_nid = cs.event_nid
		WHERE r.visibility = 'public' AND k.state_key = '' AND k.event_type IN (`+placeholders(1, len(stateTypes))+`)`,
		stringArgs(stateTypes)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading published rooms' state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var nid int64
		var st store.PublishedState
		if err := rows.Scan(&nid, &st.Type, &st.JSON, &st.Redacted); err != nil {
			return nil, fmt.Errorf("sqlstore: reading published rooms' state: %w", err)
		}
		// A room published between the two queries has no entry: it shows
		// up at the next read.
		if i, ok := index[nid]; ok {
			out[i].State = append(out[i].State, st)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading published rooms' state: %w", err)
	}
	return out, nil
}

// PublishedRoomsState implements store.Directory.
func (db *DB) PublishedRoomsState(ctx context.Context, roomIDs, stateTypes []string) (map[string][]store.PublishedState, error) {
	out := map[string][]store.PublishedState{}
	if len(stateTypes) == 0 {
		return out, nil
	}
	for start := 0; start < len(roomIDs); start += receiptChunk {
		chunk := roomIDs[start:min(start+receiptChunk, len(roomIDs))]
		args := append(stringArgs(stateTypes), stringArgs(chunk)...)
		rows, err := db.read.QueryContext(ctx, `SELECT r.room_id, k.event_type, e.json,
			EXISTS (SELECT 1 FROM redactions x WHERE x.target_id = e.event_id AND x.room_nid = e.room_nid)
			FROM rooms r
			JOIN room_current_state cs ON cs.room_nid = r.room_nid
			JOIN state_keys k ON k.state_key_nid = cs.state_key_nid
			JOIN events e ON e.event_nid = cs.event_nid
			WHERE k.state_key = '' AND k.event_type IN (`+placeholders(1, len(stateTypes))+`)
			AND r.room_id IN (`+placeholders(len(stateTypes)+1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading rooms' state: %w", err)
		}
		for rows.Next() {
			var roomID string
			var st store.PublishedState
			if err := rows.Scan(&roomID, &st.Type, &st.JSON, &st.Redacted); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading rooms' state: %w", err)
			}
			out[roomID] = append(out[roomID], st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading rooms' state: %w", err)
		}
	}
	return out, nil
}
