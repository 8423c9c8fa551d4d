package filter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Service stores and loads users' filters.
type Service struct {
	store store.Filters
}

// New returns the service over st.
func New(st store.Filters) *Service { return &Service{store: st} }

// Create validates a filter (raw JSON, already checked to be valid JSON)
// and stores it for the user, returning its ID. Errors: as Parse.
func (s *Service) Create(ctx context.Context, user spec.UserID, data json.RawMessage) (string, error) {
	if _, err := Parse(data); err != nil {
		return "", err
	}
	id, err := s.store.CreateFilter(ctx, user.Localpart(), data)
	if err != nil {
		return "", fmt.Errorf("filter: storing: %w", err)
	}
	return strconv.FormatInt(id, 10), nil
}

// Get returns the JSON of one of the user's stored filters. Errors: 404
// M_NOT_FOUND for an unknown ID.
func (s *Service) Get(ctx context.Context, user spec.UserID, filterID string) (json.RawMessage, error) {
	id, err := strconv.ParseInt(filterID, 10, 64)
	if err != nil || id <= 0 {
		return nil, spec.NotFound("no such filter")
	}
	data, err := s.store.Filter(ctx, user.Localpart(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, spec.NotFound("no such filter")
	}
	if err != nil {
		return nil, fmt.Errorf("filter: reading: %w", err)
	}
	return data, nil
}

// Load resolves a filter parameter as /sync takes it: inline filter JSON
// when it starts with '{', else the ID of one of the user's stored filters;
// "" is the empty filter. Errors: as Parse for inline JSON (and 400
// M_NOT_JSON when it is not JSON); 404 M_NOT_FOUND for an unknown ID.
func (s *Service) Load(ctx context.Context, user spec.UserID, param string) (*Filter, error) {
	switch {
	case param == "":
		return &Filter{}, nil
	case strings.HasPrefix(param, "{"):
		if !json.Valid([]byte(param)) {
			return nil, spec.NotJSON("the filter is not valid JSON")
		}
		return Parse([]byte(param))
	}
	data, err := s.Get(ctx, user, param)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("filter: stored filter %s of %s: %w", param, user, err)
	}
	return f, nil
}
