package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"myelin/internal/store"
)

var _ store.UserDirectoryRooms = (*DB)(nil)

// OpenRooms implements store.UserDirectoryRooms: one query over the current
// join rules and history visibility events of every room, judged here
// (the two engines store event JSON as bytes and share no JSON operators).
func (db *DB) OpenRooms(ctx context.Context) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT cs.room_nid, k.event_type, e.json
		FROM state_keys k
		JOIN room_current_state cs ON cs.state_key_nid = k.state_key_nid
		JOIN events e ON e.event_nid = cs.event_nid
		WHERE k.state_key = '' AND k.event_type IN ('m.room.join_rules', 'm.room.history_visibility')
		AND NOT EXISTS (SELECT 1 FROM redactions x WHERE x.target_id = e.event_id AND x.room_nid = e.room_nid)`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading open rooms: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var nid int64
		var typ string
		var raw []byte
		if err := rows.Scan(&nid, &typ, &raw); err != nil {
			return nil, fmt.Errorf("sqlstore: reading open rooms: %w", err)
		}
		var ev struct {
			Content struct {
				JoinRule          any `json:"join_rule"`
				HistoryVisibility any `json:"history_visibility"`
			} `json:"content"`
		}
		if json.Unmarshal(raw, &ev) != nil {
			continue
		}
		if (typ == "m.room.join_rules" && ev.Content.JoinRule == "public") ||
			(typ == "m.room.history_visibility" && ev.Content.HistoryVisibility == "world_readable") {
			out = append(out, nid)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading open rooms: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
