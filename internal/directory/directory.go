// Package directory is the published room directory (client-server API,
// "Published room directory"): a room's visibility in it (GET/PUT
// /directory/list/room/{roomId}) and the public room list (GET/POST
// /publicRooms) with search, room type filter and pagination.
//
// Visibility is a column of the room (store.Rooms.SetRoomVisibility;
// createRoom's visibility sets it too). The list is computed from the
// current state of the published rooms at each request, in one bulk read
// (store.Directory), and sorted by joined members, largest first, then room
// ID.
package directory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Visibility values.
const (
	Public  = "public"
	Private = "private"
)

// MaxLimit caps the rooms of one page; a request without a limit gets
// pages of this size.
const MaxLimit = 500

// Rooms is what the service reads and changes of rooms (store.Rooms has
// these methods).
type Rooms interface {
	RoomByID(ctx context.Context, roomID string) (store.Room, error)
	SetRoomVisibility(ctx context.Context, roomNID int64, visibility string) error
}

// Permissions decides who may change a room's visibility (the room
// engine's MaySetState).
type Permissions interface {
	MaySetState(ctx context.Context, roomID, user, eventType string) (bool, error)
}

// Options configures the service.
type Options struct {
	// ServerName is this server's name: the only directory it serves.
	ServerName spec.ServerName
}

// Service is the published room directory. It is safe for concurrent use.
type Service struct {
	opts  Options
	store store.Directory
	rooms Rooms
	perms Permissions
}

// New returns the service.
func New(opts Options, st store.Directory, rooms Rooms, perms Permissions) *Service {
	return &Service{opts: opts, store: st, rooms: rooms, perms: perms}
}

// Caller is the user changing a room's visibility.
type Caller struct {
	UserID spec.UserID
	// Admin marks server administrators.
	Admin bool
}

func (s *Service) room(ctx context.Context, roomID string) (store.Room, error) {
	if _, err := spec.ParseRoomID(roomID); err != nil {
		return store.Room{}, spec.InvalidParam("invalid room ID %q", roomID)
	}
	r, err := s.rooms.RoomByID(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return r, spec.NotFound("room %s not found", roomID)
	}
	if err != nil {
		return r, fmt.Errorf("directory: reading room: %w", err)
	}
	return r, nil
}

// Visibility returns a room's visibility in the directory, "public" or
// "private" (GET /directory/list/room/{roomId}). Errors: 400
// M_INVALID_PARAM for an invalid room ID; 404 M_NOT_FOUND for an unknown
// room.
func (s *Service) Visibility(ctx context.Context, roomID string) (string, error) {
	r, err := s.room(ctx, roomID)
	if err != nil {
		return "", err
	}
	if r.Visibility == Public {
		return Public, nil
	}
	return Private, nil
}

// SetVisibility publishes a room in the directory or removes it (PUT
// /directory/list/room/{roomId}); an empty visibility means public, as
// the spec's default.
//
// The spec leaves access control to the server. Here, as in Synapse, a
// server administrator may, and so may a user joined to the room whose
// power level allows sending m.room.canonical_alias (the room's
// moderators by default): publishing a room advertises it much as its
// canonical alias does.
//
// Errors: 400 M_INVALID_PARAM for an invalid room ID or visibility; 404
// M_NOT_FOUND for an unknown room; 403 M_FORBIDDEN for anyone else.
func (s *Service) SetVisibility(ctx context.Context, c Caller, roomID, visibility string) error {
	switch visibility {
	case "":
		visibility = Public
	case Public, Private:
	default:
		return spec.InvalidParam("visibility must be %q or %q", Public, Private)
	}
	r, err := s.room(ctx, roomID)
	if err != nil {
		return err
	}
	if !c.Admin {
		ok, err := s.perms.MaySetState(ctx, roomID, c.UserID.String(), spec.MRoomCanonicalAlias)
		if err != nil {
			return err
		}
		if !ok {
			return spec.Forbidden("only room moderators (who may set %s) may change the room's directory visibility", spec.MRoomCanonicalAlias)
		}
	}
	if r.Visibility == visibility {
		return nil
	}
	if err := s.rooms.SetRoomVisibility(ctx, r.NID, visibility); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return spec.NotFound("room %s not found", roomID)
		}
		return fmt.Errorf("directory: setting visibility: %w", err)
	}
	return nil
}

