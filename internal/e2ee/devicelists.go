package e2ee

import (
	"context"
	"fmt"
	"slices"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// Range is a range of two streams, (From, To] of each: the events stream
// (for membership changes) and the device-lists stream.
type Range struct {
	FromEvents, ToEvents           int64
	FromDeviceLists, ToDeviceLists int64
}

// DeviceLists returns the device_lists section of an incremental /sync,
// also the answer of GET /keys/changes, for user over r:
//
//   - changed: users who share a room with user now and whose devices or
//     cross-signing keys changed in r (user included, for its own
//     devices), users whose master key user signed with its user-signing
//     key in r (told to user only, shared room or not), and
//     users user newly shares a room with (who joined one of user's rooms,
//     or are in a room user joined);
//   - left: users user shared a room with during r and shares none with
//     now.
//
// NOTSPEC: the spec speaks of encrypted rooms for both lists; Myelin
// counts every room (as Synapse does). changed may then hold more users
// than needed, which the spec allows; left is reported only once no room
// at all is shared, so a client never stops tracking a user it still needs.
func (s *Service) DeviceLists(ctx context.Context, user spec.UserID, r Range) (changed, left []string, err error) {
	me := user.String()
	var keyChanges []string
	if r.FromDeviceLists < r.ToDeviceLists {
		if keyChanges, err = s.store.DeviceListChanges(ctx, me, r.FromDeviceLists, r.ToDeviceLists); err != nil {
			return nil, nil, fmt.Errorf("reading device-list changes: %w", err)
		}
	}
	var members []store.MemberChange
	if r.FromEvents < r.ToEvents {
		if members, err = s.store.MemberChanges(ctx, me, r.FromEvents, r.ToEvents); err != nil {
			return nil, nil, fmt.Errorf("reading membership changes: %w", err)
		}
	}
	if len(members) == 0 {
		return keyChanges, nil, nil
	}

	// The last membership in the range of each (room, user).
	type key struct {
		room int64
		user string
	}
	last := map[key]string{}
	for _, m := range members {
		last[key{m.RoomNID, m.UserID}] = m.Membership
	}
	// Rooms whose membership of user changed: joined, left (or banned),
	// or neither (invited, knocking): those share nothing.
	var joinedRooms, leftRooms []int64
	mine := map[int64]bool{}
	for k, ms := range last {
		if k.user != me {
			continue
		}
		mine[k.room] = true
		switch ms {
		case spec.MembershipJoin:
			joinedRooms = append(joinedRooms, k.room)
		case spec.MembershipLeave, spec.MembershipBan:
			leftRooms = append(leftRooms, k.room)
		}
	}
	newly, gone := map[string]bool{}, map[string]bool{}
	for k, ms := range last {
		if k.user == me || mine[k.room] {
			continue
		}
		// A room user stayed joined to: others came or went.
		if ms == spec.MembershipJoin {
			newly[k.user] = true
		} else {
			gone[k.user] = true
		}
	}
	slices.Sort(joinedRooms)
	slices.Sort(leftRooms)
	for _, batch := range []struct {
		rooms []int64
		into  map[string]bool
	}{{joinedRooms, newly}, {leftRooms, gone}} {
		if len(batch.rooms) == 0 {
			continue
		}
		us, err := s.store.JoinedUsers(ctx, batch.rooms)
		if err != nil {
			return nil, nil, fmt.Errorf("reading room members: %w", err)
		}
		for _, u := range us {
			batch.into[u] = true
		}
	}

	sharedList, err := s.store.SharedRoomUsers(ctx, me)
	if err != nil {
		return nil, nil, fmt.Errorf("reading users sharing rooms: %w", err)
	}
	shared := map[string]bool{me: true}
	for _, u := range sharedList {
		shared[u] = true
	}
	out := map[string]bool{}
	for _, u := range keyChanges {
		out[u] = true
	}
	for u := range newly {
		if shared[u] && u != me {
			out[u] = true
		}
	}
	for u := range gone {
		if !shared[u] {
			left = append(left, u)
		}
	}
	for u := range out {
		changed = append(changed, u)
	}
	slices.Sort(changed)
	slices.Sort(left)
	return changed, left, nil
}

// DeviceListPosition returns the device-lists stream's last committed
// position.
func (s *Service) DeviceListPosition(ctx context.Context) (int64, error) {
	pos, err := s.store.DeviceListPosition(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading device-lists position: %w", err)
	}
	return pos, nil
}

// DevicesDeleted is the users service's device hook: after devices of a
// local user were deleted (or the account deactivated), it deletes their
// keys, one-time and fallback keys, signatures and to-device inbox, and
// tells the users who share a room with user that user's devices changed.
// It covers every device that no longer exists, so calling it again after
// a failure catches up.
func (s *Service) DevicesDeleted(ctx context.Context, user spec.UserID) error {
	owner := s.owner(user)
	if owner.Localpart == "" {
		return fmt.Errorf("devices deleted for remote user %s", user)
	}
	pos, err := s.store.PruneDevices(ctx, store.KeyOwner(owner))
	if err != nil {
		return fmt.Errorf("deleting the keys of deleted devices: %w", err)
	}
	s.notify(StreamDeviceLists, pos)
	return nil
}
