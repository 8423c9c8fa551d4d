package room

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Relationship types with server-side behaviour.
const (
	RelThread    = "m.thread"
	RelReplace   = "m.replace"
	RelReference = "m.reference"
)

// RecursionDepth is how many relationship levels GET /relations follows
// with recurse=true (the spec asks for at least 3).
const RecursionDepth = 3

// relationOf returns the relationship an event's cleartext content
// declares (content.m.relates_to with string rel_type and event_id), nil
// if none. Relationships without a rel_type (rich replies) are not
// indexed: the relations API does not serve them.
func relationOf(ev *pdu.Event) *store.Relation {
	return relationOfContent(ev.Content())
}

// relationOfContent is relationOf of an event's content.
func relationOfContent(content json.RawMessage) *store.Relation {
	var c struct {
		RelatesTo *struct {
			RelType any `json:"rel_type"`
			EventID any `json:"event_id"`
		} `json:"m.relates_to"`
	}
	if json.Unmarshal(content, &c) != nil || c.RelatesTo == nil {
		return nil
	}
	relType, _ := c.RelatesTo.RelType.(string)
	target, _ := c.RelatesTo.EventID.(string)
	if relType == "" || target == "" {
		return nil
	}
	return &store.Relation{RelType: relType, TargetID: target}
}

