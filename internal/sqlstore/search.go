package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"myelin/internal/store"
)

var _ store.Search = (*DB)(nil)

// SearchEvents implements store.Search with two queries: the count, then
// the page. Each word is a LIKE '%word%' on the lower-cased value.
func (db *DB) SearchEvents(ctx context.Context, q store.SearchQuery) ([]store.Event, int, error) {
	if len(q.Rooms) == 0 || len(q.Words) == 0 {
		return nil, 0, nil
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where strings.Builder
	where.WriteString(` WHERE s.room_nid IN (`)
	for i, r := range q.Rooms {
		if i > 0 {
			where.WriteString(", ")
		}
		where.WriteString(arg(r))
	}
	where.WriteString(`)`)
	for r, upTo := range q.Bounds {
		fmt.Fprintf(&where, ` AND NOT (s.room_nid = %s AND e.stream_pos > %s)`, arg(r), arg(upTo))
	}
	list := func(col string, values []string, not bool, pattern bool) {
		if values == nil {
			return
		}
		if len(values) == 0 {
			if !not {
				where.WriteString(` AND FALSE`)
			}
			return
		}
		var conds []string
		for _, v := range values {
			if pattern {
				conds = append(conds, col+` LIKE `+arg(strings.ReplaceAll(escapeLike(v), "*", "%"))+` ESCAPE '\'`)
			} else {
				conds = append(conds, col+` = `+arg(v))
			}
		}
		if not {
			where.WriteString(` AND NOT (` + strings.Join(conds, " OR ") + `)`)
		} else {
			where.WriteString(` AND (` + strings.Join(conds, " OR ") + `)`)
		}
	}
	list("s.search_key", q.Keys, false, false)
	list("e.event_type", q.Types, false, true)
	list("e.event_type", q.NotTypes, true, true)
	list("e.sender", q.Senders, false, false)
	list("e.sender", q.NotSenders, true, false)
	for _, w := range q.Words {
		where.WriteString(` AND s.value LIKE ` + arg("%"+escapeLike(w)+"%") + ` ESCAPE '\'`)
	}
	where.WriteString(` AND NOT EXISTS (SELECT 1 FROM redactions x WHERE x.target_id = e.event_id AND x.room_nid = e.room_nid)`)
	const from = ` FROM event_search s JOIN events e ON e.event_nid = s.event_nid`
	var count int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(DISTINCT s.event_nid)`+from+where.String(), args...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: counting search results: %w", err)
	}
	if q.Before > 0 {
		where.WriteString(` AND e.stream_pos <= ` + arg(q.Before))
	}
	limit := arg(max(q.Limit, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT e.event_nid, e.stream_pos`+from+where.String()+
		` ORDER BY e.stream_pos DESC LIMIT `+limit, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: searching events: %w", err)
	}
	var nids []int64
	for rows.Next() {
		var nid, pos int64
		if err := rows.Scan(&nid, &pos); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("sqlstore: searching events: %w", err)
		}
		nids = append(nids, nid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: searching events: %w", err)
	}
	evs, err := eventsByNID(ctx, db.read, nids)
	if err != nil {
		return nil, 0, err
	}
	order := make(map[int64]int, len(nids))
	for i, n := range nids {
		order[n] = i
	}
	out := make([]store.Event, len(evs))
	for _, e := range evs {
		out[order[e.NID]] = e
	}
	return out, count, nil
}
