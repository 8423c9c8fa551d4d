package httpapi_test

import (
	"net/url"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestEncryptionEventCannotBeRedacted checks that redacting a room's
// m.room.encryption event, which would leave its content empty and turn the
// room's encryption off for clients, is refused with 403 M_FORBIDDEN
// through both ways of redacting, and leaves the room encrypted.
func TestEncryptionEventCannotBeRedacted(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		room := alice.call(t, hs, "POST", "createRoom", map[string]any{"preset": "private_chat"}).expect(t, 200, "").str("room_id")
		r := url.PathEscape(room)
		enc := alice.call(t, hs, "GET", "rooms/"+r+"/state/m.room.encryption/?format=event", nil).expect(t, 200, "").str("event_id")
		if enc == "" {
			t.Fatal("the room has no m.room.encryption event")
		}
		alice.call(t, hs, "PUT", "rooms/"+r+"/redact/"+url.PathEscape(enc)+"/t1", map[string]any{"reason": "off"}).expect(t, 403, "M_FORBIDDEN")
		alice.call(t, hs, "PUT", "rooms/"+r+"/send/m.room.redaction/t2", map[string]any{"redacts": enc}).expect(t, 403, "M_FORBIDDEN")
		if got := alice.call(t, hs, "GET", "rooms/"+r+"/state/m.room.encryption/", nil).expect(t, 200, "").str("algorithm"); got != "m.megolm.v1.aes-sha2" {
			t.Fatalf("algorithm after refused redactions = %q", got)
		}
		// Messages can still be redacted.
		msg := alice.call(t, hs, "PUT", "rooms/"+r+"/send/m.room.message/m1", map[string]any{"msgtype": "m.text", "body": "x"}).expect(t, 200, "").str("event_id")
		alice.call(t, hs, "PUT", "rooms/"+r+"/redact/"+url.PathEscape(msg)+"/t3", map[string]any{}).expect(t, 200, "")
	})
}

// TestSameStateAfterRedaction checks that setting state again with the
// content of a current state event that was redacted makes a new event
// (the redacted one no longer has that content).
func TestSameStateAfterRedaction(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		r := url.PathEscape(alice.call(t, hs, "POST", "createRoom", map[string]any{}).expect(t, 200, "").str("room_id"))
		topic := alice.call(t, hs, "PUT", "rooms/"+r+"/state/m.room.topic/", map[string]any{"topic": "t"}).expect(t, 200, "").str("event_id")
		alice.call(t, hs, "PUT", "rooms/"+r+"/redact/"+url.PathEscape(topic)+"/t1", map[string]any{}).expect(t, 200, "")
		again := alice.call(t, hs, "PUT", "rooms/"+r+"/state/m.room.topic/", map[string]any{"topic": "t"}).expect(t, 200, "").str("event_id")
		if again == topic {
			t.Fatalf("setting the topic again returned the redacted event %s", topic)
		}
		if got := alice.call(t, hs, "GET", "rooms/"+r+"/state/m.room.topic/", nil).expect(t, 200, "").str("topic"); got != "t" {
			t.Fatalf("topic = %q, want t", got)
		}
	})
}
