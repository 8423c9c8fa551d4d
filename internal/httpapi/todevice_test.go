package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// toDeviceSync is the to-device part of a sync response.
type toDeviceSync struct {
	NextBatch string `json:"next_batch"`
	ToDevice  struct {
		Events []struct {
			Sender  string         `json:"sender"`
			Type    string         `json:"type"`
			Content map[string]any `json:"content"`
		} `json:"events"`
	} `json:"to_device"`
}

func (d *e2eDevice) syncToDevice(t *testing.T, hs *testserver.Server, since string, timeoutMS int) toDeviceSync {
	t.Helper()
	path := fmt.Sprintf("sync?timeout=%d", timeoutMS)
	if since != "" {
		path += "&since=" + url.QueryEscape(since)
	}
	r := d.call(t, hs, "GET", path, nil).expect(t, 200, "")
	var s toDeviceSync
	if err := json.Unmarshal([]byte(r.raw), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestToDevice(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob1 := e2eLogin(t, hs, "bob", "BOB1")
		bob2 := e2eLogin(t, hs, "bob", "BOB2")
		since1 := bob1.syncToDevice(t, hs, "", 0).NextBatch
		since2 := bob2.syncToDevice(t, hs, "", 0).NextBatch

		send := func(typ, txn string, messages map[string]any) {
			t.Helper()
			alice.call(t, hs, "PUT", "sendToDevice/"+typ+"/"+txn, map[string]any{"messages": messages}).expect(t, 200, "")
		}
		send("m.test", "t1", map[string]any{bob1.user: map[string]any{"*": map[string]any{"n": 1}}})
		send("m.test", "t2", map[string]any{bob1.user: map[string]any{"BOB1": map[string]any{"n": 2}, "NOSUCH": map[string]any{"n": 0}}})
		// A retried transaction is delivered once.
		send("m.test", "t2", map[string]any{bob1.user: map[string]any{"BOB1": map[string]any{"n": 2}}})

		s := bob1.syncToDevice(t, hs, since1, 1000)
		if len(s.ToDevice.Events) != 2 || s.ToDevice.Events[0].Content["n"] != 1.0 || s.ToDevice.Events[1].Content["n"] != 2.0 ||
			s.ToDevice.Events[0].Sender != alice.user || s.ToDevice.Events[0].Type != "m.test" {
			t.Fatalf("BOB1 to_device = %+v", s.ToDevice)
		}
		// Not acknowledged yet: the same since gets them again, also after
		// a restart.
		restart(hs)
		if again := bob1.syncToDevice(t, hs, since1, 0); len(again.ToDevice.Events) != 2 {
			t.Fatalf("BOB1 to_device again = %+v", again.ToDevice)
		}
		// Syncing past them acknowledges them.
		if next := bob1.syncToDevice(t, hs, s.NextBatch, 0); len(next.ToDevice.Events) != 0 {
			t.Fatalf("BOB1 to_device after acknowledging = %+v", next.ToDevice)
		}
		if again := bob1.syncToDevice(t, hs, since1, 0); len(again.ToDevice.Events) != 0 {
			t.Fatalf("acknowledged messages came back: %+v", again.ToDevice)
		}
		if s2 := bob2.syncToDevice(t, hs, since2, 0); len(s2.ToDevice.Events) != 1 || s2.ToDevice.Events[0].Content["n"] != 1.0 {
			t.Fatalf("BOB2 to_device = %+v", s2.ToDevice)
		}

		// A long queue comes in order, 100 per sync.
		since1 = bob1.syncToDevice(t, hs, s.NextBatch, 0).NextBatch
		for i := 0; i < 150; i++ {
			send("m.seq", fmt.Sprint("s", i), map[string]any{bob1.user: map[string]any{"BOB1": map[string]any{"i": i}}})
		}
		var got []float64
		for len(got) < 150 {
			s := bob1.syncToDevice(t, hs, since1, 1000)
			if len(s.ToDevice.Events) == 0 || len(s.ToDevice.Events) > 100 {
				t.Fatalf("a sync delivered %d messages (after %d)", len(s.ToDevice.Events), len(got))
			}
			for _, ev := range s.ToDevice.Events {
				got = append(got, ev.Content["i"].(float64))
			}
			since1 = s.NextBatch
		}
		for i, v := range got {
			if v != float64(i) {
				t.Fatalf("message %d is %v: out of order", i, v)
			}
		}

		// A long-poll wakes for a to-device message.
		done := make(chan toDeviceSync)
		go func() { done <- bob1.syncToDevice(t, hs, since1, 10000) }()
		send("m.wake", "w1", map[string]any{bob1.user: map[string]any{"BOB1": map[string]any{}}})
		if s := <-done; len(s.ToDevice.Events) != 1 || s.ToDevice.Events[0].Type != "m.wake" {
			t.Fatalf("long-poll got %+v", s.ToDevice)
		}
	})
}

func TestToDeviceBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		hs := testserver.Start(t, e)
		alice := e2eLogin(t, hs, "alice", "ALICE1")
		bob := e2eLogin(t, hs, "bob", "BOB1")
		since := bob.syncToDevice(t, hs, "", 0).NextBatch
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			errcode    string
		}{
			{"not JSON", "sendToDevice/m.test/1", `{"messages":`, 400, "M_NOT_JSON"},
			{"no messages", "sendToDevice/m.test/2", map[string]any{}, 400, "M_BAD_JSON"},
			{"messages not an object", "sendToDevice/m.test/3", map[string]any{"messages": []int{1}}, 400, "M_BAD_JSON"},
			{"content not an object", "sendToDevice/m.test/4", map[string]any{"messages": map[string]any{bob.user: map[string]any{"BOB1": "x"}}}, 400, "M_BAD_JSON"},
			{"invalid user ID", "sendToDevice/m.test/5", map[string]any{"messages": map[string]any{"bob": map[string]any{"BOB1": map[string]any{}}}}, 400, "M_INVALID_PARAM"},
			{"empty device ID", "sendToDevice/m.test/6", map[string]any{"messages": map[string]any{bob.user: map[string]any{"": map[string]any{}}}}, 400, "M_INVALID_PARAM"},
			{"over-long event type", "sendToDevice/" + strings.Repeat("t", 300) + "/7", map[string]any{"messages": map[string]any{}}, 400, "M_INVALID_PARAM"},
			{"over-size body", "sendToDevice/m.test/8", `{"messages":{},"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				alice.call(t, hs, "PUT", tc.path, tc.body).expect(t, tc.status, tc.errcode)
			})
		}
		call(t, hs, "PUT", "/_matrix/client/v3/sendToDevice/m.test/9", "", map[string]any{"messages": map[string]any{}}).expect(t, 401, "M_MISSING_TOKEN")
		// Nothing was delivered; a message to a remote user is dropped.
		alice.call(t, hs, "PUT", "sendToDevice/m.test/10", map[string]any{"messages": map[string]any{"@carol:elsewhere.example": map[string]any{"*": map[string]any{}}}}).expect(t, 200, "")
		if s := bob.syncToDevice(t, hs, since, 0); len(s.ToDevice.Events) != 0 {
			t.Fatalf("refused requests delivered %+v", s.ToDevice)
		}
	})
}