// threadRules checks a local event that starts or continues a thread:
// threads.md ("Validation of m.thread relationships") asks servers to
// reject a thread off an event that itself has a relationship (400
// M_UNKNOWN). A root this server does not have is not checked.
func threadRules(w *writer, ev *pdu.Event, _ store.StateMap) error {
	r := relationOf(ev)
	if r == nil || r.RelType != RelThread {
		return nil
	}
	roots, err := w.sw.EventsByID(w.ctx, []string{r.TargetID})
	if err != nil || len(roots) == 0 || roots[0].RoomNID != w.room.NID {
		return err
	}
	var root struct {
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(roots[0].JSON, &root) == nil && relationOfContent(root.Content) != nil {
		return spec.Unknown(400, "cannot start a thread from an event with a relation")
	}
	return nil
}

// RelationsRequest is a GET /rooms/{roomId}/relations/{eventId} request.
type RelationsRequest struct {
	Viewer          Viewer
	RoomID, EventID string
	// RelType and EventType select children ("" = any).
	RelType, EventType string
	// From and To are events stream positions from pagination tokens (-1
	// when absent): "everything at or below the position is before it".
	From, To int64
	// Forward returns the oldest children first, after From; otherwise
	// the newest first, at or before From.
	Forward bool
	Limit   int
	// Recurse follows RecursionDepth levels of relationships.
	Recurse bool
}

// RelationsPage is one page of children.
type RelationsPage struct {
	Chunk []json.RawMessage
	// Next is the position to continue from, -1 when the range holds no
	// more children.
	Next int64
}

// Relations returns a page of the children of an event
// (GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]):
// the children the viewer may see, with their bundled aggregations.
// Errors: 404 M_NOT_FOUND when the room or the parent is unknown, or the
// viewer may not see the parent.
func (e *Engine) Relations(ctx context.Context, req RelationsRequest) (RelationsPage, error) {
	if e.opts.Relations == nil {
		return RelationsPage{}, errors.New("room: no relations store")
	}
	v, err := e.visibleEvent(ctx, req.Viewer.UserID, req.RoomID, req.EventID)
	if err != nil {
		return RelationsPage{}, err
	}
	q := store.RelationsQuery{
		RoomNID: v.room.NID, TargetID: req.EventID, RelType: req.RelType, EventType: req.EventType,
		Depth: 1, Forward: req.Forward, Limit: req.Limit + 1,
	}
	if req.Recurse {
		q.Depth = RecursionDepth
	}
	lo, hi := req.To, req.From // backwards: To < pos <= From
	if req.Forward {
		lo, hi = req.From, req.To
	}
	q.After = max(lo, 0)
	q.UpTo = v.upTo
	if hi >= 0 && (q.UpTo == 0 || hi < q.UpTo) {
		q.UpTo = hi
	}
	if hi == 0 {
		return RelationsPage{Chunk: []json.RawMessage{}, Next: -1}, nil
	}
	evs, err := e.opts.Relations.RelatedEvents(ctx, q)
	if err != nil {
		return RelationsPage{}, err
	}
	page := RelationsPage{Next: -1}
	if len(evs) > req.Limit {
		evs = evs[:req.Limit]
		last := evs[len(evs)-1].Pos
		if req.Forward {
			page.Next = last
		} else {
			page.Next = last - 1
		}
	}
	visible, err := e.FilterVisible(ctx, req.Viewer.UserID, evs)
	if err != nil {
		return RelationsPage{}, err
	}
	if page.Chunk, err = e.ClientEventsBundled(ctx, visible, req.Viewer); err != nil {
		return RelationsPage{}, err
	}
	return page, nil
}

// visibleEvent returns what the viewer may read of a room holding an event
// they may see; 404 M_NOT_FOUND otherwise.
func (e *Engine) visibleEvent(ctx context.Context, user, roomID, eventID string) (readView, error) {
	notFound := spec.NotFound("event %s not found", eventID)
	v, err := e.readable(ctx, user, roomID)
	var se *spec.Error
	if errors.As(err, &se) {
		return v, notFound
	}
	if err != nil {
		return v, err
	}
	evs, err := e.store.EventsByID(ctx, []string{eventID})
	if err != nil {
		return v, err
	}
	if len(evs) == 0 || evs[0].RoomNID != v.room.NID {
		return v, notFound
	}
	visible, err := e.FilterVisible(ctx, user, evs)
	if err != nil {
		return v, err
	}
	if len(visible) == 0 {
		return v, notFound
	}
	return v, nil
}

// ThreadsRequest is a GET /rooms/{roomId}/threads request.
type ThreadsRequest struct {
	Viewer Viewer
	RoomID string
	// Participated selects the threads the viewer took part in.
	Participated bool
	// From is a position from a previous page (-1: from the newest).
	From  int64
	Limit int
}

// Threads returns a page of a room's thread roots, the thread with the
// newest reply first, with their bundled aggregations, and the position to
// continue from (-1 at the end). Errors: 403 M_FORBIDDEN when the room is
// unknown or the viewer may not read it.
func (e *Engine) Threads(ctx context.Context, req ThreadsRequest) ([]json.RawMessage, int64, error) {
	if e.opts.Relations == nil {
		return nil, 0, errors.New("room: no relations store")
	}
	v, err := e.readable(ctx, req.Viewer.UserID, req.RoomID)
	if err != nil {
		return nil, 0, err
	}
	q := store.ThreadsQuery{RoomNID: v.room.NID, UpTo: v.upTo, Limit: req.Limit + 1}
	if req.From >= 0 && (q.UpTo == 0 || req.From < q.UpTo) {
		q.UpTo = req.From
	}
	if req.From == 0 {
		return []json.RawMessage{}, -1, nil
	}
	if req.Participated {
		q.Participant = req.Viewer.UserID
	}
	roots, err := e.opts.Relations.ThreadRoots(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	next := int64(-1)
	if len(roots) > req.Limit {
		roots = roots[:req.Limit]
		next = roots[len(roots)-1].LatestPos - 1
	}
	nids := make([]int64, len(roots))
	for i, r := range roots {
		nids[i] = r.RootNID
	}
	stored, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, 0, err
	}
	byNID := make(map[int64]store.Event, len(stored))
	for _, se := range stored {
		byNID[se.NID] = se
	}
	ordered := make([]store.Event, 0, len(roots))
	for _, r := range roots {
		if se, ok := byNID[r.RootNID]; ok {
			ordered = append(ordered, se)
		}
	}
	visible, err := e.FilterVisible(ctx, req.Viewer.UserID, ordered)
	if err != nil {
		return nil, 0, err
	}
	chunk, err := e.ClientEventsBundled(ctx, visible, req.Viewer)
	if err != nil {
		return nil, 0, err
	}
	return chunk, next, nil
}

// ClientEventsBundled is ClientEvents with the bundled aggregations of
// the events' children in unsigned.m.relations ("Aggregations of child
// events"): m.thread (count, latest reply, whether the viewer took part),
// m.replace (the most recent valid edit) and m.reference (the children's
// IDs). State events get none. Without a relations store it is
// ClientEvents.
//
// NOTSPEC: children from users the viewer ignores are counted.
func (e *Engine) ClientEventsBundled(ctx context.Context, evs []store.Event, viewer Viewer) ([]json.RawMessage, error) {
	return e.clientEvents(ctx, evs, viewer, e.opts.Relations != nil)
}

// aggregations computes the bundled aggregations of evs (parsed holds
// them parsed), keyed by event ID. A thread's latest reply is itself
// formatted with its m.replace and m.reference aggregations.
func (e *Engine) aggregations(ctx context.Context, evs []store.Event, parsed map[int64]*pdu.Event, viewer Viewer, withThreads bool) (map[string]map[string]any, error) {
	byID := map[string]*pdu.Event{}
	redacted := map[string]bool{}
	var ids []string
	for _, se := range evs {
		ev := parsed[se.NID]
		if ev == nil || ev.IsState() {
			continue
		}
		byID[se.ID] = ev
		redacted[se.ID] = se.RedactedBy != ""
		ids = append(ids, se.ID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out := map[string]map[string]any{}
	add := func(id, rel string, v any) {
		if out[id] == nil {
			out[id] = map[string]any{}
		}
		out[id][rel] = v
	}
	rels := e.opts.Relations
	if withThreads {
		threads, err := rels.ThreadSummaries(ctx, ids, viewer.UserID)
		if err != nil {
			return nil, err
		}
		if len(threads) > 0 {
			latest := make([]int64, 0, len(threads))
			for _, t := range threads {
				latest = append(latest, t.LatestNID)
			}
			formatted, err := e.formatChildren(ctx, latest, viewer, true)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				t, ok := threads[id]
				if !ok {
					continue
				}
				agg := map[string]any{"count": t.Count,
					"current_user_participated": t.Participated || byID[id].Sender() == viewer.UserID}
				if raw, ok := formatted[t.LatestNID]; ok {
					agg["latest_event"] = raw
				}
				add(id, RelThread, agg)
			}
		}
	}
	refs, err := rels.RelationChildren(ctx, ids, RelReference)
	if err != nil {
		return nil, err
	}
	chunks := map[string][]map[string]string{}
	for _, c := range refs {
		chunks[c.TargetID] = append(chunks[c.TargetID], map[string]string{"event_id": c.EventID})
	}
	for id, chunk := range chunks {
		add(id, RelReference, map[string]any{"chunk": chunk})
	}
	edits, err := e.latestEdits(ctx, ids, byID, redacted, viewer)
	if err != nil {
		return nil, err
	}
	for id, raw := range edits {
		add(id, RelReplace, raw)
	}
	return out, nil
}

// formatChildren formats the visible events of nids for viewer, keyed by
// NID, with their aggregations (not threads: a thread reply is not a
// thread root) when bundled.
func (e *Engine) formatChildren(ctx context.Context, nids []int64, viewer Viewer, bundled bool) (map[int64]json.RawMessage, error) {
	stored, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, err
	}
	visible, err := e.FilterVisible(ctx, viewer.UserID, stored)
	if err != nil {
		return nil, err
	}
	raws, err := e.clientEventsAt(ctx, visible, viewer, bundled, false)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]json.RawMessage, len(visible))
	for i, se := range visible {
		out[se.NID] = raws[i]
	}
	return out, nil
}

