package pdu

import (
	"fmt"

	"myelin/internal/spec"
)

// Membership returns content.membership of an m.room.member event. It
// fails if the event is not an m.room.member state event or has no string
// membership; what that means for authorisation is for the auth rules to
// decide.
func (e *Event) Membership() (string, error) {
	if e.typ != spec.MRoomMember || e.stateKey == nil {
		return "", fmt.Errorf("event %s is not an m.room.member state event", e.eventID)
	}
	if !e.hasMembership {
		return "", fmt.Errorf("event %s: content has no string membership", e.eventID)
	}
	return e.membership, nil
}
