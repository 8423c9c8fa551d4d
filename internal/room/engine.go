// Package room is the room engine: the one write path for room events
// (DESIGN.md, principle 2) and the reads of rooms that must respect
// membership and history visibility.
//
// Every event, local or (later) from federation, enters through the engine,
// which serializes the writes of one room, builds local events (prev and
// auth events, depth, hashes, signature), checks them with the
// authorization rules against the room state, and persists event, state
// snapshot, current state, forward extremities, stream position and client
// transaction ID in one transaction of the store. After the commit it wakes
// readers through package notify (stream StreamEvents).
//
// Sends that queue up behind a room's writer are group-committed: built
// one after the other on the state the previous one left, and persisted in
// one transaction (batch.go). Events built elsewhere (a local create event,
// later federation's) enter through writer.ingest, which computes the state
// before them from their prev events, resolving forks with package
// stateres (memoized by the set of input snapshots).
//
// Lock order: the group-commit queue, then the engine's in-process room
// lock, then the store's room transaction (which, on PostgreSQL, takes an
// advisory lock on the room). Nothing else is held while they are held.
//
// The engine caches only immutable data (room versions, state snapshots,
// parsed events, interned state keys), and only after the transaction that
// made it has committed, so several engines may share one database.
//
// Methods return *spec.Error for failures a client should see (rejections
// by the authorization rules are 403 M_FORBIDDEN naming the rule); any
// other error is a storage or internal failure.
package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"myelin/internal/notify"
	"myelin/internal/pdu"
	"myelin/internal/signing"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// StreamEvents is the name of the room events stream in the notifier (and
// the stream_positions row of the database).
const StreamEvents = "events"

// MaxPrevEvents caps the prev_events of a local event: the deepest forward
// extremities are referenced, the rest stay extremities.
const MaxPrevEvents = 10

// Encryption defaults for new rooms (config encryption.default).
const (
	EncryptAll     = "all"     // every new room
	EncryptPrivate = "private" // rooms not created with the public_chat preset
	EncryptOff     = "off"     // none
)

// ProfileReader gives the display names and avatars that the engine puts
// in the m.room.member events of local users.
type ProfileReader interface {
	Profiles(ctx context.Context, localparts []string) ([]store.Profile, error)
}

// Options configures the engine.
type Options struct {
	// ServerName is this homeserver's name, the origin of local events.
	ServerName spec.ServerName
	// Key signs local events.
	Key signing.Key
	// DefaultRoomVersion is the version of new rooms when the client names
	// none ("" = spec.DefaultRoomVersion).
	DefaultRoomVersion string
	// EncryptionDefault is EncryptAll, EncryptPrivate or EncryptOff.
	EncryptionDefault string
	// Profiles, if set, fills displayname and avatar_url of local users'
	// member events.
	Profiles ProfileReader
	// Relations, if set, serves the relations and threads reads and the
	// bundled aggregations (ClientEventsBundled).
	Relations store.Relations
	// ServerNoticesUser, if set, is the user that creates server notices
	// rooms: an invite to a room it created cannot be rejected.
	ServerNoticesUser string
	// Logger (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Engine is the room engine. It is safe for concurrent use.
type Engine struct {
	opts   Options
	store  store.Rooms
	notify *notify.Notifier
	log    *slog.Logger

	locks   roomLocks
	batches batches

	rooms     *lru[string, roomInfo]
	roomNIDs  *lru[int64, roomInfo]
	snapshots *lru[int64, store.StateMap]
	events    *lru[int64, *pdu.Event]
	keys      *lru[int64, spec.StateKeyTuple]
	keyNIDs   *lru[spec.StateKeyTuple, int64]
}

// roomInfo is the immutable part of a room.
type roomInfo struct {
	NID     int64
	ID      string
	Version *spec.RoomVersion
}

// New returns an engine over st that announces committed events on n.
func New(opts Options, st store.Rooms, n *notify.Notifier) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultRoomVersion == "" {
		opts.DefaultRoomVersion = spec.DefaultRoomVersion
	}
	if opts.EncryptionDefault == "" {
		opts.EncryptionDefault = EncryptPrivate
	}
	return &Engine{
		opts:     opts,
		store:    st,
		notify:   n,
		log:      opts.Logger,
		locks:    roomLocks{m: map[int64]*roomLock{}},
		batches:  batches{queues: map[int64]*roomQueue{}},
		rooms:    newLRU[string, roomInfo](10000),
		roomNIDs: newLRU[int64, roomInfo](10000),
		// About 50 MB of snapshot entries and of parsed events at most.
		snapshots: newWeightedLRU[int64](1<<20, func(m store.StateMap) int { return len(m) }),
		events:    newWeightedLRU[int64](50<<20, func(ev *pdu.Event) int { return 2*len(ev.JSON()) + 512 }),
		keys:      newLRU[int64, spec.StateKeyTuple](100000),
		keyNIDs:   newLRU[spec.StateKeyTuple, int64](100000),
	}
}

func (e *Engine) now() int64 { return e.opts.Now().UnixMilli() }

// roomLocks is the in-process room lock: one mutex per room being written,
// dropped when nobody holds or waits for it.
type roomLocks struct {
	mu sync.Mutex
	m  map[int64]*roomLock
}

type roomLock struct {
	mu   sync.Mutex
	refs int
}