// Query is a request for the public room list.
type Query struct {
	// Limit is the page size; 0 means MaxLimit, as does anything above.
	Limit int
	// Since is a next_batch or prev_batch token of an earlier page.
	Since string
	// Server is the directory's server; "" means this one.
	Server string
	// SearchTerm, if set, keeps the rooms whose name, topic or canonical
	// alias contains it, ignoring case.
	SearchTerm string
	// RoomTypes, if not empty, keeps the rooms of these types; a nil entry
	// stands for rooms without a type.
	RoomTypes []*string
	// IncludeAllNetworks and ThirdPartyInstanceID select application
	// service networks.
	IncludeAllNetworks   bool
	ThirdPartyInstanceID string
}

// Page is a page of the public room list, as /publicRooms answers.
type Page struct {
	Chunk                  []Room `json:"chunk"`
	NextBatch              string `json:"next_batch,omitempty"`
	PrevBatch              string `json:"prev_batch,omitempty"`
	TotalRoomCountEstimate int    `json:"total_room_count_estimate"`
}

// Room is an entry of the public room list (PublishedRoomsChunk).
type Room struct {
	RoomID           string `json:"room_id"`
	Name             string `json:"name,omitempty"`
	Topic            string `json:"topic,omitempty"`
	CanonicalAlias   string `json:"canonical_alias,omitempty"`
	NumJoinedMembers int    `json:"num_joined_members"`
	WorldReadable    bool   `json:"world_readable"`
	GuestCanJoin     bool   `json:"guest_can_join"`
	AvatarURL        string `json:"avatar_url,omitempty"`
	JoinRule         string `json:"join_rule,omitempty"`
	RoomType         string `json:"room_type,omitempty"`
}

// The state event types the list reads.
var listedTypes = []string{
	spec.MRoomCreate, spec.MRoomName, spec.MRoomTopic, spec.MRoomCanonicalAlias, spec.MRoomAvatar,
	spec.MRoomJoinRules, spec.MRoomHistoryVisibility, spec.MRoomGuestAccess, spec.MRoomTombstone,
}

// PublicRooms returns a page of the public room list (GET and POST
// /publicRooms). Rooms that were upgraded (their current state has an
// m.room.tombstone) are left out: their successor is listed instead.
//
// Application service networks: this server has none, so
// include_all_networks lists the same rooms as without it, and a
// third_party_instance_id matches no room.
//
// Errors: 400 M_INVALID_PARAM for a negative limit, an invalid since
// token or server name, or third_party_instance_id with
// include_all_networks; 404 M_NOT_FOUND for another server's directory.
func (s *Service) PublicRooms(ctx context.Context, q Query) (Page, error) {
	if q.Server != "" && q.Server != string(s.opts.ServerName) {
		if _, err := spec.ParseServerName(q.Server); err != nil {
			return Page{}, spec.InvalidParam("invalid server name %q", q.Server)
		}
		// NOTSPEC: the spec fetches another server's directory over
		// federation, which this server does not speak yet.
		return Page{}, spec.NotFound("the room directory of %s is not available: this server does not federate yet", q.Server)
	}
	if q.Limit < 0 {
		return Page{}, spec.InvalidParam("limit must not be negative")
	}
	if q.IncludeAllNetworks && q.ThirdPartyInstanceID != "" {
		return Page{}, spec.InvalidParam("third_party_instance_id cannot be combined with include_all_networks")
	}
	var since *cursor
	if q.Since != "" {
		c, err := parseCursor(q.Since)
		if err != nil {
			return Page{}, err
		}
		since = &c
	}
	limit := q.Limit
	if limit == 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	if q.ThirdPartyInstanceID != "" {
		return Page{Chunk: []Room{}}, nil
	}
	term := strings.ToLower(strings.TrimSpace(q.SearchTerm))
	if term == "" && len(q.RoomTypes) == 0 {
		return s.browse(ctx, since, limit)
	}
	published, err := s.store.PublishedRooms(ctx, listedTypes)
	if err != nil {
		return Page{}, fmt.Errorf("directory: reading published rooms: %w", err)
	}
	rooms := make([]Room, 0, len(published))
	for _, pr := range published {
		r, tombstoned, roomType := summarize(pr)
		if tombstoned || !typeMatches(q.RoomTypes, roomType) || !searchMatches(term, r) {
			continue
		}
		rooms = append(rooms, r)
	}
	slices.SortFunc(rooms, func(a, b Room) int { return cursorOf(a).compare(cursorOf(b)) })
	return paginate(rooms, since, limit), nil
}

