package sync

import (
	gosync "sync"
)

// memberCache remembers, per device, which m.room.member event of each
// member of each room the device was last sent, so that lazy-loading syncs
// can leave out redundant membership events (client-server API,
// "Lazy-loading room members"). It lives in memory: after a restart, or
// when a device falls out of the cache, the next syncs send those events
// again, which the spec allows ("it is valid for the server to send
// redundant membership events").
type memberCache struct {
	devices *lru[deviceKey, *deviceMembers]
}

type deviceKey struct{ user, device string }

// deviceMembers maps room NID → member → event NID last sent.
type deviceMembers struct {
	mu    gosync.Mutex
	rooms map[int64]map[string]int64
	n     int
}

// maxMembersPerDevice bounds the entries kept for one device; past it the
// device's entries are dropped (and sent again when needed).
const maxMembersPerDevice = 100000

func newMemberCache() *memberCache {
	return &memberCache{devices: newLRU[deviceKey, *deviceMembers](10000)}
}

// device returns the entries of a device; reset drops what it had (a sync
// without since or with full_state starts the client afresh).
func (c *memberCache) device(user, device string, reset bool) *deviceMembers {
	k := deviceKey{user, device}
	if d, ok := c.devices.get(k); ok && !reset {
		return d
	}
	d := &deviceMembers{rooms: map[int64]map[string]int64{}}
	c.devices.put(k, d)
	return d
}

// sent reports whether the device was sent event nid as member's
// membership in a room.
func (d *deviceMembers) sent(roomNID int64, member string, nid int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rooms[roomNID][member] == nid
}

// resetRoom forgets what the device was sent of a room (a room it joins
// anew gets its members afresh).
func (d *deviceMembers) resetRoom(roomNID int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n -= len(d.rooms[roomNID])
	delete(d.rooms, roomNID)
}

// record notes that the device was sent event nid as member's membership.
func (d *deviceMembers) record(roomNID int64, member string, nid int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n >= maxMembersPerDevice {
		d.rooms, d.n = map[int64]map[string]int64{}, 0
	}
	m := d.rooms[roomNID]
	if m == nil {
		m = map[string]int64{}
		d.rooms[roomNID] = m
	}
	if _, had := m[member]; !had {
		d.n++
	}
	m[member] = nid
}
