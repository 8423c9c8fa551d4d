package room

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// writer is the engine's view of one room inside one write transaction:
// the current state and forward extremities as they evolve with each event
// persisted, and everything created in the transaction, which goes into the
// engine's caches only once the transaction has committed (a rolled-back
// SQLite transaction may hand the same NIDs out again).
type writer struct {
	e    *Engine
	ctx  context.Context
	sw   store.RoomWriter
	room roomInfo

	// cur is the current state (snapshot curNID); owned says whether cur
	// is the writer's own copy, which it may modify.
	cur     store.StateMap
	curNID  int64
	owned   bool
	startID int64 // the snapshot at the start of the transaction
	// changes is the difference of the current state from startID.
	changes store.StateMap

	extrem       []store.Extremity
	extremLoaded bool
	// extrem0 holds the extremities as loaded, to write the difference.
	extrem0 map[int64]bool

	// Created in this transaction.
	newEvents map[int64]*pdu.Event
	newKeys   map[spec.StateKeyTuple]int64
	newSnaps  map[int64]bool   // snapshots stored in this transaction
	byID      map[string]int64 // event ID -> NID, new events
	afterOf   map[int64]int64  // new event NID -> its state after
	// persisted lists the events persisted, in order.
	persisted []*pdu.Event
}

// write runs fn on a writer for the room, in one store transaction, under
// the room's in-process lock, then caches what the transaction created and
// wakes the readers.
func (e *Engine) write(ctx context.Context, ri roomInfo, fn func(w *writer) error) error {
	unlock := e.locks.lock(ri.NID)
	defer unlock()
	var w *writer
	written, err := e.store.WriteRoom(ctx, ri.NID, func(sw store.RoomWriter) error {
		var err error
		if w, err = e.newWriter(ctx, sw, ri); err != nil {
			return err
		}
		if err := fn(w); err != nil {
			return err
		}
		return w.finish()
	})
	if err != nil {
		return err
	}
	w.committed()
	e.written(written)
	return nil
}

func (e *Engine) newWriter(ctx context.Context, sw store.RoomWriter, ri roomInfo) (*writer, error) {
	w := &writer{
		e: e, ctx: ctx, sw: sw, room: ri,
		curNID:    sw.Room().Snapshot,
		startID:   sw.Room().Snapshot,
		changes:   store.StateMap{},
		newEvents: map[int64]*pdu.Event{},
		newKeys:   map[spec.StateKeyTuple]int64{},
		byID:      map[string]int64{},
		afterOf:   map[int64]int64{},
		newSnaps:  map[int64]bool{},
	}
	var err error
	if w.cur, err = e.snapshot(ctx, w.curNID, sw.Snapshot); err != nil {
		return nil, err
	}
	return w, nil
}

// finish writes the current state and forward extremities.
func (w *writer) finish() error {
	if w.curNID != w.startID {
		if err := w.sw.SetCurrentState(w.ctx, w.curNID, w.changes); err != nil {
			return err
		}
	}
	if !w.extremLoaded {
		return nil
	}
	var remove, add []int64
	final := map[int64]bool{}
	for _, x := range w.extrem {
		final[x.EventNID] = true
		if !w.extrem0[x.EventNID] {
			add = append(add, x.EventNID)
		}
	}
	for nid := range w.extrem0 {
		if !final[nid] {
			remove = append(remove, nid)
		}
	}
	if len(remove)+len(add) > 0 {
		return w.sw.SetExtremities(w.ctx, remove, add)
	}
	return nil
}

// committed moves what the transaction created into the engine's caches.
func (w *writer) committed() {
	for nid, ev := range w.newEvents {
		w.e.events.put(nid, ev)
	}
	for t, nid := range w.newKeys {
		w.e.keyNIDs.put(t, nid)
		w.e.keys.put(nid, t)
	}
	if w.curNID != w.startID && w.curNID != 0 {
		w.e.snapshots.put(w.curNID, w.cur)
	}
}