// latestEdits returns, for each original in ids, its most recent valid
// replacement ("Validity of replacement events": same sender and type, the
// original neither a state event nor itself an edit, the replacement with
// m.new_content; most recent by origin_server_ts, then largest event ID),
// formatted. Redacted originals get none.
func (e *Engine) latestEdits(ctx context.Context, ids []string, byID map[string]*pdu.Event, redacted map[string]bool, viewer Viewer) (map[string]json.RawMessage, error) {
	children, err := e.opts.Relations.RelationChildren(ctx, ids, RelReplace)
	if err != nil || len(children) == 0 {
		return nil, err
	}
	nids := make([]int64, len(children))
	for i, c := range children {
		nids[i] = c.EventNID
	}
	stored, err := e.store.Events(ctx, nids)
	if err != nil {
		return nil, err
	}
	parsed, err := e.parseStored(ctx, stored)
	if err != nil {
		return nil, err
	}
	target := map[int64]string{}
	for _, c := range children {
		target[c.EventNID] = c.TargetID
	}
	best := map[string]store.Event{}
	for _, se := range stored {
		orig := byID[target[se.NID]]
		edit := parsed[se.NID]
		if orig == nil || edit == nil || redacted[orig.EventID()] || !validEdit(orig, edit) {
			continue
		}
		cur, ok := best[orig.EventID()]
		if !ok || cmp.Or(cmp.Compare(edit.OriginServerTS(), cur.OriginTS), cmp.Compare(se.ID, cur.ID)) > 0 {
			best[orig.EventID()] = se
		}
	}
	chosen := make([]store.Event, 0, len(best))
	for _, se := range best {
		chosen = append(chosen, se)
	}
	slices.SortFunc(chosen, func(a, b store.Event) int { return cmp.Compare(a.NID, b.NID) })
	visible, err := e.FilterVisible(ctx, viewer.UserID, chosen)
	if err != nil {
		return nil, err
	}
	raws, err := e.ClientEvents(ctx, visible, viewer)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(visible))
	for i, se := range visible {
		out[target[se.NID]] = raws[i]
	}
	return out, nil
}

// validEdit reports whether edit is a valid replacement of orig.
func validEdit(orig, edit *pdu.Event) bool {
	if orig.Sender() != edit.Sender() || orig.Type() != edit.Type() || orig.IsState() || edit.IsState() {
		return false
	}
	if r := relationOf(orig); r != nil && r.RelType == RelReplace {
		return false
	}
	var c struct {
		NewContent json.RawMessage `json:"m.new_content"`
	}
	if json.Unmarshal(edit.Content(), &c) != nil || len(c.NewContent) == 0 || c.NewContent[0] != '{' {
		return false
	}
	return true
}
