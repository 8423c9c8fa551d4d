package eventauth

import "myelin/internal/spec"

// numbering holds the position of each rule in a room version's rule list.
// The lists differ between versions only by rules being added or removed,
// so the numbers are derived from the version's feature fields by counting,
// exactly as the spec's numbered lists do. A zero means the rule does not
// exist in the version.
type numbering struct {
	// Top-level rules.
	create, roomID, authEvents, federate, aliases, member, joined,
	thirdParty, required, stateKey, powerLevels, redaction, allow int

	// Under "If type is m.room.create".
	createPrev, createRoomID, createVersion, createCreator, createAdditional, createAllow int

	// Under "Considering the event's auth_events".
	aeDuplicate, aeSelection, aeRejected, aeNoCreate, aeRoomID int

	// Under "If type is m.room.member".
	memMissing, memSignature, memJoin, memInvite, memLeave, memBan, memKnock, memUnknown int

	// Under "If membership is join".
	joinRestricted, joinPublic, joinOtherwise int

	// Under "If type is m.room.power_levels".
	plNamedInt, plMapsInt, plUsers, plCreators, plNoPrevious,
	plNamed, plEventsOld, plEventsNew, plUsersOld, plUsersNew, plAllow int
}

// counter hands out consecutive list positions starting at 1.
type counter int

func (c *counter) next() int { *c++; return int(*c) }

// nextIf returns the next position when the rule exists, else 0.
func (c *counter) nextIf(exists bool) int {
	if !exists {
		return 0
	}
	return c.next()
}

func numberRules(v *spec.RoomVersion) numbering {
	var n numbering
	var top counter
	n.create = top.next()
	// v12 rule 2: the room ID must derive from the create event.
	n.roomID = top.nextIf(v.CreateEventHasNoRoomID)
	n.authEvents = top.next()
	n.federate = top.next()
	n.aliases = top.nextIf(v.SpecialAliasesAuth)
	n.member = top.next()
	n.joined = top.next()
	n.thirdParty = top.next()
	n.required = top.next()
	n.stateKey = top.next()
	n.powerLevels = top.next()
	n.redaction = top.nextIf(v.RedactionAuthRule)
	n.allow = top.next()

	var c counter
	n.createPrev = c.next()
	n.createRoomID = c.next() // room ID domain (v1–v11) or "has a room_id" (v12)
	n.createVersion = c.next()
	n.createCreator = c.nextIf(!v.CreatorFromSender)
	n.createAdditional = c.nextIf(v.PrivilegedCreators)
	n.createAllow = c.next()

	var ae counter
	n.aeDuplicate = ae.next()
	n.aeSelection = ae.next()
	n.aeRejected = ae.next()
	n.aeNoCreate = ae.nextIf(!v.CreateEventHasNoRoomID)
	// The v12 list drops "no m.room.create among the entries" but keeps
	// numbering the room ID rule 5 (3.1, 3.2, 3.3, 3.5).
	n.aeRoomID = 5

	var m counter
	n.memMissing = m.next()
	n.memSignature = m.nextIf(v.Restricted)
	n.memJoin = m.next()
	n.memInvite = m.next()
	n.memLeave = m.next()
	n.memBan = m.next()
	n.memKnock = m.nextIf(v.Knock)
	n.memUnknown = m.next()

	j := counter(4) // 1 creator, 2 sender ≠ state_key, 3 banned, 4 invite/knock
	n.joinRestricted = j.nextIf(v.Restricted)
	n.joinPublic = j.next()
	n.joinOtherwise = j.next()

	var pl counter
	n.plNamedInt = pl.nextIf(v.IntegerPowerLevels)
	n.plMapsInt = pl.nextIf(v.IntegerPowerLevels)
	n.plUsers = pl.next()
	n.plCreators = pl.nextIf(v.PrivilegedCreators)
	n.plNoPrevious = pl.next()
	n.plNamed = pl.next()
	n.plEventsOld = pl.next()
	n.plEventsNew = pl.next()
	n.plUsersOld = pl.next()
	n.plUsersNew = pl.next()
	// The v12 list numbers both its last two entries "10."; the final
	// "Otherwise, allow" is the eleventh.
	n.plAllow = pl.next()
	return n
}
