// Package typing keeps who is typing in which room (client-server API,
// "Typing Notifications"): PUT /rooms/{roomId}/typing/{userId} and the
// m.typing ephemeral events of /sync.
//
// Typing is ephemeral and lives in memory only, with a deadline per user
// and room. Every change (start, stop, expiry) advances a version counter,
// the position of the "typing" stream, and wakes waiting readers through
// the notifier.
//
// On several processes sharing one PostgreSQL database, each process keeps
// its own copy: every SetTyping is handed to Options.Peers, which carries it
// to the other processes (package sqlstore's Bridge), where
// SetTypingFromPeer applies it with the same timeout; each copy then
// expires on its own clock. Versions stay per process (see Service.Since
// for what a reader holding another process's version gets). A change sent
// while a process was cut off from the database is not replayed to it:
// typing is ephemeral, so it then misses a start, or shows a user typing
// until the timeout (at most MaxTimeout) instead of until the stop.
package typing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Stream is the name of the typing stream in the notifier.
const Stream = "typing"

// Timeouts of a typing notification.
const (
	// DefaultTimeout applies when a client sends typing=true without a
	// timeout.
	DefaultTimeout = 30 * time.Second
	// MaxTimeout caps the timeout a client asks for (the spec recommends
	// clients re-send every 20–30 s; Synapse caps at 120 s too).
	MaxTimeout = 120 * time.Second
)

// maxTracked bounds the rooms whose last change the service remembers
// (see Service.Since).
const maxTracked = 10000

// Notifier wakes readers of a stream when a position is reached (package
// notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Rooms is what the service reads of rooms: whether one exists and the
// user's membership (store.Rooms has these methods).
type Rooms interface {
	RoomByID(ctx context.Context, roomID string) (store.Room, error)
	RoomMembership(ctx context.Context, roomNID int64, userID string) (store.Membership, error)
}

// Peers carries typing changes to the other processes sharing the
// database. PublishTyping must not block.
type Peers interface {
	PublishTyping(roomID, userID string, typing bool, timeout time.Duration)
}

// Options configures the service.
type Options struct {
	// Notifier (may be nil) is told of every new version.
	Notifier Notifier
	// Peers (nil: a single process) is told of every SetTyping.
	Peers Peers
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service is the typing service. It is safe for concurrent use.
type Service struct {
	rooms  Rooms
	notify Notifier
	peers  Peers
	now    func() time.Time

	mu sync.Mutex
	// start is the first version of this process: the Unix time in
	// microseconds when it started, so that versions of a later process
	// are above every version of an earlier one.
	start   int64
	version int64
	// floor: changes at or below it may be forgotten (see prune).
	floor int64
	// typing holds, per room, each typing user's deadline.
	typing map[string]map[string]time.Time
	// changed holds the version of each room's last change.
	changed map[string]int64
	// next is the earliest deadline, and timer fires then.
	next   time.Time
	timer  *time.Timer
	closed bool
}

// New returns a service that checks memberships in rooms.
func New(opts Options, rooms Rooms) *Service {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now().UnixMicro()
	return &Service{rooms: rooms, notify: opts.Notifier, peers: opts.Peers, now: now, start: start, version: start, floor: start,
		typing: map[string]map[string]time.Time{}, changed: map[string]int64{}}
}

// Close stops the expiry timer. Typing state is dropped with the service.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// SetTyping records that user is typing in a room for timeout (typing
// true), or has stopped (typing false). A timeout of 0 with typing true
// means DefaultTimeout; longer than MaxTimeout means MaxTimeout.
//
// Errors: 400 M_INVALID_PARAM for an invalid room ID or a negative
// timeout; 404 M_NOT_FOUND for a room this server does not know; 403
// M_FORBIDDEN when user is not joined to it.
func (s *Service) SetTyping(ctx context.Context, user spec.UserID, roomID string, typing bool, timeout time.Duration) error {
	if _, err := spec.ParseRoomID(roomID); err != nil {
		return spec.InvalidParam("invalid room ID %q", roomID)
	}
	if timeout < 0 {
		return spec.InvalidParam("timeout must not be negative")
	}
	r, err := s.rooms.RoomByID(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return spec.NotFound("unknown room %s", roomID)
	}
	if err != nil {
		return fmt.Errorf("typing: reading room: %w", err)
	}
	m, err := s.rooms.RoomMembership(ctx, r.NID, user.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("typing: reading membership: %w", err)
	}
	if err != nil || m.Membership != spec.MembershipJoin {
		return spec.Forbidden("you are not joined to room %s", roomID)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	timeout = min(timeout, MaxTimeout)
	s.set(roomID, user.String(), typing, s.now().Add(timeout))
	if s.peers != nil {
		// Every call, also one that only extends a deadline: the other
		// processes expire the user on their own clocks.
		s.peers.PublishTyping(roomID, user.String(), typing, timeout)
	}
	return nil
}

// SetTypingFromPeer applies a change that another process sharing the
// database accepted (its SetTyping checked the membership): userID typing
// in roomID for timeout (capped at MaxTimeout), or no longer typing. It is
// not handed to Peers again.
func (s *Service) SetTypingFromPeer(roomID, userID string, typing bool, timeout time.Duration) {
	timeout = min(max(timeout, 0), MaxTimeout)
	s.set(roomID, userID, typing, s.now().Add(timeout))
}

// set applies one change and announces the new version, if any.
func (s *Service) set(roomID, user string, typing bool, deadline time.Time) {
	s.mu.Lock()
	now := s.now()
	pos := s.expireLocked(now)
	users := s.typing[roomID]
	_, was := users[user]
	switch {
	case typing:
		if users == nil {
			users = map[string]time.Time{}
			s.typing[roomID] = users
		}
		users[user] = deadline
		// Extending the deadline of a user already typing changes nothing
		// a reader sees.
		if !was {
			pos = s.bumpLocked(roomID)
		}
		s.scheduleLocked(deadline)
	case was:
		delete(users, user)
		if len(users) == 0 {
			delete(s.typing, roomID)
		}
		pos = s.bumpLocked(roomID)
	}
	s.mu.Unlock()
	s.announce(pos)
}

// bumpLocked advances the version for a change of roomID and returns it.
func (s *Service) bumpLocked(roomID string) int64 {
	s.version++
	s.changed[roomID] = s.version
	if len(s.changed) > maxTracked {
		s.pruneLocked()
	}
	return s.version
}

// pruneLocked forgets the last-change versions of rooms where nobody
// types; readers whose position is older than now get every room (see
// Since).
func (s *Service) pruneLocked() {
	for room := range s.changed {
		if len(s.typing[room]) == 0 {
			delete(s.changed, room)
		}
	}
	s.floor = s.version
}

// expireLocked removes the entries whose deadline has passed and returns
// the new version (0 when nothing expired).
func (s *Service) expireLocked(now time.Time) int64 {
	if s.next.IsZero() || now.Before(s.next) {
		return 0
	}
	var pos int64
	var next time.Time
	for room, users := range s.typing {
		for user, deadline := range users {
			if !now.Before(deadline) {
				delete(users, user)
				pos = s.bumpLocked(room)
				continue
			}
			if next.IsZero() || deadline.Before(next) {
				next = deadline
			}
		}
		if len(users) == 0 {
			delete(s.typing, room)
		}
	}
	s.next = time.Time{}
	if !next.IsZero() {
		s.scheduleLocked(next)
	}
	return pos
}

// scheduleLocked makes the timer fire at deadline if that is earlier than
// the next expiry it waits for.
func (s *Service) scheduleLocked(deadline time.Time) {
	if s.closed || (!s.next.IsZero() && !deadline.Before(s.next)) {
		return
	}
	s.next = deadline
	d := deadline.Sub(s.now())
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.tick)
		return
	}
	s.timer.Reset(d)
}

