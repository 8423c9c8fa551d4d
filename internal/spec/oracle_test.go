package spec

import (
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"
)

// TestRoomVersionsAgainstGMSL compares the room-version table with the
// independent one in gomatrixserverlib, for the features both describe.
func TestRoomVersionsAgainstGMSL(t *testing.T) {
	for _, v := range RoomVersions() {
		o, err := gmsl.GetRoomVersion(gmsl.RoomVersion(v.ID))
		if err != nil {
			t.Fatalf("oracle lacks room version %s: %v", v.ID, err)
		}
		if got, want := int(v.StateRes), int(o.StateResAlgorithm()); got != want {
			t.Errorf("v%s: state res %d, oracle %d", v.ID, got, want)
		}
		if got, want := int(v.EventIDFormat), int(o.EventIDFormat()); got != want {
			t.Errorf("v%s: event ID format %d, oracle %d", v.ID, got, want)
		}
		if got, want := v.RoomIDFormat == RoomIDCreateHash, o.DomainlessRoomIDs(); got != want {
			t.Errorf("v%s: domainless room IDs %v, oracle %v", v.ID, got, want)
		}
		if got, want := v.PrivilegedCreators, o.PrivilegedCreators(); got != want {
			t.Errorf("v%s: privileged creators %v, oracle %v", v.ID, got, want)
		}
		if got, want := !v.CreatorFromSender, o.CreatorInCreateEvent(); got != want {
			t.Errorf("v%s: creator in create event %v, oracle %v", v.ID, got, want)
		}
		if got, want := v.Restricted, o.CheckRestrictedJoinsAllowed() == nil; got != want {
			t.Errorf("v%s: restricted joins %v, oracle %v", v.ID, got, want)
		}
	}
}
