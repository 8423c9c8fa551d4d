// Package sync serves the client-server API's reads of room timelines:
// GET /sync (initial, incremental and long-polled, with filters, lazy-loaded
// members and history visibility), GET /rooms/{roomId}/messages,
// GET /rooms/{roomId}/context/{eventId} and timestamp_to_event.
//
// Everything it delivers is read from the database by stream position (see
// Token); the in-process notifier only wakes waiting long-polls early.
// Events pass through the room engine's history visibility rules and are
// formatted by it. Reads are bulk: a /sync makes a fixed number of queries
// whatever the number of rooms, except for rare extra rounds when filters
// or visibility hide many events of a room.
//
// Ordering: events are ordered by their position in the events stream (the
// order this server persisted them), for /sync and /messages alike; the
// spec lets servers choose ("the exact definition of chronological is
// dependent on the server implementation"). Pagination tokens are
// positions in that stream, so a /sync prev_batch, a /messages end and a
// sync next_batch can be mixed freely and pagination has no gaps or
// duplicates.
//
// Methods return *spec.Error for failures a client should see; any other
// error is a storage or internal failure.
package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
	"time"

	"myelin/internal/accountdata"
	"myelin/internal/filter"
	"myelin/internal/presence"
	"myelin/internal/room"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Stream names read by sync, as in the stream_positions table and the
// notifier.
const (
	streamEvents      = "events"
	streamAccountData = "account_data"
	streamPresence    = "presence"
)

// Limits.
const (
	// DefaultTimelineLimit is the timeline limit of /sync when the filter
	// sets none (Synapse's default too).
	DefaultTimelineLimit = 10
	// MaxTimelineLimit caps the timeline limit a filter may ask for.
	MaxTimelineLimit = 1000
	// MaxTimeout caps the long-poll timeout.
	MaxTimeout = 10 * time.Minute
	// maxScan bounds the events examined per room and request when
	// filters or history visibility hide most of them.
	maxScan = 2000
)

// Store is what sync reads of storage.
type Store interface {
	store.Sync
	UserMemberships(ctx context.Context, userID string) ([]store.Membership, error)
	RoomMemberships(ctx context.Context, roomNID int64, memberships []string) ([]store.Membership, error)
	MembershipEvents(ctx context.Context, userID string, after, upTo int64) ([]store.Event, error)
	Events(ctx context.Context, nids []int64) ([]store.Event, error)
	EventsByID(ctx context.Context, ids []string) ([]store.Event, error)
	PresenceOf(ctx context.Context, localparts []string) ([]store.PresenceRecord, error)
	Profiles(ctx context.Context, localparts []string) ([]store.Profile, error)
}

// Rooms is what sync needs of the room engine: access checks, history
// visibility, stripped state and the client event format.
type Rooms interface {
	Access(ctx context.Context, user, roomID string) (room.Access, error)
	FilterVisible(ctx context.Context, userID string, evs []store.Event) ([]store.Event, error)
	ClientEvents(ctx context.Context, evs []store.Event, viewer room.Viewer) ([]json.RawMessage, error)
	StrippedState(ctx context.Context, roomID, inviter string) ([]json.RawMessage, error)
	// Snapshots, StateKeys and StateKeyNIDs read through the engine's
	// caches of decoded snapshots and interned state keys.
	Snapshots(ctx context.Context, nids []int64) (map[int64]store.StateMap, error)
	StateKeys(ctx context.Context, nids []int64) (map[int64]spec.StateKeyTuple, error)
	StateKeyNIDs(ctx context.Context, tuples []spec.StateKeyTuple) (map[spec.StateKeyTuple]int64, error)
}

// Filters loads the filter of a request (package filter's Service).
type Filters interface {
	Load(ctx context.Context, user spec.UserID, param string) (*filter.Filter, error)
}

