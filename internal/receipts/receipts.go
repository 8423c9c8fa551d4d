// Package receipts handles receipts and read markers (client-server API,
// "Receipts" and "Read and unread markers"): POST
// /rooms/{roomId}/receipt/{receiptType}/{eventId}, POST
// /rooms/{roomId}/read_markers, and the m.receipt ephemeral events of
// /sync.
//
// Receipts (m.read, m.read.private; unthreaded, for the main timeline, or
// for a thread) are stored with a position of the receipts stream in the
// same transaction (store.Receipts); each new receipt of a (room, user,
// type, thread) replaces the previous one, as the spec's "Client
// behaviour" describes, whether its event is earlier or later. The fully
// read marker (m.fully_read) is the user's room account data, written
// through the account data service.
//
// m.read.private receipts are shown only to their owner.
package receipts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Receipt types and the main-timeline thread ID.
const (
	TypeRead        = "m.read"
	TypeReadPrivate = "m.read.private"
	// TypeFullyRead is the read marker: not a receipt, but accepted by the
	// receipt endpoint as an alternative to /read_markers.
	TypeFullyRead = "m.fully_read"
	// ThreadMain is the thread ID of the main timeline.
	ThreadMain = "main"
)

// Stream is the name of the receipts stream (as in package sqlstore).
const Stream = "receipts"

// Notifier wakes readers of a stream when a position is committed (package
// notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Rooms is what the service reads of rooms (store.Rooms has these
// methods).
type Rooms interface {
	RoomByID(ctx context.Context, roomID string) (store.Room, error)
	RoomMembership(ctx context.Context, roomNID int64, userID string) (store.Membership, error)
	EventsByID(ctx context.Context, ids []string) ([]store.Event, error)
}

// Visibility filters events by history visibility (the room engine's
// FilterVisible).
type Visibility interface {
	FilterVisible(ctx context.Context, userID string, evs []store.Event) ([]store.Event, error)
}

// AccountData stores the m.fully_read room account data (the account data
// service's SetManaged, which also announces the change to /sync).
type AccountData interface {
	SetManaged(ctx context.Context, user spec.UserID, roomID, typ string, content json.RawMessage) error
}

// Options configures the service.
type Options struct {
	// Notifier (may be nil) is told of every committed position.
	Notifier Notifier
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service is the receipts service. It is safe for concurrent use.
type Service struct {
	store       store.Receipts
	rooms       Rooms
	visible     Visibility
	accountData AccountData
	notify      Notifier
	now         func() time.Time
}

// New returns the service over st.
func New(opts Options, st store.Receipts, rooms Rooms, visible Visibility, accountData AccountData) *Service {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, rooms: rooms, visible: visible, accountData: accountData, notify: opts.Notifier, now: now}
}

// Thread is the thread_id of a receipt request.
type Thread struct {
	// Set reports that the request had a thread_id; ID is its value.
	Set bool
	ID  string
}

// Send sets the user's receipt of receiptType in a room to eventID (POST
// /rooms/{roomId}/receipt/{receiptType}/{eventId}). m.fully_read moves the
// read marker instead, as /read_markers does.
//
// Errors: 400 M_INVALID_PARAM for an unknown receipt type, an invalid room
// or event ID, or an invalid thread_id (empty, neither "main" nor an event
// ID, given with m.fully_read, or naming another thread than the one the
// event is in); 404 M_NOT_FOUND for an unknown room, or an event that is
// not in the room or not visible to the user; 403 M_FORBIDDEN when the
// user is not joined to the room.
func (s *Service) Send(ctx context.Context, user spec.UserID, roomID, receiptType, eventID string, thread Thread) error {
	switch receiptType {
	case TypeRead, TypeReadPrivate, TypeFullyRead:
	default:
		return spec.InvalidParam("unknown receipt type %q", receiptType)
	}
	if thread.Set {
		if receiptType == TypeFullyRead {
			return spec.InvalidParam("thread_id cannot be used with %s", TypeFullyRead)
		}
		if err := checkThreadID(thread.ID); err != nil {
			return err
		}
	}
	evs, err := s.events(ctx, user, roomID, []string{eventID})
	if err != nil {
		return err
	}
	ev := evs[eventID]
	if receiptType == TypeFullyRead {
		return s.setFullyRead(ctx, user, roomID, eventID)
	}
	if thread.Set {
		if err := checkThreadOf(ev, thread.ID); err != nil {
			return err
		}
	}
	return s.put(ctx, []store.Receipt{s.receipt(user, roomID, receiptType, thread.ID, ev)})
}

