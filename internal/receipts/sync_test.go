package receipts

import (
	"encoding/json"
	"testing"

	"myelin/internal/store"
)

func TestEvents(t *testing.T) {
	rs := []store.Receipt{
		{UserID: "@a:x", Type: TypeRead, EventID: "$1", TS: 1},
		{UserID: "@b:x", Type: TypeRead, EventID: "$1", TS: 2, ThreadID: ThreadMain},
		{UserID: "@a:x", Type: TypeReadPrivate, EventID: "$1", TS: 3},
		// The same user, type and event as the first, for a thread: it
		// cannot share the first event's content.
		{UserID: "@a:x", Type: TypeRead, EventID: "$1", TS: 4, ThreadID: "$root"},
		{UserID: "@a:x", Type: TypeRead, EventID: "$2", TS: 5, ThreadID: ThreadMain},
	}
	evs, err := Events(rs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"type":"m.receipt","content":{"$1":{"m.read":{"@a:x":{"ts":1},"@b:x":{"ts":2,"thread_id":"main"}},"m.read.private":{"@a:x":{"ts":3}}},"$2":{"m.read":{"@a:x":{"ts":5,"thread_id":"main"}}}}}`,
		`{"type":"m.receipt","content":{"$1":{"m.read":{"@a:x":{"ts":4,"thread_id":"$root"}}}}}`,
	}
	if len(evs) != len(want) {
		t.Fatalf("Events = %s", evs)
	}
	for i := range want {
		if !jsonEqual(t, evs[i], want[i]) {
			t.Errorf("event %d = %s\nwant %s", i, evs[i], want[i])
		}
	}
	if evs, err := Events(nil); err != nil || len(evs) != 0 {
		t.Fatalf("Events(nil) = %s, %v", evs, err)
	}
}

func TestCheckThread(t *testing.T) {
	threaded := store.Event{ID: "$t", JSON: []byte(`{"content":{"m.relates_to":{"rel_type":"m.thread","event_id":"$root"}}}`)}
	plain := store.Event{ID: "$p", JSON: []byte(`{"content":{"body":"x"}}`)}
	reaction := store.Event{ID: "$r", JSON: []byte(`{"content":{"m.relates_to":{"rel_type":"m.annotation","event_id":"$t"}}}`)}
	for _, tc := range []struct {
		ev     store.Event
		thread string
		ok     bool
	}{
		{threaded, "$root", true},
		{threaded, ThreadMain, false},
		{threaded, "$other", false},
		{plain, ThreadMain, true},
		{plain, "$root", true},
		{reaction, "$root", true},
		{store.Event{ID: "$x", JSON: threaded.JSON, RedactedBy: "$red"}, ThreadMain, true},
	} {
		if err := checkThreadOf(tc.ev, tc.thread); (err == nil) != tc.ok {
			t.Errorf("checkThreadOf(%s, %q) = %v, want ok=%v", tc.ev.ID, tc.thread, err, tc.ok)
		}
	}
	for id, ok := range map[string]bool{"main": true, "$abc": true, "$abc:x": true, "": false, "thread": false, "!room:x": false} {
		if err := checkThreadID(id); (err == nil) != ok {
			t.Errorf("checkThreadID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

func jsonEqual(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
