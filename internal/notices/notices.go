// Package notices sends server notices ("Server Notices" module): messages
// from the server to a local user in that user's server notices room. The
// room is created by the server notices user on the first notice, tagged
// m.server_notice for the user, and the user is invited to it; later
// notices go to the same room, inviting the user again if they left. The
// room engine refuses the rejection of that invite.
//
// Notices are sent through Synapse's admin API, POST and PUT
// /_synapse/admin/v1/send_server_notice, which admin tools use.
package notices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"myelin/internal/room"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// TagServerNotice is the room tag of a server notices room.
const TagServerNotice = "m.server_notice"

// Rooms is what the service needs of the room engine.
type Rooms interface {
	CreateRoom(ctx context.Context, s room.Sender, req room.CreateRoomRequest) (string, error)
	Access(ctx context.Context, user, roomID string) (room.Access, error)
	Invite(ctx context.Context, s room.Sender, roomID string, target spec.UserID, reason string) error
	SendMessage(ctx context.Context, s room.Sender, roomID, eventType, txnID string, content json.RawMessage) (string, error)
	SendState(ctx context.Context, s room.Sender, roomID, eventType, stateKey string, content json.RawMessage) (string, error)
}

// Tags sets room tags (the account data service).
type Tags interface {
	SetTag(ctx context.Context, user spec.UserID, roomID, tag string, content json.RawMessage) error
}

// Store is what the service needs of storage.
type Store interface {
	store.ServerNotices
	Account(ctx context.Context, localpart string) (store.Account, error)
}

// Options configures the service.
type Options struct {
	ServerName spec.ServerName
	// User is the server notices user, which sends the notices.
	User spec.UserID
	// RoomName is the name of new server notices rooms.
	RoomName string
}

// Service sends server notices.
type Service struct {
	opts  Options
	store Store
	rooms Rooms
	tags  Tags
	// mu serializes the creation of notices rooms in this process.
	mu sync.Mutex
}

// New returns the service.
func New(opts Options, st Store, rooms Rooms, tags Tags) *Service {
	return &Service{opts: opts, store: st, rooms: rooms, tags: tags}
}

// Notice is a server notice to send.
type Notice struct {
	UserID string
	// Type is the event type (default m.room.message); StateKey, if set,
	// makes it a state event.
	Type     string
	StateKey *string
	Content  json.RawMessage
	// TxnID makes the send idempotent ("" for a new notice each time).
	TxnID string
}

// Send sends a notice to a local user and returns the event ID. Errors:
// 400 M_MISSING_PARAM without a user or content, M_INVALID_PARAM for a
// user ID that is not local, 404 M_NOT_FOUND for an unknown or deactivated
// user, and the room engine's errors.
func (s *Service) Send(ctx context.Context, n Notice) (string, error) {
	if n.UserID == "" {
		return "", spec.MissingParam("user_id is required")
	}
	if n.Content == nil {
		return "", spec.MissingParam("content is required")
	}
	target, err := spec.ParseUserID(n.UserID)
	if err != nil {
		return "", spec.InvalidParam("user_id is not a user ID")
	}
	if target.Domain() != s.opts.ServerName {
		return "", spec.InvalidParam("server notices can only be sent to local users")
	}
	acc, err := s.store.Account(ctx, target.Localpart())
	if errors.Is(err, store.ErrNotFound) || (err == nil && acc.Deactivated) {
		return "", spec.NotFound("unknown user %s", target)
	}
	if err != nil {
		return "", fmt.Errorf("notices: reading account: %w", err)
	}
	roomID, err := s.noticeRoom(ctx, target)
	if err != nil {
		return "", err
	}
	sender := room.Sender{UserID: s.opts.User}
	if n.Type == "" {
		n.Type = spec.MRoomMessage
	}
	if n.StateKey != nil {
		return s.rooms.SendState(ctx, sender, roomID, n.Type, *n.StateKey, n.Content)
	}
	txnID := n.TxnID
	if txnID == "" {
		var b [16]byte
		rand.Read(b[:])
		txnID = "notice-" + hex.EncodeToString(b[:])
	}
	return s.rooms.SendMessage(ctx, sender, roomID, n.Type, txnID, n.Content)
}

// noticeRoom returns the user's server notices room, creating it on the
// first notice, and makes sure the user is in it or invited to it.
func (s *Service) noticeRoom(ctx context.Context, target spec.UserID) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	roomID, err := s.store.ServerNoticeRoom(ctx, target.Localpart())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("notices: reading the notices room: %w", err)
	}
	sender := room.Sender{UserID: s.opts.User}
	if roomID == "" {
		name := s.opts.RoomName
		// The user may read but not write: messages need power level 100.
		pl, _ := json.Marshal(100)
		created, err := s.rooms.CreateRoom(ctx, sender, room.CreateRoomRequest{
			Preset: room.PresetPrivateChat, Name: &name, Invite: []string{target.String()},
			PowerLevelContentOverride: map[string]json.RawMessage{"events_default": pl},
		})
		if err != nil {
			return "", fmt.Errorf("notices: creating the notices room: %w", err)
		}
		if roomID, err = s.store.SetServerNoticeRoom(ctx, target.Localpart(), created); err != nil {
			return "", err
		}
		if err := s.tags.SetTag(ctx, target, roomID, TagServerNotice, json.RawMessage(`{}`)); err != nil {
			return "", fmt.Errorf("notices: tagging the notices room: %w", err)
		}
		return roomID, nil
	}
	acc, err := s.rooms.Access(ctx, target.String(), roomID)
	var se *spec.Error
	if err != nil && !errors.As(err, &se) {
		return "", err
	}
	if err == nil && acc.Joined {
		return roomID, nil
	}
	// Invited already (a no-op), or left: invite again.
	if err := s.rooms.Invite(ctx, sender, roomID, target, ""); err != nil {
		return "", fmt.Errorf("notices: inviting %s: %w", target, err)
	}
	return roomID, nil
}
