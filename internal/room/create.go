package room

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// Sender is the local user, and device, on whose behalf the engine acts.
type Sender struct {
	UserID   spec.UserID
	DeviceID string
	// Admin marks server administrators.
	Admin bool
}

// Presets of createRoom.
const (
	PresetPrivateChat        = "private_chat"
	PresetTrustedPrivateChat = "trusted_private_chat"
	PresetPublicChat         = "public_chat"
)

// MegolmAlgorithm is the algorithm of the m.room.encryption events the
// server adds to new rooms.
const MegolmAlgorithm = "m.megolm.v1.aes-sha2"

// CreateRoomRequest is a createRoom request (client-server API,
// POST /createRoom), already decoded.
type CreateRoomRequest struct {
	// Visibility is "public", "private" or "" (private).
	Visibility    string
	RoomAliasName string
	Name, Topic   *string
	Invite        []string
	// Invite3PID counts third-party invites, which this server cannot
	// send (no identity server support).
	Invite3PID  int
	RoomVersion string
	// CreationContent and PowerLevelContentOverride are JSON objects (nil
	// when absent).
	CreationContent           map[string]json.RawMessage
	InitialState              []StateEvent
	Preset                    string
	IsDirect                  bool
	PowerLevelContentOverride map[string]json.RawMessage
}

// StateEvent is a state event of createRoom's initial_state.
type StateEvent struct {
	Type     string
	StateKey string
	Content  json.RawMessage
}