// extremities returns the room's forward extremities, deepest first.
func (w *writer) extremities() ([]store.Extremity, error) {
	if !w.extremLoaded {
		x, err := w.sw.Extremities(w.ctx)
		if err != nil {
			return nil, err
		}
		w.extrem, w.extremLoaded = x, true
		w.extrem0 = map[int64]bool{}
		for _, e := range x {
			w.extrem0[e.EventNID] = true
		}
	}
	return w.extrem, nil
}

// snapshot reads a snapshot inside the transaction; those stored in it
// stay out of the engine's cache until the commit.
func (w *writer) snapshot(nid int64) (store.StateMap, error) {
	if nid == w.curNID {
		return w.cur, nil
	}
	if w.newSnaps[nid] {
		return w.sw.Snapshot(w.ctx, nid)
	}
	return w.e.snapshot(w.ctx, nid, w.sw.Snapshot)
}

// newSnapshot stores a snapshot (see store.RoomWriter.NewSnapshot).
func (w *writer) newSnapshot(parent int64, base, changes store.StateMap) (int64, error) {
	nid, err := w.sw.NewSnapshot(w.ctx, parent, base, changes)
	if err == nil {
		w.newSnaps[nid] = true
	}
	return nid, err
}

// events returns parsed events by NID.
func (w *writer) events(nids []int64) (map[int64]*pdu.Event, error) {
	out := make(map[int64]*pdu.Event, len(nids))
	var missing []int64
	for _, n := range nids {
		if ev, ok := w.newEvents[n]; ok {
			out[n] = ev
		} else if ev, ok := w.e.events.get(n); ok {
			out[n] = ev
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	stored, err := w.sw.Events(w.ctx, missing)
	if err != nil {
		return nil, err
	}
	parsed, err := w.e.parseEvents(w.room.Version, stored)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, parsed)
	return out, nil
}

// keyNIDs interns state keys.
func (w *writer) keyNIDs(tuples []spec.StateKeyTuple) ([]int64, error) {
	out := make([]int64, len(tuples))
	var missing []spec.StateKeyTuple
	var at []int
	for i, t := range tuples {
		if n, ok := w.newKeys[t]; ok {
			out[i] = n
		} else if n, ok := w.e.keyNIDs.get(t); ok {
			out[i] = n
		} else {
			missing = append(missing, t)
			at = append(at, i)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	nids, err := w.sw.InternStateKeys(w.ctx, missing)
	if err != nil {
		return nil, err
	}
	for j, n := range nids {
		out[at[j]] = n
		w.newKeys[missing[j]] = n
	}
	return out, nil
}

// stateEvents returns the events of state for the given tuples, as the
// eventauth provider needs them; tuples absent from state are left out.
func (w *writer) stateEvents(state store.StateMap, tuples []spec.StateKeyTuple) (eventauth.StateMap, error) {
	nids, err := w.keyNIDs(tuples)
	if err != nil {
		return nil, err
	}
	var evNIDs []int64
	for _, k := range nids {
		if ev, ok := state[k]; ok {
			evNIDs = append(evNIDs, ev)
		}
	}
	evs, err := w.events(evNIDs)
	if err != nil {
		return nil, err
	}
	out := eventauth.StateMap{}
	for i, t := range tuples {
		if ev, ok := state[nids[i]]; ok {
			out[t] = evs[ev]
		}
	}
	return out, nil
}

var createTuple = spec.StateKeyTuple{Type: spec.MRoomCreate}

// localEvent is a local event to build.
type localEvent struct {
	Type     string
	StateKey *string
	Sender   string
	Content  json.RawMessage
	Redacts  string
	// RedactionAccepted marks a redaction the engine has already checked
	// (its sender may redact the target).
	RedactionAccepted bool
	Txn               *store.Txn
	// check, if set, is applied to the built event and the state before it
	// after the authorization rules passed (the engine's own rules for
	// client requests).
	check func(w *writer, ev *pdu.Event, state store.StateMap) error
}

// send builds a local event on the current forward extremities, checks it
// against the state before it and persists it.
func (w *writer) send(le localEvent) (*pdu.Event, error) {
	x, err := w.extremities()
	if err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, errors.New("room has no forward extremities")
	}
	prevs := x[:min(len(x), MaxPrevEvents)]
	beforeNID, before, err := w.stateBefore(prevs)
	if err != nil {
		return nil, err
	}
	ev, err := w.build(le, prevs, before)
	if err != nil {
		return nil, err
	}
	if err := w.persist(ev, prevs, beforeNID, before, le.Txn, le.RedactionAccepted); err != nil {
		return nil, err
	}
	return ev, nil
}

// stateBefore returns the state before an event whose prev events are
// prevs: the current state when they are all the forward extremities,
// else the resolution of their states.
func (w *writer) stateBefore(prevs []store.Extremity) (int64, store.StateMap, error) {
	if len(prevs) == len(w.extrem) {
		return w.curNID, w.cur, nil
	}
	snaps := make([]int64, len(prevs))
	for i, p := range prevs {
		snaps[i] = p.StateAfter
	}
	return w.resolve(snaps)
}

// build lays out, hashes and signs a local event and checks it against the
// authorization rules with state as the state before it.
func (w *writer) build(le localEvent, prevs []store.Extremity, state store.StateMap) (*pdu.Event, error) {
	v := w.room.Version
	content := le.Content
	if content == nil {
		content = json.RawMessage("{}")
	}
	authTypes, err := pdu.AuthEventTypes(v, le.Type, le.StateKey, le.Sender, content)
	if err != nil {
		return nil, spec.BadJSON("invalid event: %v", err)
	}
	lookup := append([]spec.StateKeyTuple{createTuple}, authTypes...)
	authState, err := w.stateEvents(state, lookup)
	if err != nil {
		return nil, err
	}
	b := pdu.Builder{
		Type: le.Type, StateKey: le.StateKey, Sender: le.Sender, RoomID: w.room.ID,
		Content: content, Redacts: le.Redacts, OriginServerTS: w.e.now(),
	}
	var refs []*pdu.Event
	for _, t := range authTypes {
		if ev := authState[t]; ev != nil {
			b.AuthEvents = append(b.AuthEvents, ev.EventID())
			refs = append(refs, ev)
		}
	}
	prevNIDs := make([]int64, len(prevs))
	for i, p := range prevs {
		b.PrevEvents = append(b.PrevEvents, p.EventID)
		b.Depth = max(b.Depth, p.Depth)
		prevNIDs[i] = p.EventNID
	}
	b.Depth = min(b.Depth+1, maxDepth)
	if v.EventIDFormat == spec.EventIDOpaque {
		prevEvs, err := w.events(prevNIDs)
		if err != nil {
			return nil, err
		}
		b.ReferenceHashes = map[string][]byte{}
		for _, ev := range prevEvs {
			refs = append(refs, ev)
		}
		for _, ev := range refs {
			b.ReferenceHashes[ev.EventID()] = ev.ReferenceHash()
		}
	}
	ev, err := b.Build(v, w.e.opts.ServerName, w.e.opts.Key)
	if err != nil {
		return nil, buildError(err)
	}
	if err := eventauth.Check(ev, authState); err != nil {
		return nil, rejected(err)
	}
	if le.check != nil {
		if err := le.check(w, ev, state); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// maxDepth is the largest depth an event may have (canonical JSON integers).
const maxDepth = 1<<53 - 1

// buildError maps a failure to build an event to the client's error.
func buildError(err error) error {
	var fe *pdu.FormatError
	if errors.As(err, &fe) {
		if fe.Field == "size" {
			return spec.TooLarge("event is too large: %s", fe.Reason).Wrap(err)
		}
		return spec.BadJSON("invalid event: %s: %s", fe.Field, fe.Reason).Wrap(err)
	}
	if errors.Is(err, pdu.ErrInvalidEvent) || errors.Is(err, pdu.ErrBuild) {
		return spec.BadJSON("invalid event").Wrap(err)
	}
	return err
}

// rejected maps a rejection by the authorization rules to 403 M_FORBIDDEN.
func rejected(err error) error {
	if r := eventauth.AsRejection(err); r != nil {
		return spec.Forbidden("%s (auth rule %s)", r.Reason, r.Rule).Wrap(err)
	}
	return err
}

// persist stores an event that passed the checks, with state before it
// (snapshot beforeNID), and advances the current state and the forward
// extremities.
func (w *writer) persist(ev *pdu.Event, prevs []store.Extremity, beforeNID int64, before store.StateMap, txn *store.Txn, redactionAccepted bool) error {
	ne := store.NewEvent{
		ID: ev.EventID(), Depth: ev.Depth(), Type: ev.Type(), Sender: ev.Sender(), OriginTS: ev.OriginServerTS(),
		StateBefore: beforeNID, StateAfter: beforeNID, JSON: ev.JSON(),
		PrevIDs: ev.PrevEventIDs(), AuthIDs: ev.AuthEventIDs(), Txn: txn, Relation: relationOf(ev),
		Search: searchTextsOf(ev),
	}
	var keyNID int64
	if ev.IsState() {
		nids, err := w.keyNIDs([]spec.StateKeyTuple{ev.StateTuple()})
		if err != nil {
			return err
		}
		keyNID = nids[0]
		ne.StateKeyNID = keyNID
		ne.Replaces = before[keyNID]
		if ev.Type() == spec.MRoomMember {
			ne.Membership, _ = ev.Membership()
		}
	}
	if ev.Type() == spec.MRoomRedaction && redactionAccepted {
		ne.Redacts = ev.Redacts()
	}
	nid, err := w.sw.InsertEvent(w.ctx, ne)
	if errors.Is(err, store.ErrConflict) {
		return spec.NewError(409, spec.ErrUnknown, "event %s exists", ev.EventID()).Wrap(err)
	}
	if err != nil {
		return err
	}
	w.newEvents[nid] = ev
	w.byID[ev.EventID()] = nid
	w.persisted = append(w.persisted, ev)

	afterNID := beforeNID
	if keyNID != 0 {
		if afterNID, err = w.newSnapshot(beforeNID, before, store.StateMap{keyNID: nid}); err != nil {
			return err
		}
		if err := w.sw.SetStateAfter(w.ctx, nid, afterNID); err != nil {
			return err
		}
	}
	w.afterOf[nid] = afterNID
	x := store.Extremity{EventNID: nid, EventID: ev.EventID(), Depth: ev.Depth(), StateAfter: afterNID}
	return w.advance(x, prevs, beforeNID, before, keyNID)
}

// own makes cur the writer's own copy, which it may modify.
func (w *writer) own() store.StateMap {
	if !w.owned {
		w.cur = maps.Clone(w.cur)
		w.owned = true
	}
	return w.cur
}

// advance makes the new event x a forward extremity in place of its prev
// events, and updates the current state: to the state after x when x is
// the only extremity, else to the resolution of the extremities' states.
// before (snapshot beforeNID) is the state before x, and keyNID x's state
// key (0 for a message event).
func (w *writer) advance(x store.Extremity, prevs []store.Extremity, beforeNID int64, before store.StateMap, keyNID int64) error {
	if _, err := w.extremities(); err != nil {
		return err
	}
	referenced := map[int64]bool{}
	for _, p := range prevs {
		referenced[p.EventNID] = true
	}
	kept := []store.Extremity{x}
	for _, old := range w.extrem {
		if !referenced[old.EventNID] {
			kept = append(kept, old)
		}
	}
	slices.SortStableFunc(kept, func(a, b store.Extremity) int { return cmp.Compare(b.Depth, a.Depth) })
	w.extrem = kept

	if len(w.extrem) > 1 {
		snaps := make([]int64, len(w.extrem))
		for i, ex := range w.extrem {
			snaps[i] = ex.StateAfter
		}
		nid, state, err := w.resolve(snaps)
		if err != nil {
			return err
		}
		if nid != w.curNID {
			diffInto(w.changes, w.cur, state)
			w.cur, w.owned, w.curNID = state, false, nid
		}
		return nil
	}
	if beforeNID == w.curNID {
		// The common case: the event follows the current state.
		if keyNID != 0 {
			w.own()[keyNID] = x.EventNID
			w.changes[keyNID] = x.EventNID
			w.curNID = x.StateAfter
		}
		return nil
	}
	after := maps.Clone(before)
	if keyNID != 0 {
		after[keyNID] = x.EventNID
	}
	diffInto(w.changes, w.cur, after)
	w.cur, w.owned, w.curNID = after, true, x.StateAfter
	return nil
}

// diffInto records in changes the entries that turn from into to.
func diffInto(changes, from, to store.StateMap) {
	for k, ev := range to {
		if from[k] != ev {
			changes[k] = ev
		}
	}
	for k := range from {
		if _, ok := to[k]; !ok {
			changes[k] = 0
		}
	}
}

// create stores a new room and runs fn on a writer for it, all in one
// transaction: nothing of the room is stored if fn fails.
func (e *Engine) create(ctx context.Context, r store.Room, fn func(w *writer) error) (roomInfo, error) {
	v, ok := spec.LookupRoomVersion(r.Version)
	if !ok {
		return roomInfo{}, fmt.Errorf("unknown room version %q", r.Version)
	}
	var w *writer
	stored, written, err := e.store.CreateRoom(ctx, r, func(sw store.RoomWriter) error {
		// No other writer can know the room before the commit: no lock.
		ri := roomInfo{NID: sw.Room().NID, ID: r.ID, Version: v}
		var err error
		if w, err = e.newWriter(ctx, sw, ri); err != nil {
			return err
		}
		if err := fn(w); err != nil {
			return err
		}
		return w.finish()
	})
	if errors.Is(err, store.ErrConflict) {
		return roomInfo{}, spec.NewError(400, spec.ErrRoomInUse, "room or alias already exists").Wrap(err)
	}
	if err != nil {
		return roomInfo{}, err
	}
	w.committed()
	e.written(written)
	return e.cacheRoom(stored)
}

// ingest persists an event built elsewhere: a local create event, or
// (later) an event from another server. Its prev events must be stored
// (or persisted earlier in this transaction); the state before it is the
// resolution of their states, and it must pass the authorization rules
// against that state. This is the entry point federation will use.
func (w *writer) ingest(ev *pdu.Event) error {
	if ev.RoomID() != w.room.ID {
		return fmt.Errorf("event %s is for room %s, not %s", ev.EventID(), ev.RoomID(), w.room.ID)
	}
	prevs, err := w.eventRefs(ev.PrevEventIDs())
	if err != nil {
		return err
	}
	var beforeNID int64
	before := store.StateMap{}
	if len(prevs) > 0 {
		snaps := make([]int64, len(prevs))
		for i, p := range prevs {
			snaps[i] = p.StateAfter
		}
		if beforeNID, before, err = w.resolve(snaps); err != nil {
			return err
		}
	}
	authTypes, err := pdu.AuthEventTypes(w.room.Version, ev.Type(), ev.StateKey(), ev.Sender(), ev.Content())
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.EventID(), err)
	}
	authState, err := w.stateEvents(before, append([]spec.StateKeyTuple{createTuple}, authTypes...))
	if err != nil {
		return err
	}
	if err := eventauth.Check(ev, authState); err != nil {
		return rejected(err)
	}
	return w.persist(ev, prevs, beforeNID, before, nil, false)
}

// eventRefs returns the extremity-shaped facts of events by ID, all of
// which must be in the room.
func (w *writer) eventRefs(ids []string) ([]store.Extremity, error) {
	out := make([]store.Extremity, 0, len(ids))
	var missing []string
	for _, id := range ids {
		if nid, ok := w.byID[id]; ok {
			out = append(out, w.newRef(nid))
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	stored, err := w.sw.EventsByID(w.ctx, missing)
	if err != nil {
		return nil, err
	}
	if len(stored) != len(missing) {
		return nil, fmt.Errorf("%d of %d prev events are unknown", len(missing)-len(stored), len(missing))
	}
	for _, se := range stored {
		if se.RoomNID != w.room.NID {
			return nil, fmt.Errorf("prev event %s is in another room", se.ID)
		}
		out = append(out, store.Extremity{EventNID: se.NID, EventID: se.ID, Depth: se.Depth, StateAfter: se.StateAfter})
	}
	return out, nil
}

// newRef returns the facts of an event persisted in this transaction.
func (w *writer) newRef(nid int64) store.Extremity {
	ev := w.newEvents[nid]
	return store.Extremity{EventNID: nid, EventID: ev.EventID(), Depth: ev.Depth(), StateAfter: w.afterOf[nid]}
}
