package room

import (
	"context"
	"errors"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// This file holds what the room directory (package directory) asks of the
// engine.

// MaySetState reports whether user is joined to a room and, by its current
// power levels (room creators included), may send a state event of
// eventType there. The published room directory lets such users of
// m.room.canonical_alias change a room's visibility. Errors: 404
// M_NOT_FOUND for a room this server does not know.
func (e *Engine) MaySetState(ctx context.Context, roomID, user, eventType string) (bool, error) {
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return false, err
	}
	m, err := e.store.RoomMembership(ctx, ri.NID, user)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if m.Membership != spec.MembershipJoin {
		return false, nil
	}
	return e.maySetState(ctx, ri, user, eventType)
}