// AccountData reads account data changes (package accountdata's Service).
type AccountData interface {
	Since(ctx context.Context, user spec.UserID, after, upTo int64) (accountdata.Changes, error)
	IgnoredUsers(ctx context.Context, user spec.UserID) ([]spec.UserID, error)
}

// Presence reads and sets presence (package presence's Service).
type Presence interface {
	Get(ctx context.Context, userID string) (presence.Status, error)
	Set(ctx context.Context, user spec.UserID, state string, statusMsg *string) error
	Since(ctx context.Context, after, upTo int64) ([]presence.Event, error)
}

// Waiter wakes long-polls when a stream reaches a position (package
// notify's Notifier).
type Waiter interface {
	Wait(stream string, after int64) <-chan struct{}
}

// Options configures the service.
type Options struct {
	ServerName spec.ServerName
	// Ephemeral are the sources of the rooms' ephemeral sections.
	Ephemeral []EphemeralSource
	Logger    *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Deps are the services sync reads through.
type Deps struct {
	Store       Store
	Rooms       Rooms
	Filters     Filters
	AccountData AccountData
	Presence    Presence
	Waiter      Waiter
	// E2EE (may be nil) serves to-device messages, device lists and key
	// counts (e2ee.go).
	E2EE E2EE
}

// Service serves /sync and the timeline reads. It is safe for concurrent
// use.
type Service struct {
	opts Options
	d    Deps
	log  *slog.Logger

	members *memberCache

	stopOnce gosync.Once
	stop     chan struct{}
}

// New returns the service. It panics if an ephemeral source has an invalid
// or duplicate stream name (a wiring mistake).
func New(opts Options, d Deps) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seen := map[string]bool{"e": true, "a": true, "p": true, tokenToDevice: true, tokenDeviceLists: true}
	for _, src := range opts.Ephemeral {
		name := src.Stream()
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz") != "" || seen[name] {
			panic(fmt.Sprintf("sync: invalid or duplicate ephemeral stream name %q", name))
		}
		seen[name] = true
	}
	return &Service{
		opts: opts, d: d, log: opts.Logger,
		members: newMemberCache(),
		stop:    make(chan struct{}),
	}
}

// Shutdown ends every waiting long-poll (they answer with what they have)
// and makes later ones return at once. Call it when the server starts
// shutting down, so that in-flight long-polls do not hold it up.
func (s *Service) Shutdown() { s.stopOnce.Do(func() { close(s.stop) }) }

// Request is a /sync request.
type Request struct {
	User   spec.UserID
	Device string
	// Filter is the filter parameter: a stored filter ID or inline JSON.
	Filter string
	// Since is the since token ("" for an initial sync).
	Since     string
	FullState bool
	// SetPresence is "" (online), "online", "unavailable" or "offline".
	SetPresence string
	// Timeout is how long to wait for something to report.
	Timeout time.Duration
	// UseStateAfter asks for state_after instead of state (v1.16).
	UseStateAfter bool
}

// Response is the /sync response body.
type Response struct {
	NextBatch   string       `json:"next_batch"`
	Rooms       RoomsSection `json:"rooms"`
	Presence    EventBatch   `json:"presence"`
	AccountData EventBatch   `json:"account_data"`
	E2EESection
}

// RoomsSection is the rooms part of a response.
type RoomsSection struct {
	Join   map[string]*JoinedRoom  `json:"join"`
	Invite map[string]*InvitedRoom `json:"invite"`
	Leave  map[string]*LeftRoom    `json:"leave"`
	Knock  map[string]*KnockedRoom `json:"knock"`
}

// EventBatch is a list of events.
type EventBatch struct {
	Events []json.RawMessage `json:"events"`
}

// Timeline is a room's timeline in a sync response.
type Timeline struct {
	Events    []json.RawMessage `json:"events"`
	Limited   bool              `json:"limited"`
	PrevBatch string            `json:"prev_batch,omitempty"`
}

