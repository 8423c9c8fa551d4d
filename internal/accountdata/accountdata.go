// Package accountdata manages users' account data, global and per room:
// the client API's reads and writes (with the server-managed types
// refused), room tags (kept as the m.tag room account data, so /sync gets
// them like any other account data), the validated m.ignored_user_list, and
// the reads /sync makes by stream position.
//
// Every change takes a position of the account-data stream in the same
// transaction (see store.AccountData).
package accountdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Account data types with rules of their own.
const (
	TypePushRules   = "m.push_rules"
	TypeFullyRead   = "m.fully_read"
	TypeTag         = "m.tag"
	TypeIgnoredUser = "m.ignored_user_list"
)

// MaxTypeBytes bounds account data types, as the specification bounds
// event types.
const MaxTypeBytes = 255

// MaxTagBytes is the specification's limit on tag names.
const MaxTagBytes = 255

// PushRules renders a user's m.push_rules content, which the push service
// owns and stores in its own form.
type PushRules interface {
	AccountDataContent(ctx context.Context, user spec.UserID) (json.RawMessage, error)
}

// Stream is the name of the account-data stream (as in package sqlstore).
const Stream = "account_data"

// Notifier wakes readers of a stream when a position is committed
// (package notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Service is the account data service.
type Service struct {
	store  store.AccountData
	push   PushRules
	notify Notifier
}

// New returns the service over st; push renders m.push_rules; n (may be
// nil) is told of every change.
func New(st store.AccountData, push PushRules, n Notifier) *Service {
	return &Service{store: st, push: push, notify: n}
}

// notified tells the notifier about a committed position.
func (s *Service) notified(pos int64) {
	if pos > 0 && s.notify != nil {
		s.notify.Notify(Stream, pos)
	}
}

// serverManaged lists the types clients may read but not set (spec "Client
// Config", Server Behaviour).
func serverManaged(typ string) bool { return typ == TypePushRules || typ == TypeFullyRead }

func checkType(typ string) error {
	if typ == "" || len(typ) > MaxTypeBytes || !utf8.ValidString(typ) || containsNUL(typ) {
		return spec.InvalidParam("invalid account data type")
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// checkRoom validates a room ID from a path ("" for global data).
func checkRoom(roomID string) error {
	if roomID == "" {
		return nil
	}
	if _, err := spec.ParseRoomID(roomID); err != nil {
		return spec.InvalidParam("%q is not a valid room ID", roomID)
	}
	return nil
}

// Get returns the content of one type of the user's account data, global
// when roomID is "". m.push_rules is rendered by the push service.
// Errors: 400 M_INVALID_PARAM for a bad room ID or type; 404 M_NOT_FOUND.
func (s *Service) Get(ctx context.Context, user spec.UserID, roomID, typ string) (json.RawMessage, error) {
	if err := checkRoom(roomID); err != nil {
		return nil, err
	}
	if err := checkType(typ); err != nil {
		return nil, err
	}
	if roomID == "" && typ == TypePushRules {
		return s.push.AccountDataContent(ctx, user)
	}
	r, err := s.store.AccountData(ctx, user.Localpart(), roomID, typ)
	if errors.Is(err, store.ErrNotFound) {
		return nil, spec.NotFound("account data not found")
	}
	if err != nil {
		return nil, fmt.Errorf("accountdata: reading: %w", err)
	}
	return r.Content, nil
}

// Set stores account data a client sent. content must be a JSON object
// (already checked to be valid JSON). Errors: 400 M_INVALID_PARAM for a bad
// room ID or type; 405 M_BAD_JSON for a server-managed type; 400 M_BAD_JSON
// for content that is not an object, or an invalid m.ignored_user_list or
// m.tag.
func (s *Service) Set(ctx context.Context, user spec.UserID, roomID, typ string, content json.RawMessage) error {
	if err := checkRoom(roomID); err != nil {
		return err
	}
	if err := checkType(typ); err != nil {
		return err
	}
	if serverManaged(typ) {
		return spec.NewError(405, spec.ErrBadJSON, "cannot set %s through this API", typ)
	}
	return s.put(ctx, user, roomID, typ, content)
}

// SetManaged stores account data on the server's behalf, also of the
// server-managed type m.fully_read (read markers). m.push_rules belongs to
// the push service and is refused (400 M_INVALID_PARAM).
func (s *Service) SetManaged(ctx context.Context, user spec.UserID, roomID, typ string, content json.RawMessage) error {
	if err := checkRoom(roomID); err != nil {
		return err
	}
	if err := checkType(typ); err != nil {
		return err
	}
	if typ == TypePushRules {
		return spec.InvalidParam("m.push_rules belongs to the push rules service")
	}
	return s.put(ctx, user, roomID, typ, content)
}

func (s *Service) put(ctx context.Context, user spec.UserID, roomID, typ string, content json.RawMessage) error {
	if err := validateContent(roomID, typ, content); err != nil {
		return err
	}
	pos, err := s.store.UpdateAccountData(ctx, user.Localpart(), roomID, typ, func(json.RawMessage) (json.RawMessage, error) {
		return content, nil
	})
	if err != nil {
		return fmt.Errorf("accountdata: storing: %w", err)
	}
	s.notified(pos)
	return nil
}

// validateContent checks that content is an object, and the shape of the
// types the server reads itself.
func validateContent(roomID, typ string, content json.RawMessage) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(content, &obj); err != nil || obj == nil {
		return spec.BadJSON("account data content must be a JSON object")
	}
	switch {
	case roomID == "" && typ == TypeIgnoredUser:
		_, err := parseIgnored(content)
		return err
	case roomID != "" && typ == TypeTag:
		_, err := parseTags(content)
		return err
	}
	return nil
}

// parseIgnored validates m.ignored_user_list content: {"ignored_users":
// {user ID: object}}.
func parseIgnored(content json.RawMessage) ([]spec.UserID, error) {
	var c struct {
		IgnoredUsers map[string]json.RawMessage `json:"ignored_users"`
	}
	if err := json.Unmarshal(content, &c); err != nil {
		return nil, spec.BadJSON("ignored_users must be an object of user IDs")
	}
	if c.IgnoredUsers == nil {
		return nil, spec.BadJSON("m.ignored_user_list needs an ignored_users object")
	}
	out := make([]spec.UserID, 0, len(c.IgnoredUsers))
	for id, v := range c.IgnoredUsers {
		uid, err := spec.ParseHistoricalUserID(id)
		if err != nil {
			return nil, spec.BadJSON("%q in ignored_users is not a user ID", id)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil || obj == nil {
			return nil, spec.BadJSON("ignored_users values must be objects")
		}
		out = append(out, uid)
	}
	return out, nil
}

// IgnoredUsers returns the users the user ignores (none when the list was
// never set).
func (s *Service) IgnoredUsers(ctx context.Context, user spec.UserID) ([]spec.UserID, error) {
	r, err := s.store.AccountData(ctx, user.Localpart(), "", TypeIgnoredUser)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("accountdata: reading ignored users: %w", err)
	}
	return parseIgnored(r.Content)
}
