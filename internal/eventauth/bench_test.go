package eventauth

import (
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// BenchmarkCheck compares Check with gomatrixserverlib's Allowed on a
// typical join (a new user joining a public room) and a typical message, in
// a v12 std room. Both get the state prepared once: a StateMap for us, an
// AuthEvents for the oracle.
func BenchmarkCheck(b *testing.B) {
	v := spec.MustRoomVersion(spec.DefaultRoomVersion)
	r := stdRoom(b, v)
	inputs := []struct {
		name string
		ev   *pdu.Event
	}{
		{"join", r.member(carol, carol, "join", map[string]any{"displayname": "Carol"})},
		{"message", r.msg(bob)},
	}
	rv := gmsl.MustGetRoomVersion(gmsl.RoomVersion(v.ID))
	var pdus []gmsl.PDU
	for _, e := range r.state {
		p, err := rv.NewEventFromTrustedJSON(e.JSON(), false)
		if err != nil {
			b.Fatal(err)
		}
		pdus = append(pdus, p)
	}
	auth, err := gmsl.NewAuthEvents(pdus)
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range inputs {
		gev, err := rv.NewEventFromTrustedJSON(in.ev.JSON(), false)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name+"/myelin", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Check(in.ev, r.state); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/gmsl", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := gmsl.Allowed(gev, auth, oracleUserID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