// tick runs when the earliest deadline passes.
func (s *Service) tick() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	now := s.now()
	next := s.next
	pos := s.expireLocked(now)
	if pos == 0 && !next.IsZero() && now.Before(next) {
		// Early (a clock that differs from the timer's): try again then.
		s.next = time.Time{}
		s.scheduleLocked(next)
	}
	s.mu.Unlock()
	s.announce(pos)
}

func (s *Service) announce(pos int64) {
	if pos > 0 && s.notify != nil {
		s.notify.Notify(Stream, pos)
	}
}

// Position returns the typing stream's current version. Versions of one
// process are above those of every process started before it.
func (s *Service) Position() int64 {
	s.mu.Lock()
	pos := s.expireLocked(s.now())
	v := s.version
	s.mu.Unlock()
	s.announce(pos)
	return v
}

// Typing returns the users typing in each of roomIDs where someone types,
// sorted; rooms where nobody types are absent.
func (s *Service) Typing(roomIDs []string) map[string][]string {
	out, _ := s.Since(roomIDs, 0)
	return out
}

// Since returns what a reader at version since must be told, and the
// current version to continue from:
//
//   - since 0 (an initial sync): the rooms of roomIDs where someone types;
//   - a version of this process: the rooms of roomIDs whose typing list
//     changed after it, each with its current list (empty when everybody
//     stopped);
//   - a version this process cannot answer for (of another process, e.g.
//     before a restart, or older than what it remembers): every room of
//     roomIDs with its current list, empty ones included, so that the
//     client replaces whatever it was told before.
//
// Lists are sorted.
func (s *Service) Since(roomIDs []string, since int64) (map[string][]string, int64) {
	s.mu.Lock()
	pos := s.expireLocked(s.now())
	reset := since != 0 && (since < s.floor || since > s.version)
	out := map[string][]string{}
	for _, room := range roomIDs {
		users := s.typing[room]
		switch {
		case since == 0 && len(users) == 0:
			continue
		case since != 0 && !reset && s.changed[room] <= since:
			continue
		}
		list := make([]string, 0, len(users))
		for u := range users {
			list = append(list, u)
		}
		slices.Sort(list)
		out[room] = list
	}
	v := s.version
	s.mu.Unlock()
	s.announce(pos)
	return out, v
}

// Event renders the m.typing ephemeral event of a room for /sync:
// {"type":"m.typing","content":{"user_ids":[...]}}.
func Event(userIDs []string) json.RawMessage {
	if userIDs == nil {
		userIDs = []string{}
	}
	b, _ := json.Marshal(map[string]any{"type": "m.typing", "content": map[string]any{"user_ids": userIDs}})
	return b
}
