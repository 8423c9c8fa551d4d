// Package presence manages local users' presence: the state a user sets
// (online, unavailable, offline) with an optional status message, the
// last-active time, and the m.presence events /sync delivers by position
// of the presence stream.
//
// Not built yet: the idle timeout that turns an online user unavailable,
// activity tracking from other requests (sync's set_presence, sending
// events), and presence over federation.
package presence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// ActiveWindow is how recently a user must have been active to be reported
// currently_active (Synapse uses the same minute).
const ActiveWindow = time.Minute

// MaxStatusMsgBytes bounds status messages.
const MaxStatusMsgBytes = 4096

// Store is what the service needs of storage.
type Store interface {
	store.Presence
	Profiles(ctx context.Context, localparts []string) ([]store.Profile, error)
	Account(ctx context.Context, localpart string) (store.Account, error)
}

// Stream is the name of the presence stream (as in package sqlstore).
const Stream = "presence"

// Notifier wakes readers of a stream when a position is committed
// (package notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Options configures the service.
type Options struct {
	ServerName spec.ServerName
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Notifier, if set, is told of every change.
	Notifier Notifier
}

// Service is the presence service.
type Service struct {
	opts  Options
	store Store
}

// New returns the service over st.
func New(opts Options, st Store) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts, store: st}
}

// Status is a user's presence as the client API reports it
// (GET /presence/{userId}/status).
type Status struct {
	Presence        string  `json:"presence"`
	LastActiveAgo   *int64  `json:"last_active_ago,omitempty"`
	StatusMsg       *string `json:"status_msg,omitempty"`
	CurrentlyActive *bool   `json:"currently_active,omitempty"`
}

// ValidState reports whether s is one of the three presence states.
func ValidState(s string) bool {
	return s == store.PresenceOnline || s == store.PresenceUnavailable || s == store.PresenceOffline
}

// Set stores the user's presence; statusMsg nil or "" clears the message.
// The last-active time becomes now. Errors: 400 M_INVALID_PARAM for an
// unknown state or an over-long message; 400 M_BAD_JSON for a message with
// NUL characters.
func (s *Service) Set(ctx context.Context, user spec.UserID, state string, statusMsg *string) error {
	if !ValidState(state) {
		return spec.InvalidParam("presence must be online, unavailable or offline")
	}
	msg := ""
	if statusMsg != nil {
		msg = *statusMsg
	}
	if len(msg) > MaxStatusMsgBytes {
		return spec.InvalidParam("status_msg is longer than %d bytes", MaxStatusMsgBytes)
	}
	if strings.IndexByte(msg, 0) >= 0 {
		return spec.BadJSON("status_msg may not contain NUL characters")
	}
	pos, err := s.store.SetPresence(ctx, store.PresenceRecord{
		Localpart: user.Localpart(), State: state, StatusMsg: msg, LastActiveTS: s.opts.Now().UnixMilli(),
	})
	if err != nil {
		return fmt.Errorf("presence: storing: %w", err)
	}
	if s.opts.Notifier != nil {
		s.opts.Notifier.Notify(Stream, pos)
	}
	return nil
}

// Get returns a user's presence; a local user who never set any is
// offline. Errors: 400 M_INVALID_PARAM for a malformed user ID; 404
// M_NOT_FOUND for an unknown or remote user.
//
// NOTSPEC: any authenticated user may read any local user's presence. The
// specification lets servers restrict it to users who share a room; rooms
// are not built yet.
func (s *Service) Get(ctx context.Context, userID string) (Status, error) {
	uid, err := spec.ParseHistoricalUserID(userID)
	if err != nil {
		return Status{}, spec.InvalidParam("invalid user ID")
	}
	if uid.Domain() != s.opts.ServerName {
		// NOTSPEC: remote presence comes over federation, not built yet.
		return Status{}, spec.NotFound("no presence for this user")
	}
	if _, err := s.store.Account(ctx, uid.Localpart()); errors.Is(err, store.ErrNotFound) {
		return Status{}, spec.NotFound("no presence for this user")
	} else if err != nil {
		return Status{}, fmt.Errorf("presence: reading account: %w", err)
	}
	recs, err := s.store.PresenceOf(ctx, []string{uid.Localpart()})
	if err != nil {
		return Status{}, fmt.Errorf("presence: reading: %w", err)
	}
	if len(recs) == 0 {
		return Status{Presence: store.PresenceOffline}, nil
	}
	return s.status(recs[0]), nil
}

func (s *Service) status(r store.PresenceRecord) Status {
	st := Status{Presence: r.State}
	ago := max(s.opts.Now().UnixMilli()-r.LastActiveTS, 0)
	st.LastActiveAgo = &ago
	if r.StatusMsg != "" {
		msg := r.StatusMsg
		st.StatusMsg = &msg
	}
	if r.State == store.PresenceOnline {
		active := ago < ActiveWindow.Milliseconds()
		st.CurrentlyActive = &active
	}
	return st
}

// Event is an m.presence event as /sync delivers it.
type Event struct {
	Type    string       `json:"type"`
	Sender  string       `json:"sender"`
	Content EventContent `json:"content"`
}

// EventContent is m.presence's content: the status and the user's display
// name and avatar URL.
type EventContent struct {
	Status
	DisplayName string `json:"displayname,omitempty"`
	AvatarURL   string `json:"avatar_url,omitempty"`
}

// Since returns the m.presence events of users whose presence position is
// in (after, upTo], oldest change first, with their current profile. The
// caller (sync) keeps those of users the syncing user shares a room with.
func (s *Service) Since(ctx context.Context, after, upTo int64) ([]Event, error) {
	recs, err := s.store.PresenceSince(ctx, after, upTo)
	if err != nil {
		return nil, fmt.Errorf("presence: reading changes: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	lps := make([]string, len(recs))
	for i, r := range recs {
		lps[i] = r.Localpart
	}
	profiles, err := s.store.Profiles(ctx, lps)
	if err != nil {
		return nil, fmt.Errorf("presence: reading profiles: %w", err)
	}
	byUser := make(map[string]store.Profile, len(profiles))
	for _, p := range profiles {
		byUser[p.Localpart] = p
	}
	out := make([]Event, 0, len(recs))
	for _, r := range recs {
		uid, err := spec.NewUserID(r.Localpart, s.opts.ServerName)
		if err != nil {
			continue
		}
		p := byUser[r.Localpart]
		out = append(out, Event{Type: "m.presence", Sender: uid.String(), Content: EventContent{
			Status: s.status(r), DisplayName: p.DisplayName, AvatarURL: p.AvatarURL,
		}})
	}
	return out, nil
}

// Position returns the presence stream's current position: the upTo of a
// sync, and the token of the next one.
func (s *Service) Position(ctx context.Context) (int64, error) {
	pos, err := s.store.PresencePosition(ctx)
	if err != nil {
		return 0, fmt.Errorf("presence: reading position: %w", err)
	}
	return pos, nil
}
