package room

import (
	"context"
	"fmt"

	"myelin/internal/spec"
)

// LeaveAllRooms makes user leave every room they are joined to, invited to
// or knocking on, as account deactivation requires ("the server SHOULD make
// the user leave all rooms"). Each leave is its own write; on the first
// failure it stops and returns the error, having left the rooms before it,
// so calling it again finishes the job.
func (e *Engine) LeaveAllRooms(ctx context.Context, user spec.UserID) error {
	ms, err := e.store.UserMemberships(ctx, user.String())
	if err != nil {
		return fmt.Errorf("listing rooms of %s: %w", user, err)
	}
	s := Sender{UserID: user}
	for _, m := range ms {
		switch m.Membership {
		case spec.MembershipJoin, spec.MembershipInvite, spec.MembershipKnock:
			if err := e.Leave(ctx, s, m.RoomID, ""); err != nil {
				return fmt.Errorf("leaving %s: %w", m.RoomID, err)
			}
		}
	}
	return nil
}