// SetReadMarkers moves the user's read marker and, when given, their
// public and private read receipts in a room (POST
// /rooms/{roomId}/read_markers); empty arguments are left alone. Every
// event is checked before anything is written.
//
// Errors: as Send's.
func (s *Service) SetReadMarkers(ctx context.Context, user spec.UserID, roomID, fullyRead, read, readPrivate string) error {
	var ids []string
	for _, id := range []string{fullyRead, read, readPrivate} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		// Nothing to set; the room must still be one the user is in.
		_, err := s.joinedRoom(ctx, user, roomID)
		return err
	}
	evs, err := s.events(ctx, user, roomID, ids)
	if err != nil {
		return err
	}
	var rs []store.Receipt
	if read != "" {
		rs = append(rs, s.receipt(user, roomID, TypeRead, "", evs[read]))
	}
	if readPrivate != "" {
		rs = append(rs, s.receipt(user, roomID, TypeReadPrivate, "", evs[readPrivate]))
	}
	if err := s.put(ctx, rs); err != nil {
		return err
	}
	if fullyRead != "" {
		return s.setFullyRead(ctx, user, roomID, fullyRead)
	}
	return nil
}

func (s *Service) receipt(user spec.UserID, roomID, typ, thread string, ev store.Event) store.Receipt {
	return store.Receipt{RoomID: roomID, UserID: user.String(), Type: typ, ThreadID: thread,
		EventID: ev.ID, EventPos: ev.Pos, TS: s.now().UnixMilli()}
}

func (s *Service) put(ctx context.Context, rs []store.Receipt) error {
	if len(rs) == 0 {
		return nil
	}
	pos, err := s.store.PutReceipts(ctx, rs)
	if err != nil {
		return fmt.Errorf("receipts: storing: %w", err)
	}
	if s.notify != nil {
		s.notify.Notify(Stream, pos)
	}
	return nil
}

func (s *Service) setFullyRead(ctx context.Context, user spec.UserID, roomID, eventID string) error {
	content, err := json.Marshal(map[string]string{"event_id": eventID})
	if err != nil {
		return err
	}
	return s.accountData.SetManaged(ctx, user, roomID, TypeFullyRead, content)
}

// checkThreadID checks a thread_id: "main" or an event ID.
func checkThreadID(id string) error {
	if id == "" {
		return spec.InvalidParam("thread_id must be a non-empty string")
	}
	if id == ThreadMain {
		return nil
	}
	if _, err := spec.ParseEventID(id); err != nil {
		return spec.InvalidParam("thread_id must be %q or the event ID of a thread root", ThreadMain)
	}
	return nil
}

// checkThreadOf refuses a threaded receipt whose event is directly in
// another thread (content.m.relates_to with rel_type m.thread names a
// different root). Events related to a thread only indirectly (an
// annotation of a threaded event, say) are not traced: the spec lists an
// unrelated event only as an example of a bad request, and following
// relations would cost a read per hop for every receipt.
func checkThreadOf(ev store.Event, threadID string) error {
	if ev.RedactedBy != "" {
		return nil
	}
	var e struct {
		Content struct {
			RelatesTo struct {
				RelType string `json:"rel_type"`
				EventID string `json:"event_id"`
			} `json:"m.relates_to"`
		} `json:"content"`
	}
	if json.Unmarshal(ev.JSON, &e) != nil {
		return nil
	}
	if rel := e.Content.RelatesTo; rel.RelType == "m.thread" && rel.EventID != threadID {
		return spec.InvalidParam("event %s is in the thread of %s, not %s", ev.ID, rel.EventID, threadID)
	}
	return nil
}

// joinedRoom returns a room the user is joined to: 400 for an invalid room
// ID, 404 for an unknown room, 403 when not joined.
func (s *Service) joinedRoom(ctx context.Context, user spec.UserID, roomID string) (store.Room, error) {
	if _, err := spec.ParseRoomID(roomID); err != nil {
		return store.Room{}, spec.InvalidParam("invalid room ID %q", roomID)
	}
	r, err := s.rooms.RoomByID(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return r, spec.NotFound("unknown room %s", roomID)
	}
	if err != nil {
		return r, fmt.Errorf("receipts: reading room: %w", err)
	}
	m, err := s.rooms.RoomMembership(ctx, r.NID, user.String())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return r, fmt.Errorf("receipts: reading membership: %w", err)
	}
	if err != nil || m.Membership != spec.MembershipJoin {
		return r, spec.Forbidden("you are not joined to room %s", roomID)
	}
	return r, nil
}

// events returns the events ids of a room the user is joined to, which
// must all be in the room and visible to the user.
func (s *Service) events(ctx context.Context, user spec.UserID, roomID string, ids []string) (map[string]store.Event, error) {
	for _, id := range ids {
		if _, err := spec.ParseEventID(id); err != nil {
			return nil, spec.InvalidParam("invalid event ID %q", id)
		}
	}
	r, err := s.joinedRoom(ctx, user, roomID)
	if err != nil {
		return nil, err
	}
	evs, err := s.rooms.EventsByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("receipts: reading events: %w", err)
	}
	inRoom := evs[:0]
	for _, ev := range evs {
		if ev.RoomNID == r.NID {
			inRoom = append(inRoom, ev)
		}
	}
	visible, err := s.visible.FilterVisible(ctx, user.String(), inRoom)
	if err != nil {
		return nil, fmt.Errorf("receipts: checking visibility: %w", err)
	}
	out := make(map[string]store.Event, len(visible))
	for _, ev := range visible {
		out[ev.ID] = ev
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, spec.NotFound("event %s not found in room %s", id, roomID)
		}
	}
	return out, nil
}