func (l *roomLocks) lock(nid int64) (unlock func()) {
	l.mu.Lock()
	rl := l.m[nid]
	if rl == nil {
		rl = &roomLock{}
		l.m[nid] = rl
	}
	rl.refs++
	l.mu.Unlock()
	rl.mu.Lock()
	return func() {
		rl.mu.Unlock()
		l.mu.Lock()
		rl.refs--
		if rl.refs == 0 {
			delete(l.m, nid)
		}
		l.mu.Unlock()
	}
}

// errUnknownRoom is returned (wrapped) by room lookups of rooms this server
// does not know; callers map it to the answer their endpoint specifies.
var errUnknownRoom = errors.New("unknown room")

// room returns the immutable facts of a room by ID.
func (e *Engine) room(ctx context.Context, roomID string) (roomInfo, error) {
	if ri, ok := e.rooms.get(roomID); ok {
		return ri, nil
	}
	r, err := e.store.RoomByID(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return roomInfo{}, fmt.Errorf("room %s: %w", roomID, errUnknownRoom)
	}
	if err != nil {
		return roomInfo{}, err
	}
	return e.cacheRoom(r)
}

func (e *Engine) cacheRoom(r store.Room) (roomInfo, error) {
	v, ok := spec.LookupRoomVersion(r.Version)
	if !ok {
		return roomInfo{}, fmt.Errorf("room %s has unknown version %q", r.ID, r.Version)
	}
	ri := roomInfo{NID: r.NID, ID: r.ID, Version: v}
	e.rooms.put(r.ID, ri)
	e.roomNIDs.put(r.NID, ri)
	return ri, nil
}

// roomsByNID returns the immutable facts of rooms by NID.
func (e *Engine) roomsByNID(ctx context.Context, nids []int64) (map[int64]roomInfo, error) {
	rs, err := e.store.RoomsByNID(ctx, nids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]roomInfo, len(rs))
	for _, r := range rs {
		ri, err := e.cacheRoom(r)
		if err != nil {
			return nil, err
		}
		out[r.NID] = ri
	}
	return out, nil
}

// snapshot returns a snapshot's state through the cache. The map must not
// be modified.
func (e *Engine) snapshot(ctx context.Context, nid int64, read func(context.Context, int64) (store.StateMap, error)) (store.StateMap, error) {
	if nid == 0 {
		return store.StateMap{}, nil
	}
	if m, ok := e.snapshots.get(nid); ok {
		return m, nil
	}
	m, err := read(ctx, nid)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot %d: %w", nid, err)
	}
	e.snapshots.put(nid, m)
	return m, nil
}

// snapshotsOf returns the states of snapshots through the cache, those not
// cached read together. The maps must not be modified.
func (e *Engine) snapshotsOf(ctx context.Context, nids []int64) (map[int64]store.StateMap, error) {
	out := make(map[int64]store.StateMap, len(nids))
	var missing []int64
	for _, n := range nids {
		if _, ok := out[n]; ok {
			continue
		}
		if n == 0 {
			out[0] = store.StateMap{}
		} else if m, ok := e.snapshots.get(n); ok {
			out[n] = m
		} else {
			out[n] = nil
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := e.store.Snapshots(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("reading snapshots: %w", err)
	}
	for _, n := range missing {
		m, ok := found[n]
		if !ok {
			return nil, fmt.Errorf("reading snapshot %d: %w", n, store.ErrNotFound)
		}
		e.snapshots.put(n, m)
		out[n] = m
	}
	return out, nil
}

// parseEvents parses stored events of one room version, through the cache.
func (e *Engine) parseEvents(v *spec.RoomVersion, evs []store.Event) (map[int64]*pdu.Event, error) {
	out := make(map[int64]*pdu.Event, len(evs))
	for _, se := range evs {
		if pe, ok := e.events.get(se.NID); ok {
			out[se.NID] = pe
			continue
		}
		pe, err := pdu.Parse(v, se.JSON)
		if err != nil {
			return nil, fmt.Errorf("stored event %s does not parse: %w", se.ID, err)
		}
		e.events.put(se.NID, pe)
		out[se.NID] = pe
	}
	return out, nil
}

// stateKeys resolves state key NIDs to tuples, through the cache.
func (e *Engine) stateKeys(ctx context.Context, nids []int64, read func(context.Context, []int64) ([]store.StateKey, error)) (map[int64]spec.StateKeyTuple, error) {
	out := make(map[int64]spec.StateKeyTuple, len(nids))
	var missing []int64
	for _, n := range nids {
		if t, ok := e.keys.get(n); ok {
			out[n] = t
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	ks, err := read(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("reading state keys: %w", err)
	}
	for _, k := range ks {
		t := spec.StateKeyTuple{Type: k.Type, StateKey: k.StateKey}
		out[k.NID] = t
		e.keys.put(k.NID, t)
		e.keyNIDs.put(t, k.NID)
	}
	return out, nil
}

// keyNIDsOf looks up interned state keys through the cache; keys never
// interned are absent from the result.
func (e *Engine) keyNIDsOf(ctx context.Context, tuples []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error) {
	out := make(map[spec.StateKeyTuple]int64, len(tuples))
	var missing []spec.StateKeyTuple
	for _, t := range tuples {
		if n, ok := e.keyNIDs.get(t); ok {
			out[t] = n
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := e.store.StateKeyNIDs(ctx, missing)
	if err != nil {
		return nil, err
	}
	for t, n := range found {
		out[t] = n
		e.keyNIDs.put(t, n)
		e.keys.put(n, t)
	}
	return out, nil
}

// written announces committed events to the notifier.
func (e *Engine) written(w store.Written) {
	if n := len(w.Positions); n > 0 && e.notify != nil {
		e.notify.Notify(StreamEvents, w.Positions[n-1])
	}
}