// CreateRoom creates a room as the spec's createRoom describes, all its
// initial events in one transaction: either the whole room exists
// afterwards, or nothing of it. Errors: 400 M_UNSUPPORTED_ROOM_VERSION,
// M_BAD_JSON, M_INVALID_PARAM, M_ROOM_IN_USE (alias taken),
// M_INVALID_ROOM_STATE (an initial event rejected by the authorization
// rules), 413 M_TOO_LARGE.
func (e *Engine) CreateRoom(ctx context.Context, s Sender, req CreateRoomRequest) (string, error) {
	plan, err := e.planRoom(ctx, s, req)
	if err != nil {
		return "", err
	}
	r := store.Room{ID: plan.roomID, Version: plan.version.ID, Visibility: plan.visibility, CreatedTS: e.now()}
	ri, err := e.create(ctx, r, func(w *writer) error {
		if err := w.ingest(plan.create); err != nil {
			return err
		}
		if plan.alias != "" {
			if err := w.sw.CreateAlias(w.ctx, plan.alias, s.UserID.String()); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return spec.NewError(400, spec.ErrRoomInUse, "room alias %s is taken", plan.alias)
				}
				return err
			}
		}
		for _, le := range plan.events {
			if _, err := w.send(le); err != nil {
				return invalidRoomState(err)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return ri.ID, nil
}

// invalidRoomState turns a rejection of an initial event into createRoom's
// M_INVALID_ROOM_STATE.
func invalidRoomState(err error) error {
	var me *spec.Error
	if errors.As(err, &me) && me.Code == spec.ErrForbidden {
		return spec.NewError(400, spec.ErrInvalidRoomState, "the initial state is invalid: %s", me.Message).Wrap(err)
	}
	return err
}

// roomPlan is a room to create: its create event, built beforehand (in
// room version 12 it names the room), and the events that follow.
type roomPlan struct {
	roomID     string
	version    *spec.RoomVersion
	visibility string
	alias      string
	create     *pdu.Event
	events     []localEvent
}

func (e *Engine) planRoom(ctx context.Context, s Sender, req CreateRoomRequest) (*roomPlan, error) {
	versionID := req.RoomVersion
	if versionID == "" {
		versionID = e.opts.DefaultRoomVersion
	}
	v, ok := spec.LookupRoomVersion(versionID)
	if !ok {
		return nil, spec.NewError(400, spec.ErrUnsupportedRoomVersion, "room version %q is not supported", versionID)
	}
	plan := &roomPlan{version: v, visibility: "private"}
	switch req.Visibility {
	case "", "private":
	case "public":
		plan.visibility = "public"
	default:
		return nil, spec.BadJSON("visibility must be public or private")
	}
	preset := req.Preset
	switch preset {
	case "":
		preset = PresetPrivateChat
		if plan.visibility == "public" {
			preset = PresetPublicChat
		}
	case PresetPrivateChat, PresetTrustedPrivateChat, PresetPublicChat:
	default:
		return nil, spec.BadJSON("unknown preset %q", preset)
	}
	if req.Invite3PID > 0 {
		// NOTSPEC: third-party invites need an identity server, which this
		// server does not talk to; refusing beats silently dropping them.
		return nil, spec.NewError(400, spec.ErrUnknown, "third-party invites are not supported")
	}
	sender := s.UserID.String()
	invitees, err := e.parseInvitees(req.Invite, sender)
	if err != nil {
		return nil, err
	}
	if req.RoomAliasName != "" {
		if plan.alias, err = e.aliasFromName(ctx, req.RoomAliasName); err != nil {
			return nil, err
		}
	}
	for _, ev := range req.InitialState {
		if err := checkEventInput(ev.Type, &ev.StateKey, ev.Content); err != nil {
			return nil, err
		}
	}

	createContent, err := e.createContent(v, sender, req.CreationContent, preset, invitees)
	if err != nil {
		return nil, err
	}
	empty := ""
	b := pdu.Builder{Type: spec.MRoomCreate, StateKey: &empty, Sender: sender, Content: createContent, Depth: 1, OriginServerTS: e.now()}
	if v.RoomIDFormat != spec.RoomIDCreateHash {
		b.RoomID = e.newRoomID()
	}
	if plan.create, err = b.Build(v, e.opts.ServerName, e.opts.Key); err != nil {
		return nil, buildError(err)
	}
	plan.roomID = plan.create.RoomID()

	profile := e.profiles(ctx, append([]string{sender}, invitees...))
	add := func(typ string, stateKey *string, content any) error {
		raw, err := json.Marshal(content)
		if err != nil {
			return err
		}
		plan.events = append(plan.events, localEvent{Type: typ, StateKey: stateKey, Sender: sender, Content: raw})
		return nil
	}
	if err := add(spec.MRoomMember, &sender, memberContent(spec.MembershipJoin, "", profile[sender], nil)); err != nil {
		return nil, err
	}
	pl, err := defaultPowerLevels(v, sender, preset, invitees, req.PowerLevelContentOverride)
	if err != nil {
		return nil, err
	}
	if err := add(spec.MRoomPowerLevels, &empty, pl); err != nil {
		return nil, err
	}
	if plan.alias != "" {
		if err := add(spec.MRoomCanonicalAlias, &empty, map[string]any{"alias": plan.alias}); err != nil {
			return nil, err
		}
	}
	inInitial := func(typ string) bool {
		return slices.ContainsFunc(req.InitialState, func(ev StateEvent) bool { return ev.Type == typ && ev.StateKey == "" })
	}
	joinRule, guests := spec.JoinRuleInvite, "can_join"
	if preset == PresetPublicChat {
		joinRule, guests = spec.JoinRulePublic, "forbidden"
	}
	presetEvents := []struct {
		typ     string
		content map[string]any
	}{
		{spec.MRoomJoinRules, map[string]any{"join_rule": joinRule}},
		{spec.MRoomHistoryVisibility, map[string]any{"history_visibility": "shared"}},
		{spec.MRoomGuestAccess, map[string]any{"guest_access": guests}},
	}
	if e.encryptByDefault(preset) {
		presetEvents = append(presetEvents, struct {
			typ     string
			content map[string]any
		}{spec.MRoomEncryption, map[string]any{"algorithm": MegolmAlgorithm}})
	}
	for _, pe := range presetEvents {
		if !inInitial(pe.typ) {
			if err := add(pe.typ, &empty, pe.content); err != nil {
				return nil, err
			}
		}
	}
	for _, ev := range req.InitialState {
		sk := ev.StateKey
		plan.events = append(plan.events, localEvent{Type: ev.Type, StateKey: &sk, Sender: sender, Content: ev.Content,
			check: clientStateRules})
	}
	if req.Name != nil {
		if err := add(spec.MRoomName, &empty, map[string]any{"name": *req.Name}); err != nil {
			return nil, err
		}
	}
	if req.Topic != nil {
		topic := map[string]any{"topic": *req.Topic, "m.topic": map[string]any{
			"m.text": []map[string]any{{"body": *req.Topic, "mimetype": "text/plain"}},
		}}
		if err := add(spec.MRoomTopic, &empty, topic); err != nil {
			return nil, err
		}
	}
	for _, u := range invitees {
		var extra map[string]any
		if req.IsDirect {
			extra = map[string]any{"is_direct": true}
		}
		if err := add(spec.MRoomMember, &u, memberContent(spec.MembershipInvite, "", profile[u], extra)); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// encryptByDefault applies the encryption.default setting to a preset.
func (e *Engine) encryptByDefault(preset string) bool {
	switch e.opts.EncryptionDefault {
	case EncryptAll:
		return true
	case EncryptPrivate:
		return preset != PresetPublicChat
	}
	return false
}

// parseInvitees validates the invite list: local users with valid IDs,
// without duplicates or the sender.
func (e *Engine) parseInvitees(invite []string, sender string) ([]string, error) {
	var out []string
	for _, s := range invite {
		uid, err := spec.ParseHistoricalUserID(s)
		if err != nil {
			return nil, spec.InvalidParam("invalid user ID %q in invite", s)
		}
		if err := e.checkLocal(uid); err != nil {
			return nil, err
		}
		if s != sender && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// checkLocal refuses users of other servers.
func (e *Engine) checkLocal(uid spec.UserID) error {
	if uid.Domain() != e.opts.ServerName {
		// NOTSPEC: invites, joins and knocks involving other servers need
		// federation, which this server does not offer yet.
		return spec.Forbidden("users of other servers cannot be invited: federation is not available")
	}
	return nil
}

// aliasFromName turns createRoom's room_alias_name into a free local
// alias.
func (e *Engine) aliasFromName(ctx context.Context, name string) (string, error) {
	if strings.ContainsAny(name, ": \t\n\r#") {
		return "", spec.InvalidParam("room_alias_name may not contain ':', '#' or whitespace")
	}
	alias := "#" + name + ":" + string(e.opts.ServerName)
	if _, err := spec.ParseRoomAlias(alias); err != nil {
		return "", spec.InvalidParam("invalid room alias %q", alias)
	}
	if _, err := e.store.AliasRoom(ctx, alias); err == nil {
		return "", spec.NewError(400, spec.ErrRoomInUse, "room alias %s is taken", alias)
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	return alias, nil
}

// createContent builds the content of the create event.
func (e *Engine) createContent(v *spec.RoomVersion, sender string, creation map[string]json.RawMessage, preset string, invitees []string) (map[string]json.RawMessage, error) {
	content := map[string]json.RawMessage{}
	for k, val := range creation {
		content[k] = val
	}
	delete(content, "creator")
	content["room_version"], _ = json.Marshal(v.ID)
	if !v.CreatorFromSender {
		content["creator"], _ = json.Marshal(sender)
	}
	if v.PrivilegedCreators {
		var extra []string
		if raw, ok := content["additional_creators"]; ok {
			if err := json.Unmarshal(raw, &extra); err != nil {
				return nil, spec.BadJSON("creation_content.additional_creators must be an array of user IDs")
			}
			for _, u := range extra {
				if _, err := spec.ParseHistoricalUserID(u); err != nil {
					return nil, spec.BadJSON("invalid user ID %q in additional_creators", u)
				}
			}
		}
		if preset == PresetTrustedPrivateChat {
			extra = append(extra, invitees...)
		}
		var creators []string
		for _, u := range extra {
			if u != sender && !slices.Contains(creators, u) {
				creators = append(creators, u)
			}
		}
		if len(creators) > 0 {
			content["additional_creators"], _ = json.Marshal(creators)
		} else {
			delete(content, "additional_creators")
		}
	}
	return content, nil
}

// defaultPowerLevels is createRoom's m.room.power_levels content: the
// creator (before v12) and, for trusted_private_chat, the invitees get
// 100; room version 12 lists no creator and puts m.room.tombstone above
// state_default. override replaces top-level keys.
func defaultPowerLevels(v *spec.RoomVersion, sender, preset string, invitees []string, override map[string]json.RawMessage) (map[string]any, error) {
	users := map[string]any{}
	tombstone := 100
	if v.PrivilegedCreators {
		tombstone = 150
	} else {
		users[sender] = 100
		if preset == PresetTrustedPrivateChat {
			for _, u := range invitees {
				users[u] = 100
			}
		}
	}
	invite := 0
	if preset == PresetPublicChat {
		invite = 50
	}
	pl := map[string]any{
		"users":          users,
		"users_default":  0,
		"events_default": 0,
		"state_default":  50,
		"ban":            50,
		"kick":           50,
		"redact":         50,
		"invite":         invite,
		"events": map[string]any{
			spec.MRoomName:              50,
			spec.MRoomPowerLevels:       100,
			spec.MRoomHistoryVisibility: 100,
			spec.MRoomCanonicalAlias:    50,
			spec.MRoomAvatar:            50,
			spec.MRoomTombstone:         tombstone,
			spec.MRoomServerACL:         100,
			spec.MRoomEncryption:        100,
		},
		"notifications": map[string]any{"room": 50},
	}
	for k, val := range override {
		pl[k] = val
	}
	return pl, nil
}

// newRoomID makes a random room ID on this server (room versions 1–11).
func (e *Engine) newRoomID() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [18]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "!" + string(b[:]) + ":" + string(e.opts.ServerName)
}

// profiles returns the display name and avatar of local users, for their
// member events. Failures leave the profile out: a member event without a
// display name is still correct.
func (e *Engine) profiles(ctx context.Context, userIDs []string) map[string]store.Profile {
	out := map[string]store.Profile{}
	if e.opts.Profiles == nil {
		return out
	}
	var locals []string
	byLocal := map[string]string{}
	for _, u := range userIDs {
		uid, err := spec.ParseHistoricalUserID(u)
		if err != nil || uid.Domain() != e.opts.ServerName {
			continue
		}
		locals = append(locals, uid.Localpart())
		byLocal[uid.Localpart()] = u
	}
	ps, err := e.opts.Profiles.Profiles(ctx, locals)
	if err != nil {
		e.log.WarnContext(ctx, "reading profiles for member events", "err", err)
		return out
	}
	for _, p := range ps {
		out[byLocal[p.Localpart]] = p
	}
	return out
}

// memberContent is the content of an m.room.member event.
func memberContent(membership, reason string, p store.Profile, extra map[string]any) map[string]any {
	c := map[string]any{"membership": membership}
	if p.DisplayName != "" {
		c["displayname"] = p.DisplayName
	}
	if p.AvatarURL != "" {
		c["avatar_url"] = p.AvatarURL
	}
	if reason != "" {
		c["reason"] = reason
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// checkEventInput applies the client-server API's limits to an event a
// client asks for: type and state key at most 255 bytes, content a JSON
// object.
func checkEventInput(typ string, stateKey *string, content json.RawMessage) error {
	if typ == "" {
		return spec.BadJSON("event type is empty")
	}
	if len(typ) > pdu.MaxKeyLength {
		return spec.TooLarge("event type is longer than %d bytes", pdu.MaxKeyLength)
	}
	if stateKey != nil && len(*stateKey) > pdu.MaxKeyLength {
		return spec.TooLarge("state key is longer than %d bytes", pdu.MaxKeyLength)
	}
	if len(content) == 0 || content[0] != '{' {
		trimmed := strings.TrimSpace(string(content))
		if !strings.HasPrefix(trimmed, "{") {
			return spec.BadJSON("event content must be a JSON object")
		}
	}
	if len(content) > pdu.MaxEventSize {
		return spec.TooLarge("event content is larger than %d bytes", pdu.MaxEventSize)
	}
	return nil
}
