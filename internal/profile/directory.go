package profile

import (
	"context"
	"fmt"
	"strings"

	"myelin/internal/spec"
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

// Search searches the user directory for term, case-insensitively, in
// user IDs and display names; limit 0 means the default, and it is capped
// at MaxSearchLimit. limited reports that more users matched.
//
// NOTSPEC: the specification asks for at least the users who share a room
// with the searcher or are joined to public or world-readable rooms; rooms
// are not built yet, so every active local user is searchable. When rooms
// exist, this must narrow to that set (and may add remote users).
func (s *Service) Search(ctx context.Context, term string, limit int) (results []SearchResult, limited bool, err error) {
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
	found, err := s.store.SearchProfiles(ctx, needle, limit+1)
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
