package room

import (
	"encoding/json"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Search keys (POST /search, room_events).
const (
	SearchKeyBody  = "content.body"
	SearchKeyName  = "content.name"
	SearchKeyTopic = "content.topic"
)

// searchTextsOf returns the searchable texts of an event, lower-cased
// ("Server Side Search": content.body of m.room.message, content.name of
// m.room.name, content.topic and the text/plain body of content.m.topic of
// m.room.topic). Encrypted events have none.
func searchTextsOf(ev *pdu.Event) []store.SearchText {
	var c struct {
		Body   any `json:"body"`
		Name   any `json:"name"`
		Topic  any `json:"topic"`
		MTopic *struct {
			Text []struct {
				MimeType *string `json:"mimetype"`
				Body     any     `json:"body"`
			} `json:"m.text"`
		} `json:"m.topic"`
	}
	var key string
	var texts []any
	switch {
	case ev.Type() == spec.MRoomMessage && !ev.IsState():
		key = SearchKeyBody
	case ev.Type() == spec.MRoomName && ev.StateKeyEquals(""):
		key = SearchKeyName
	case ev.Type() == spec.MRoomTopic && ev.StateKeyEquals(""):
		key = SearchKeyTopic
	default:
		return nil
	}
	if json.Unmarshal(ev.Content(), &c) != nil {
		return nil
	}
	switch key {
	case SearchKeyBody:
		texts = append(texts, c.Body)
	case SearchKeyName:
		texts = append(texts, c.Name)
	case SearchKeyTopic:
		texts = append(texts, c.Topic)
		if c.MTopic != nil {
			for _, t := range c.MTopic.Text {
				if t.MimeType == nil || *t.MimeType == "text/plain" {
					texts = append(texts, t.Body)
				}
			}
		}
	}
	var parts []string
	for _, t := range texts {
		if s, ok := t.(string); ok && s != "" {
			parts = append(parts, strings.ToLower(s))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return []store.SearchText{{Key: key, Value: strings.Join(parts, "\n")}}
}