// Summary is a joined room's summary.
type Summary struct {
	Heroes  []string `json:"m.heroes,omitempty"`
	Joined  int      `json:"m.joined_member_count"`
	Invited int      `json:"m.invited_member_count"`
}

// UnreadCounts are a room's unread notification counts.
type UnreadCounts struct {
	Highlight    int `json:"highlight_count"`
	Notification int `json:"notification_count"`
}

// JoinedRoom is a room of the join section.
type JoinedRoom struct {
	Summary     *Summary    `json:"summary,omitempty"`
	State       *EventBatch `json:"state,omitempty"`
	StateAfter  *EventBatch `json:"state_after,omitempty"`
	Timeline    Timeline    `json:"timeline"`
	Ephemeral   EventBatch  `json:"ephemeral"`
	AccountData EventBatch  `json:"account_data"`
	// NOTSPEC: the counts stay 0 until push rule evaluation exists; the
	// object is present because clients expect it.
	UnreadNotifications UnreadCounts `json:"unread_notifications"`
}

// InvitedRoom is a room of the invite section.
type InvitedRoom struct {
	InviteState EventBatch `json:"invite_state"`
}

// KnockedRoom is a room of the knock section.
type KnockedRoom struct {
	KnockState EventBatch `json:"knock_state"`
}

// LeftRoom is a room of the leave section.
type LeftRoom struct {
	State       *EventBatch `json:"state,omitempty"`
	StateAfter  *EventBatch `json:"state_after,omitempty"`
	Timeline    Timeline    `json:"timeline"`
	AccountData EventBatch  `json:"account_data"`
}

func newResponse() *Response {
	return &Response{
		Rooms: RoomsSection{
			Join: map[string]*JoinedRoom{}, Invite: map[string]*InvitedRoom{},
			Leave: map[string]*LeftRoom{}, Knock: map[string]*KnockedRoom{},
		},
		Presence:    EventBatch{Events: []json.RawMessage{}},
		AccountData: EventBatch{Events: []json.RawMessage{}},
	}
}

// empty reports whether the response has nothing to tell.
func (r *Response) empty() bool {
	return len(r.Rooms.Join)+len(r.Rooms.Invite)+len(r.Rooms.Leave)+len(r.Rooms.Knock) == 0 &&
		len(r.Presence.Events) == 0 && len(r.AccountData.Events) == 0 && r.e2eeEmpty()
}

// Sync serves GET /sync: an initial sync without since, else the changes
// after since, waiting up to req.Timeout for some when there are none
// (never with full_state). Errors: 400 M_INVALID_PARAM for a bad since
// token or set_presence; the filter's errors (400 M_NOT_JSON or
// M_BAD_JSON for bad inline JSON, 404 M_NOT_FOUND for an unknown filter
// ID).
func (s *Service) Sync(ctx context.Context, req Request) (*Response, error) {
	f, err := s.d.Filters.Load(ctx, req.User, req.Filter)
	if err != nil {
		return nil, err
	}
	var since *Token
	if req.Since != "" {
		t, err := ParseToken(req.Since)
		if err != nil {
			return nil, err
		}
		since = &t
	}
	if err := s.setPresence(ctx, req.User, req.SetPresence); err != nil {
		return nil, err
	}
	r := s.newRequest(req, f, since)
	if r.ignored, err = s.ignored(ctx, req.User); err != nil {
		return nil, err
	}
	r.match = ignoring(roomEventMatcher(&f.Room.Timeline), r.ignored)

	timeout := min(max(req.Timeout, 0), MaxTimeout)
	wait := since != nil && !req.FullState && timeout > 0
	var deadline <-chan time.Time
	if wait {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		deadline = timer.C
	}
	// seen holds the positions examined so far: a wake-up for a position
	// at or below them would find nothing new.
	var seen Token
	if since != nil {
		seen = *since
	}
	for {
		var wake []<-chan struct{}
		if wait {
			wake = s.wakeChannels(seen)
		}
		upTo, err := s.positions(ctx)
		if err != nil {
			return nil, err
		}
		if since != nil {
			clampToken(since, upTo)
		}
		resp, err := r.compute(ctx, upTo)
		if err != nil {
			return nil, err
		}
		if err := r.e2ee(ctx, resp); err != nil {
			return nil, err
		}
		if !wait || !resp.empty() {
			return resp, nil
		}
		seen = upTo
		if !waitAny(ctx, wake, deadline, s.stop) {
			return resp, nil
		}
	}
}

