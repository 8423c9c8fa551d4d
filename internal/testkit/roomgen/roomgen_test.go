package roomgen

import (
	"testing"

	"myelin/internal/eventauth"
	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// TestGenerateValid checks, for every room version, that generated histories
// are valid: every event passes the auth rules against its auth events, its
// auth events come before it, and the branches really fork.
func TestGenerateValid(t *testing.T) {
	for _, v := range spec.RoomVersions() {
		for seed := range uint64(5) {
			room, err := Generate(Options{Version: v, Seed: seed, Branches: 4})
			if err != nil {
				t.Fatalf("v%s seed %d: %v", v.ID, seed, err)
			}
			if len(room.Tips) != 4 {
				t.Errorf("v%s seed %d: %d tips, want 4", v.ID, seed, len(room.Tips))
			}
			seen := map[string]bool{}
			for _, ev := range room.Order {
				var auth []*pdu.Event
				for _, id := range ev.AuthEventIDs() {
					if !seen[id] {
						t.Fatalf("v%s: auth event %s of %s comes later", v.ID, id, ev.EventID())
					}
					auth = append(auth, room.Events[id])
				}
				if err := eventauth.CheckAuthEvents(ev, auth); err != nil {
					t.Errorf("v%s: %s: %v", v.ID, ev.EventID(), err)
				}
				st := eventauth.StateFromEvents(auth)
				if v.CreateEventHasNoRoomID && ev.Type() != spec.MRoomCreate {
					st[spec.StateKeyTuple{Type: spec.MRoomCreate}] = room.Events[pdu.CreateEventIDForRoom(room.ID)]
				}
				if err := eventauth.Check(ev, st); err != nil {
					t.Errorf("v%s: %s %s: %v", v.ID, ev.Type(), ev.EventID(), err)
				}
				seen[ev.EventID()] = true
			}
			if seed == 0 {
				t.Logf("v%s: %d events, %d setup", v.ID, len(room.Order), room.Setup)
			}
		}
	}
}

// TestGenerateVariety checks that histories contain every kind of event
// the generator promises, forks and merges.
func TestGenerateVariety(t *testing.T) {
	seen := map[string]int{}
	merge := func(room *Room, states []State) (State, error) {
		// A naive merge is enough here: the first state, which every
		// branch tip's state is a valid state of the room.
		return states[0], nil
	}
	for _, v := range spec.RoomVersions() {
		for seed := range uint64(4) {
			room, err := Generate(Options{Version: v, Seed: seed, Branches: 4, Merge: merge})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range room.Order[room.Setup:] {
				kind := ev.Type()
				if m, err := ev.Membership(); err == nil {
					kind = m
					if m == spec.MembershipLeave && !ev.StateKeyEquals(ev.Sender()) {
						kind = "kick"
					}
				}
				seen[kind]++
				if len(ev.PrevEventIDs()) > 1 {
					seen["merge"]++
				}
			}
		}
	}
	for _, kind := range []string{
		spec.MRoomPowerLevels, spec.MRoomJoinRules, spec.MRoomTopic, spec.MRoomName, spec.MRoomMessage, spec.MRoomRedaction,
		spec.MembershipJoin, spec.MembershipLeave, spec.MembershipInvite, spec.MembershipBan, spec.MembershipKnock, "kick", "merge",
	} {
		if seen[kind] == 0 {
			t.Errorf("no %s event generated", kind)
		}
	}
	t.Logf("events by kind: %v", seen)
}
