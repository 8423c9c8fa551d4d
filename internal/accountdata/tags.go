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

// parseTags validates m.tag content, {"tags": {name: {"order": number,
// ...}}}; a missing tags key means no tags. Errors are 400 M_BAD_JSON.
func parseTags(content json.RawMessage) (map[string]json.RawMessage, error) {
	var c struct {
		Tags map[string]json.RawMessage `json:"tags"`
	}
	if err := json.Unmarshal(content, &c); err != nil {
		return nil, spec.BadJSON("tags must be an object")
	}
	if c.Tags == nil {
		c.Tags = map[string]json.RawMessage{}
	}
	for name, v := range c.Tags {
		if len(name) > MaxTagBytes {
			return nil, spec.BadJSON("tag names are at most %d bytes", MaxTagBytes)
		}
		if err := checkTagContent(v); err != nil {
			return nil, err
		}
	}
	return c.Tags, nil
}

// checkTagContent checks a tag's object (tag.yaml): order, if present, is a
// number.
func checkTagContent(v json.RawMessage) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(v, &obj) != nil || obj == nil {
		return spec.BadJSON("a tag's content must be an object")
	}
	if o, ok := obj["order"]; ok {
		var f float64
		if json.Unmarshal(o, &f) != nil {
			return spec.BadJSON("a tag's order must be a number")
		}
	}
	return nil
}

func checkTag(tag string) error {
	if tag == "" || len(tag) > MaxTagBytes || !utf8.ValidString(tag) || containsNUL(tag) {
		return spec.InvalidParam("tag names are 1 to %d bytes of UTF-8", MaxTagBytes)
	}
	return nil
}

// Tags returns the user's tags on a room, as the tags object of m.tag
// (empty when none). Errors: 400 M_INVALID_PARAM for a bad room ID.
func (s *Service) Tags(ctx context.Context, user spec.UserID, roomID string) (map[string]json.RawMessage, error) {
	if roomID == "" {
		return nil, spec.InvalidParam("no room ID")
	}
	if err := checkRoom(roomID); err != nil {
		return nil, err
	}
	r, err := s.store.AccountData(ctx, user.Localpart(), roomID, TypeTag)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("accountdata: reading tags: %w", err)
	}
	tags, err := parseTags(r.Content)
	if err != nil {
		return nil, fmt.Errorf("accountdata: stored m.tag of %s in %s: %w", user, roomID, err)
	}
	return tags, nil
}

// updateTags applies change to the room's tags atomically. change returns
// false when nothing changed, and then nothing is written.
func (s *Service) updateTags(ctx context.Context, user spec.UserID, roomID string, change func(tags map[string]json.RawMessage) bool) error {
	if roomID == "" {
		return spec.InvalidParam("no room ID")
	}
	if err := checkRoom(roomID); err != nil {
		return err
	}
	pos, err := s.store.UpdateAccountData(ctx, user.Localpart(), roomID, TypeTag, func(cur json.RawMessage) (json.RawMessage, error) {
		var c map[string]json.RawMessage
		tags := map[string]json.RawMessage{}
		if cur != nil {
			if err := json.Unmarshal(cur, &c); err != nil {
				return nil, fmt.Errorf("stored m.tag: %w", err)
			}
			if parsed, err := parseTags(cur); err == nil {
				tags = parsed
			}
		}
		if !change(tags) {
			return nil, nil
		}
		if c == nil {
			c = map[string]json.RawMessage{}
		}
		b, err := json.Marshal(tags)
		if err != nil {
			return nil, err
		}
		c["tags"] = b
		return json.Marshal(c)
	})
	var se *spec.Error
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("accountdata: storing tags: %w", err)
	}
	if err == nil {
		s.notified(pos)
	}
	return err
}

// SetTag adds or replaces a tag on a room; content is the tag's object.
// Errors: 400 M_INVALID_PARAM for a bad room ID or tag name; 400
// M_BAD_JSON for content that is not a tag object.
func (s *Service) SetTag(ctx context.Context, user spec.UserID, roomID, tag string, content json.RawMessage) error {
	if err := checkTag(tag); err != nil {
		return err
	}
	if err := checkTagContent(content); err != nil {
		return err
	}
	return s.updateTags(ctx, user, roomID, func(tags map[string]json.RawMessage) bool {
		tags[tag] = content
		return true
	})
}

// DeleteTag removes a tag from a room; removing an absent tag changes
// nothing and succeeds. Errors: 400 M_INVALID_PARAM for a bad room ID or
// tag name.
func (s *Service) DeleteTag(ctx context.Context, user spec.UserID, roomID, tag string) error {
	if err := checkTag(tag); err != nil {
		return err
	}
	return s.updateTags(ctx, user, roomID, func(tags map[string]json.RawMessage) bool {
		if _, ok := tags[tag]; !ok {
			return false
		}
		delete(tags, tag)
		return true
	})
}
