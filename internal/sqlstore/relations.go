package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"myelin/internal/store"
)

var _ store.Relations = (*DB)(nil)

// relChildJoin joins a relation r to its child's event row ce, and
// relChildOK keeps the children whose relation holds: not redacted (a
// redaction breaks the relationship).
const (
	relChildJoin = ` FROM event_relations r JOIN events ce ON ce.event_nid = r.event_nid`
	relChildOK   = ` NOT EXISTS (SELECT 1 FROM redactions x WHERE x.target_id = ce.event_id AND x.room_nid = r.room_nid)`
	// relParentOK keeps relations whose parent is an event of the child's
	// room (relations to unknown events or across rooms are ignored).
	relParentOK = ` EXISTS (SELECT 1 FROM events p WHERE p.event_id = r.target_id AND p.room_nid = r.room_nid)`
)

// RelatedEvents implements store.Relations with one recursive query: the
// tree of children, q.Depth levels deep, then the page of their events.
func (db *DB) RelatedEvents(ctx context.Context, q store.RelationsQuery) ([]store.Event, error) {
	args := []any{q.RoomNID, q.TargetID, max(q.Depth, 1), q.After}
	filter := ""
	if q.RelType != "" {
		args = append(args, q.RelType)
		filter += ` AND r.rel_type = $` + strconv.Itoa(len(args))
	}
	if q.EventType != "" {
		args = append(args, q.EventType)
		filter += ` AND r.event_type = $` + strconv.Itoa(len(args))
	}
	bounds := ` AND e.stream_pos > $4`
	if q.UpTo > 0 {
		args = append(args, q.UpTo)
		bounds += ` AND e.stream_pos <= $` + strconv.Itoa(len(args))
	}
	order := ` ORDER BY e.stream_pos DESC`
	if q.Forward {
		order = ` ORDER BY e.stream_pos`
	}
	args = append(args, max(q.Limit, 0))
	query := `WITH RECURSIVE tree (event_nid, event_id, depth) AS (
			SELECT ce.event_nid, ce.event_id, 1` + relChildJoin + `
			WHERE r.room_nid = $1 AND r.target_id = $2` + filter + ` AND` + relChildOK + `
			UNION ALL
			SELECT ce.event_nid, ce.event_id, t.depth + 1 FROM tree t
			JOIN event_relations r ON r.target_id = t.event_id AND r.room_nid = $1
			JOIN events ce ON ce.event_nid = r.event_nid
			WHERE t.depth < $3` + filter + ` AND` + relChildOK + `
		)
		SELECT ` + eventColumns + eventJoins + `
		WHERE e.event_nid IN (SELECT event_nid FROM tree)` + bounds + order + ` LIMIT $` + strconv.Itoa(len(args))
	return scanEvents(db.read.QueryContext(ctx, query, args...))
}

// ThreadRoots implements store.Relations.
func (db *DB) ThreadRoots(ctx context.Context, q store.ThreadsQuery) ([]store.ThreadRoot, error) {
	args := []any{q.RoomNID}
	having := ""
	if q.UpTo > 0 {
		args = append(args, q.UpTo)
		having = ` HAVING MAX(ce.stream_pos) <= $` + strconv.Itoa(len(args))
	}
	if q.Participant != "" {
		args = append(args, q.Participant)
		n := strconv.Itoa(len(args))
		cond := `(p.sender = $` + n + ` OR MAX(CASE WHEN r.sender = $` + n + ` THEN 1 ELSE 0 END) = 1)`
		if having == "" {
			having = ` HAVING ` + cond
		} else {
			having += ` AND ` + cond
		}
	}
	args = append(args, max(q.Limit, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT p.event_nid, MAX(ce.stream_pos)`+relChildJoin+`
		JOIN events p ON p.event_id = r.target_id AND p.room_nid = r.room_nid
		WHERE r.room_nid = $1 AND r.rel_type = 'm.thread' AND`+relChildOK+`
		GROUP BY p.event_nid, p.sender`+having+`
		ORDER BY MAX(ce.stream_pos) DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading thread roots: %w", err)
	}
	defer rows.Close()
	var out []store.ThreadRoot
	for rows.Next() {
		var t store.ThreadRoot
		if err := rows.Scan(&t.RootNID, &t.LatestPos); err != nil {
			return nil, fmt.Errorf("sqlstore: reading thread roots: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading thread roots: %w", err)
	}
	return out, nil
}

// ThreadSummaries implements store.Relations, 500 parents a query. The
// latest reply is the one with the highest event NID: a room's events are
// inserted in stream order.
func (db *DB) ThreadSummaries(ctx context.Context, eventIDs []string, user string) (map[string]store.ThreadSummary, error) {
	out := map[string]store.ThreadSummary{}
	for start := 0; start < len(eventIDs); start += 500 {
		chunk := eventIDs[start:min(start+500, len(eventIDs))]
		args := append([]any{user}, stringArgs(chunk)...)
		rows, err := db.read.QueryContext(ctx, `SELECT r.target_id, COUNT(*), MAX(ce.event_nid),
				MAX(CASE WHEN r.sender = $1 THEN 1 ELSE 0 END)`+relChildJoin+`
			WHERE r.target_id IN (`+placeholders(2, len(chunk))+`) AND r.rel_type = 'm.thread'
			AND`+relParentOK+` AND`+relChildOK+`
			GROUP BY r.target_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading thread summaries: %w", err)
		}
		for rows.Next() {
			var s store.ThreadSummary
			var participated int
			if err := rows.Scan(&s.RootID, &s.Count, &s.LatestNID, &participated); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading thread summaries: %w", err)
			}
			s.Participated = participated == 1
			out[s.RootID] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading thread summaries: %w", err)
		}
	}
	return out, nil
}

// RelationChildren implements store.Relations, 500 parents a query.
func (db *DB) RelationChildren(ctx context.Context, eventIDs []string, relType string) ([]store.RelationChild, error) {
	var out []store.RelationChild
	for start := 0; start < len(eventIDs); start += 500 {
		chunk := eventIDs[start:min(start+500, len(eventIDs))]
		args := append([]any{relType}, stringArgs(chunk)...)
		rows, err := db.read.QueryContext(ctx, `SELECT r.target_id, ce.event_nid, ce.event_id`+relChildJoin+`
			WHERE r.target_id IN (`+placeholders(2, len(chunk))+`) AND r.rel_type = $1
			AND`+relParentOK+` AND`+relChildOK+`
			ORDER BY ce.stream_pos`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading relation children: %w", err)
		}
		for rows.Next() {
			var c store.RelationChild
			if err := rows.Scan(&c.TargetID, &c.EventNID, &c.EventID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlstore: reading relation children: %w", err)
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlstore: reading relation children: %w", err)
		}
	}
	return out, nil
}
