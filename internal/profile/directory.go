package profile

import (
	"context"
	"fmt"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Directory search limits: the specification's default, and our cap.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 100
)

// SearchResult is one user found by the user directory.
type SearchResult struct {
	UserID      string `json:"user_id"`
	DisplayName string `json:"display_name,omitempty"`
	AvatarURL   string `json:"avatar_url,omitempty"`
}

// Search searches the user directory for term on behalf of searcher,
// case-insensitively, in user IDs and display names; limit 0 means the
// default, and it is capped at MaxSearchLimit. limited reports that more
// users matched.
//
// The searcher finds the local users the specification requires at a
// minimum, and no others: users sharing a joined room with the searcher,
// and users joined to a room whose join rule is public or whose history
// is world_readable. Remote users are not searched (the specification's
// SHOULD; there is no federation yet).
func (s *Service) Search(ctx context.Context, searcher spec.UserID, term string, limit int) (results []SearchResult, limited bool, err error) {
	if limit < 0 {
		return nil, false, spec.BadJSON("limit must not be negative")
	}
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	needle := strings.ToLower(strings.TrimSpace(term))
	// A full user ID of this server searches by its localpart.
	if strings.HasPrefix(needle, "@") {
		needle = needle[1:]
		if local, domain, ok := strings.Cut(needle, ":"); ok && domain == strings.ToLower(string(s.opts.ServerName)) {
			needle = local
		}
	}
	if needle == "" {
		return []SearchResult{}, false, nil
	}
	open, err := s.store.OpenRooms(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("profile: searching: %w", err)
	}
	scope := &store.DirectoryScope{Searcher: searcher.String(), Server: string(s.opts.ServerName), OpenRooms: open}
	found, err := s.store.SearchProfiles(ctx, needle, scope, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("profile: searching: %w", err)
	}
	if len(found) > limit {
		found, limited = found[:limit], true
	}
	results = make([]SearchResult, 0, len(found))
	for _, p := range found {
		uid, err := spec.NewUserID(p.Localpart, s.opts.ServerName)
		if err != nil {
			continue
		}
		results = append(results, SearchResult{UserID: uid.String(), DisplayName: p.DisplayName, AvatarURL: p.AvatarURL})
	}
	return results, limited, nil
}
