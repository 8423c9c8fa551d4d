package room

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/testkit/testdb"
)

var megolm = json.RawMessage(`{"algorithm":"m.megolm.v1.aes-sha2"}`)

// wantCode fails unless err is a *spec.Error with the errcode, or nil
// when code is "".
func wantCode(t *testing.T, what string, err error, code spec.ErrCode) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	if se := (*spec.Error)(nil); !errors.As(err, &se) || se.Code != code {
		t.Fatalf("%s = %v, want %s", what, err, code)
	}
}

// TestEncryptionCannotBeRedacted checks that a room's m.room.encryption
// event cannot be redacted by a local client (not even by its sender or an
// administrator), and that the rule "an encrypted room's encryption cannot
// be removed" holds when the encryption event was redacted anyway (as a
// redaction received over federation would) or reached the server already
// pruned.
func TestEncryptionCannotBeRedacted(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, e)
			eng := newEngine(t, st)
			alice := sender(t, "@alice:a.test")
			admin := sender(t, "@admin:a.test")
			admin.Admin = true
			roomID, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat,
				InitialState: []StateEvent{{Type: spec.MRoomEncryption, Content: megolm}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Join(ctx, admin, roomID, ""); err != nil {
				t.Fatal(err)
			}
			encEv, err := eng.StateEvent(ctx, Viewer{UserID: alice.UserID.String()}, roomID, spec.MRoomEncryption, "", true)
			if err != nil {
				t.Fatal(err)
			}
			var enc struct {
				EventID string `json:"event_id"`
			}
			json.Unmarshal(encEv, &enc)

			_, err = eng.Redact(ctx, alice, roomID, enc.EventID, "r1", "")
			wantCode(t, "redact by the sender", err, spec.ErrForbidden)
			_, err = eng.Redact(ctx, admin, roomID, enc.EventID, "r2", "")
			wantCode(t, "redact by an administrator", err, spec.ErrForbidden)
			_, err = eng.SendMessage(ctx, alice, roomID, spec.MRoomRedaction, "r3", json.RawMessage(`{"redacts":"`+enc.EventID+`"}`))
			wantCode(t, "m.room.redaction through send", err, spec.ErrForbidden)
			// Other events may still be redacted.
			msg, err := eng.SendMessage(ctx, alice, roomID, "m.room.message", "m1", json.RawMessage(`{"body":"x"}`))
			wantCode(t, "send", err, "")
			_, err = eng.Redact(ctx, alice, roomID, msg, "r4", "")
			wantCode(t, "redact a message", err, "")
			content, err := eng.StateEvent(ctx, Viewer{UserID: alice.UserID.String()}, roomID, spec.MRoomEncryption, "", false)
			if err != nil || string(content) != string(megolm) {
				t.Fatalf("encryption content after refused redactions = %s, %v", content, err)
			}

			// A redaction accepted without the local check (as one from
			// another server would be) leaves the rule in force.
			ri, err := eng.room(ctx, roomID)
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.write(ctx, ri, func(w *writer) error {
				_, err := w.send(localEvent{Type: spec.MRoomRedaction, Sender: alice.UserID.String(), Redacts: enc.EventID, RedactionAccepted: true})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			content, _ = eng.StateEvent(ctx, Viewer{UserID: alice.UserID.String()}, roomID, spec.MRoomEncryption, "", false)
			if string(content) != "{}" {
				t.Fatalf("encryption content after a redaction = %s, want {}", content)
			}
			for _, c := range []string{`{}`, `{"algorithm":"m.olm.v1.curve25519-aes-sha2"}`} {
				_, err = eng.SendState(ctx, alice, roomID, spec.MRoomEncryption, "", json.RawMessage(c))
				wantCode(t, "state "+c+" after the redaction", err, spec.ErrForbidden)
			}
			// Its sender may set it again, which makes a new event: the
			// room reads as encrypted again.
			again, err := eng.SendState(ctx, alice, roomID, spec.MRoomEncryption, "", megolm)
			wantCode(t, "the same algorithm again after the redaction", err, "")
			content, _ = eng.StateEvent(ctx, Viewer{UserID: alice.UserID.String()}, roomID, spec.MRoomEncryption, "", false)
			if again == enc.EventID || string(content) != string(megolm) {
				t.Fatalf("setting the algorithm again = %s with content %s; want a new event with %s", again, content, megolm)
			}

			// An encryption event that arrives pruned (its content hash no
			// longer matches) still marks the room as encrypted.
			pruned, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat})
			if err != nil {
				t.Fatal(err)
			}
			if ri, err = eng.room(ctx, pruned); err != nil {
				t.Fatal(err)
			}
			if err := eng.write(ctx, ri, func(w *writer) error {
				x, err := w.extremities()
				if err != nil {
					return err
				}
				_, before, err := w.stateBefore(x)
				if err != nil {
					return err
				}
				empty := ""
				ev, err := w.build(localEvent{Type: spec.MRoomEncryption, StateKey: &empty, Sender: alice.UserID.String(), Content: megolm}, x, before)
				if err != nil {
					return err
				}
				red, err := ev.Redact()
				if err != nil {
					return err
				}
				parsed, err := pdu.Parse(ri.Version, red.JSON())
				if err != nil {
					return err
				}
				return w.ingest(parsed)
			}); err != nil {
				t.Fatal(err)
			}
			_, err = eng.SendState(ctx, alice, pruned, spec.MRoomEncryption, "", json.RawMessage(`{"rotation_period_ms":1}`))
			wantCode(t, "removing the algorithm of a pruned encryption event", err, spec.ErrForbidden)
			_, err = eng.SendState(ctx, alice, pruned, spec.MRoomEncryption, "", megolm)
			wantCode(t, "setting an algorithm over a pruned encryption event", err, "")

			// An m.room.encryption without an algorithm that was never
			// redacted does not encrypt a room: it may be replaced by
			// another one.
			plain, err := eng.CreateRoom(ctx, alice, CreateRoomRequest{Preset: PresetPublicChat,
				InitialState: []StateEvent{{Type: spec.MRoomEncryption, Content: json.RawMessage(`{"x":1}`)}}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = eng.SendState(ctx, alice, plain, spec.MRoomEncryption, "", json.RawMessage(`{"x":2}`))
			wantCode(t, "replacing an m.room.encryption without an algorithm", err, "")
		})
	}
}
