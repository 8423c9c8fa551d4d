package pdu

import (
	"testing"

	"myelin/internal/spec"
)

// typicalEvent is an m.room.message of a v11 room as it arrives over
// federation.
func typicalEvent(b *testing.B) (*spec.RoomVersion, []byte) {
	v := spec.MustRoomVersion("11")
	e := buildTest(b, v, Builder{
		Type: "m.room.message", Sender: "@alice:example.org",
		Content: map[string]any{
			"body": "Hello, how are you doing today? This is a typical chat message.", "msgtype": "m.text",
			"m.mentions": map[string]any{"user_ids": []any{"@bob:example.org"}},
		},
		Unsigned: map[string]any{"age": 1234},
	})
	return v, e.JSON()
}

// BenchmarkParse compares Parse with the oracle's NewEventFromUntrustedJSON
// (which also checks the content hash; the myelin case does too).
func BenchmarkParse(b *testing.B) {
	v, raw := typicalEvent(b)
	b.Run("myelin", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e, err := Parse(v, raw)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.CheckContentHash(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl", func(b *testing.B) {
		b.ReportAllocs()
		o := oracle(v)
		for i := 0; i < b.N; i++ {
			e, err := o.NewEventFromUntrustedJSON(raw)
			if err != nil {
				b.Fatal(err)
			}
			_ = e.EventID()
		}
	})
}

// BenchmarkRedact compares Redact with the oracle's RedactEventJSON.
func BenchmarkRedact(b *testing.B) {
	v, raw := typicalEvent(b)
	b.Run("myelin", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := Redact(v, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl", func(b *testing.B) {
		b.ReportAllocs()
		o := oracle(v)
		for i := 0; i < b.N; i++ {
			if _, err := o.RedactEventJSON(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