// browse pages through the unfiltered list, which needs only the member
// counts (and tombstones) of every published room and the state of the
// rooms on the page: two cheap reads, then one for the page.
func (s *Service) browse(ctx context.Context, since *cursor, limit int) (Page, error) {
	published, err := s.store.PublishedRooms(ctx, []string{spec.MRoomTombstone})
	if err != nil {
		return Page{}, fmt.Errorf("directory: reading published rooms: %w", err)
	}
	versions := make(map[string]string, len(published))
	rooms := make([]Room, 0, len(published))
	for _, pr := range published {
		if _, tombstoned, _ := summarize(pr); tombstoned {
			continue
		}
		versions[pr.RoomID] = pr.Version
		rooms = append(rooms, Room{RoomID: pr.RoomID, NumJoinedMembers: pr.JoinedMembers})
	}
	slices.SortFunc(rooms, func(a, b Room) int { return cursorOf(a).compare(cursorOf(b)) })
	page := paginate(rooms, since, limit)
	ids := make([]string, len(page.Chunk))
	for i, r := range page.Chunk {
		ids[i] = r.RoomID
	}
	states, err := s.store.PublishedRoomsState(ctx, ids, listedTypes)
	if err != nil {
		return Page{}, fmt.Errorf("directory: reading published rooms' state: %w", err)
	}
	for i, r := range page.Chunk {
		page.Chunk[i], _, _ = summarize(store.PublishedRoom{RoomID: r.RoomID, Version: versions[r.RoomID],
			JoinedMembers: r.NumJoinedMembers, State: states[r.RoomID]})
	}
	return page, nil
}

// paginate cuts the page after (or, for a prev_batch token, before) the
// cursor out of the sorted rooms.
func paginate(rooms []Room, since *cursor, limit int) Page {
	start, end := 0, min(limit, len(rooms))
	if since != nil {
		// i is the first room at or after the cursor's position.
		i, _ := slices.BinarySearchFunc(rooms, *since, func(r Room, c cursor) int { return cursorOf(r).compare(c) })
		if since.forward {
			if i < len(rooms) && cursorOf(rooms[i]).compare(*since) == 0 {
				i++
			}
			start, end = i, min(i+limit, len(rooms))
		} else {
			start, end = max(0, i-limit), i
		}
	}
	p := Page{Chunk: rooms[start:end], TotalRoomCountEstimate: len(rooms)}
	// An empty page past the end has no room to point back from: it gets
	// no prev_batch.
	if start > 0 && start < len(rooms) {
		c := cursorOf(rooms[start])
		c.forward = false
		p.PrevBatch = c.String()
	}
	if end < len(rooms) && end > 0 {
		c := cursorOf(rooms[end-1])
		c.forward = true
		p.NextBatch = c.String()
	}
	return p
}