// setPresence applies set_presence: online (also when absent) and
// unavailable set the user's presence when it differs, keeping the status
// message; offline leaves it as it is (the spec: the client "is not
// marked as being online").
func (s *Service) setPresence(ctx context.Context, user spec.UserID, state string) error {
	switch state {
	case "":
		state = store.PresenceOnline
	case store.PresenceOnline, store.PresenceUnavailable:
	case store.PresenceOffline:
		return nil
	default:
		return spec.InvalidParam("set_presence must be online, unavailable or offline")
	}
	cur, err := s.d.Presence.Get(ctx, user.String())
	var se *spec.Error
	if errors.As(err, &se) {
		return nil // a user the presence service does not track
	}
	if err != nil {
		return err
	}
	if cur.Presence == state {
		return nil
	}
	return s.d.Presence.Set(ctx, user, state, cur.StatusMsg)
}

// positions reads the current position of every stream.
func (s *Service) positions(ctx context.Context) (Token, error) {
	pos, err := s.d.Store.StreamPositions(ctx)
	if err != nil {
		return Token{}, err
	}
	t := Token{Events: pos[streamEvents], AccountData: pos[streamAccountData], Presence: pos[streamPresence]}
	if len(s.opts.Ephemeral) > 0 {
		t.Ephemeral = make(map[string]int64, len(s.opts.Ephemeral))
		for _, src := range s.opts.Ephemeral {
			p, err := src.Position(ctx)
			if err != nil {
				return Token{}, fmt.Errorf("sync: position of %s: %w", src.Stream(), err)
			}
			t.Ephemeral[src.Stream()] = p
		}
	}
	if s.d.E2EE != nil {
		e2eePositions(pos, &t)
	}
	return t, nil
}

// clampToken lowers the positions of t that are beyond upTo (a token from
// before a database reset, or forged): the client then gets what happens
// from now on, instead of waiting for positions that may never come.
func clampToken(t *Token, upTo Token) {
	t.Events = min(t.Events, upTo.Events)
	t.AccountData = min(t.AccountData, upTo.AccountData)
	t.Presence = min(t.Presence, upTo.Presence)
}

// wakeChannels returns the notifier channels that close when a stream
// moves past seen.
func (s *Service) wakeChannels(seen Token) []<-chan struct{} {
	out := []<-chan struct{}{
		s.d.Waiter.Wait(streamEvents, seen.Events),
		s.d.Waiter.Wait(streamAccountData, seen.AccountData),
		s.d.Waiter.Wait(streamPresence, seen.Presence),
	}
	for _, src := range s.opts.Ephemeral {
		out = append(out, s.d.Waiter.Wait(src.Stream(), seen.Ephemeral[src.Stream()]))
	}
	return append(out, s.e2eeWake(seen)...)
}

// waitAny waits until one of chs closes (true), or the deadline, the
// context or stop ends the wait (false).
func waitAny(ctx context.Context, chs []<-chan struct{}, deadline <-chan time.Time, stop <-chan struct{}) bool {
	woke := make(chan struct{}, 1)
	done := make(chan struct{})
	defer close(done)
	for _, ch := range chs {
		go func() {
			select {
			case <-ch:
				select {
				case woke <- struct{}{}:
				default:
				}
			case <-done:
			}
		}()
	}
	select {
	case <-woke:
		return true
	case <-deadline:
	case <-ctx.Done():
	case <-stop:
	}
	return false
}