// summarize reads a published room's list entry from its state, and
// whether it was upgraded, and its type (nil for none).
func summarize(pr store.PublishedRoom) (Room, bool, *string) {
	r := Room{RoomID: pr.RoomID, NumJoinedMembers: pr.JoinedMembers, JoinRule: spec.JoinRulePublic}
	version, _ := spec.LookupRoomVersion(pr.Version)
	var roomType *string
	tombstoned := false
	for _, st := range pr.State {
		c := content(version, st)
		switch st.Type {
		case spec.MRoomCreate:
			if t, ok := c["type"].(string); ok {
				roomType = &t
				r.RoomType = t
			}
		case spec.MRoomName:
			r.Name, _ = c["name"].(string)
		case spec.MRoomTopic:
			r.Topic = plainTopic(c)
		case spec.MRoomCanonicalAlias:
			r.CanonicalAlias, _ = c["alias"].(string)
		case spec.MRoomAvatar:
			r.AvatarURL, _ = c["url"].(string)
		case spec.MRoomJoinRules:
			if jr, ok := c["join_rule"].(string); ok {
				r.JoinRule = jr
			}
		case spec.MRoomHistoryVisibility:
			r.WorldReadable = c["history_visibility"] == "world_readable"
		case spec.MRoomGuestAccess:
			r.GuestCanJoin = c["guest_access"] == "can_join"
		case spec.MRoomTombstone:
			_, tombstoned = c["replacement_room"].(string)
		}
	}
	return r, tombstoned, roomType
}

// content returns the content of a state event, redacted if it was.
func content(version *spec.RoomVersion, st store.PublishedState) map[string]any {
	raw := []byte(st.JSON)
	if st.Redacted && version != nil {
		red, err := pdu.Redact(version, raw)
		if err != nil {
			return nil
		}
		raw = red
	}
	var ev struct {
		Content map[string]any `json:"content"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		return nil
	}
	return ev.Content
}

// plainTopic returns the plain-text topic of m.room.topic content: the
// text/plain representation in m.topic if there is one, else topic.
func plainTopic(c map[string]any) string {
	if block, ok := c["m.topic"].(map[string]any); ok {
		if texts, ok := block["m.text"].([]any); ok {
			for _, t := range texts {
				rep, _ := t.(map[string]any)
				mime, hasMime := rep["mimetype"].(string)
				if body, ok := rep["body"].(string); ok && (!hasMime || mime == "text/plain") {
					return body
				}
			}
		}
	}
	topic, _ := c["topic"].(string)
	return topic
}

func typeMatches(want []*string, roomType *string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if (w == nil && roomType == nil) || (w != nil && roomType != nil && *w == *roomType) {
			return true
		}
	}
	return false
}

func searchMatches(term string, r Room) bool {
	if term == "" {
		return true
	}
	for _, field := range []string{r.Name, r.Topic, r.CanonicalAlias} {
		if strings.Contains(strings.ToLower(field), term) {
			return true
		}
	}
	return false
}

// cursor is a position in the sorted list: the room's joined members and
// ID; forward pages after it, backward before it.
type cursor struct {
	forward bool
	members int
	roomID  string
}

func cursorOf(r Room) cursor { return cursor{members: r.NumJoinedMembers, roomID: r.RoomID} }

// compare orders by joined members, largest first, then by room ID.
func (c cursor) compare(o cursor) int {
	switch {
	case c.members > o.members:
		return -1
	case c.members < o.members:
		return 1
	}
	return strings.Compare(c.roomID, o.roomID)
}

// String encodes the cursor as a token: "n" (next) or "p" (previous), the
// member count, ".", and the room ID in unpadded base64url.
func (c cursor) String() string {
	dir := "p"
	if c.forward {
		dir = "n"
	}
	return dir + strconv.Itoa(c.members) + "." + base64.RawURLEncoding.EncodeToString([]byte(c.roomID))
}

func parseCursor(token string) (cursor, error) {
	bad := spec.InvalidParam("invalid pagination token %q", token)
	if len(token) < 4 || (token[0] != 'n' && token[0] != 'p') {
		return cursor{}, bad
	}
	num, enc, ok := strings.Cut(token[1:], ".")
	if !ok {
		return cursor{}, bad
	}
	members, err := strconv.Atoi(num)
	if err != nil || members < 0 {
		return cursor{}, bad
	}
	id, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return cursor{}, bad
	}
	if _, err := spec.ParseRoomID(string(id)); err != nil {
		return cursor{}, bad
	}
	return cursor{forward: token[0] == 'n', members: members, roomID: string(id)}, nil
}
