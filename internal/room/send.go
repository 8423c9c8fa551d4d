package room

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"myelin/internal/eventauth"
	"myelin/internal/mjson"
	"myelin/internal/pdu"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// TxnKey is the key of a client transaction: the endpoint and its path
// parameters, transaction ID included. Together with the user and device
// it identifies a request, so that a retry returns the original answer
// (client-server API, "Transaction identifiers": the scope is one device
// and one endpoint path).
func TxnKey(parts ...string) string {
	b, _ := json.Marshal(parts)
	return string(b)
}

// writableRoom returns a room a client writes to: 404 M_NOT_FOUND when
// this server does not know it.
func (e *Engine) writableRoom(ctx context.Context, roomID string) (roomInfo, error) {
	ri, err := e.room(ctx, roomID)
	if errors.Is(err, errUnknownRoom) {
		return ri, spec.NotFound("unknown room %s", roomID)
	}
	return ri, err
}

// SendMessage sends a message event (PUT /rooms/{roomId}/send/{eventType}/{txnId})
// and returns its ID. A retry with the same transaction ID from the same
// device returns the first event's ID, also across restarts. An
// m.room.redaction sent this way redacts content.redacts, with the checks
// of Redact.
func (e *Engine) SendMessage(ctx context.Context, s Sender, roomID, eventType, txnID string, content json.RawMessage) (string, error) {
	if err := checkEventInput(eventType, nil, content); err != nil {
		return "", err
	}
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return "", err
	}
	le := localEvent{Type: eventType, Sender: s.UserID.String(), Content: content,
		Txn: &store.Txn{UserID: s.UserID.String(), DeviceID: s.DeviceID, Key: TxnKey("send", roomID, eventType, txnID), ID: txnID}}
	if eventType == spec.MRoomRedaction {
		var c struct {
			Redacts string `json:"redacts"`
		}
		if err := json.Unmarshal(content, &c); err != nil || c.Redacts == "" {
			return "", spec.BadJSON("an m.room.redaction needs content.redacts, an event ID")
		}
		if _, err := spec.ParseEventID(c.Redacts); err != nil {
			return "", spec.BadJSON("content.redacts is not an event ID")
		}
		le.Redacts = c.Redacts
		le.check = redactionRules(s)
		le.RedactionAccepted = true
	} else {
		le.check = threadRules
	}
	return e.sendOne(ctx, ri, le)
}

// sendOne builds and persists one local event, or returns the event of
// the same client transaction; sends to one room are group-committed.
func (e *Engine) sendOne(ctx context.Context, ri roomInfo, le localEvent) (string, error) {
	return e.submit(ctx, ri, func(w *writer) (string, error) {
		if le.Txn != nil {
			prev, found, err := w.sw.TxnEvent(w.ctx, *le.Txn)
			if err != nil || found {
				return prev, err
			}
		}
		ev, err := w.send(le)
		if err != nil {
			return "", err
		}
		return ev.EventID(), nil
	})
}

// SendState sets a state event (PUT /rooms/{roomId}/state/{eventType}/{stateKey})
// and returns its ID. Setting the same content the sender already set
// returns the existing event instead of a new one.
func (e *Engine) SendState(ctx context.Context, s Sender, roomID, eventType, stateKey string, content json.RawMessage) (string, error) {
	if err := checkEventInput(eventType, &stateKey, content); err != nil {
		return "", err
	}
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return "", err
	}
	return e.submit(ctx, ri, func(w *writer) (string, error) {
		same, err := w.sameState(spec.StateKeyTuple{Type: eventType, StateKey: stateKey}, s.UserID.String(), content)
		if err != nil || same != "" {
			return same, err
		}
		ev, err := w.send(localEvent{Type: eventType, StateKey: &stateKey, Sender: s.UserID.String(), Content: content,
			check: clientStateRules})
		if err != nil {
			return "", err
		}
		return ev.EventID(), nil
	})
}

// sameState returns the ID of the current state event for t if sender set
// it with the same content and it was not redacted since (its content is
// then no longer what it was), "" otherwise.
func (w *writer) sameState(t spec.StateKeyTuple, sender string, content json.RawMessage) (string, error) {
	cur, err := w.stateEvents(w.cur, []spec.StateKeyTuple{t})
	if err != nil {
		return "", err
	}
	ev := cur[t]
	if ev == nil || ev.Sender() != sender {
		return "", nil
	}
	a, err1 := mjson.CanonicalLenient(ev.Content())
	b, err2 := mjson.CanonicalLenient(content)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		return "", nil
	}
	stored, err := w.sw.EventsByID(w.ctx, []string{ev.EventID()})
	if err != nil {
		return "", err
	}
	if len(stored) == 1 && stored[0].RedactedBy != "" {
		return "", nil
	}
	return ev.EventID(), nil
}

// clientStateRules are the engine's rules for state events from clients,
// on top of the authorization rules.
func clientStateRules(w *writer, ev *pdu.Event, state store.StateMap) error {
	switch ev.Type() {
	case spec.MRoomEncryption:
		if !ev.StateKeyEquals("") {
			return nil
		}
		cur, err := w.stateEvents(state, []spec.StateKeyTuple{{Type: spec.MRoomEncryption}})
		if err != nil {
			return err
		}
		old := cur[spec.StateKeyTuple{Type: spec.MRoomEncryption}]
		if old == nil {
			return nil
		}
		var was, now struct {
			Algorithm any `json:"algorithm"`
		}
		json.Unmarshal(old.Content(), &was)
		json.Unmarshal(ev.Content(), &now)
		if was.Algorithm != nil && was.Algorithm != now.Algorithm {
			// Servers may refuse events; this one refuses to weaken or
			// remove a room's encryption.
			return spec.Forbidden("the encryption of an encrypted room cannot be changed or removed")
		}
		// A redaction of the encryption event (local ones are refused, see
		// redactionRules) does not weaken this rule: the engine keeps the
		// bytes events arrived with and applies redactions only when it
		// serves them, so old still carries its algorithm. An event that
		// reached us already pruned (its content no longer matches its
		// content hash) has lost it: the room was encrypted with an
		// algorithm we cannot know, so any may be set again, but not none.
		if was.Algorithm == nil && old.CheckContentHash() != nil {
			if a, ok := now.Algorithm.(string); !ok || a == "" {
				return spec.Forbidden("the encryption of an encrypted room cannot be removed")
			}
		}
	case spec.MRoomCanonicalAlias:
		if !ev.StateKeyEquals("") {
			return nil
		}
		return w.checkCanonicalAlias(ev, state)
	}
	return nil
}

// checkCanonicalAlias applies PUT state's rule for m.room.canonical_alias:
// aliases new to the event must be valid (M_INVALID_PARAM) and local ones
// must point to this room (M_BAD_ALIAS).
func (w *writer) checkCanonicalAlias(ev *pdu.Event, state store.StateMap) error {
	var now struct {
		Alias      *string   `json:"alias"`
		AltAliases *[]string `json:"alt_aliases"`
	}
	if err := json.Unmarshal(ev.Content(), &now); err != nil {
		return spec.InvalidParam("m.room.canonical_alias content is malformed")
	}
	known := map[string]bool{}
	cur, err := w.stateEvents(state, []spec.StateKeyTuple{{Type: spec.MRoomCanonicalAlias}})
	if err != nil {
		return err
	}
	if old := cur[spec.StateKeyTuple{Type: spec.MRoomCanonicalAlias}]; old != nil {
		var was struct {
			Alias      string   `json:"alias"`
			AltAliases []string `json:"alt_aliases"`
		}
		json.Unmarshal(old.Content(), &was)
		known[was.Alias] = true
		for _, a := range was.AltAliases {
			known[a] = true
		}
	}
	var check []string
	if now.Alias != nil && *now.Alias != "" {
		check = append(check, *now.Alias)
	}
	if now.AltAliases != nil {
		check = append(check, *now.AltAliases...)
	}
	for _, a := range check {
		if known[a] {
			continue
		}
		alias, err := spec.ParseRoomAlias(a)
		if err != nil {
			return spec.InvalidParam("invalid room alias %q", a)
		}
		if alias.Domain() != w.e.opts.ServerName {
			// NOTSPEC: aliases of other servers cannot be resolved without
			// federation; they are accepted unchecked.
			continue
		}
		target, err := w.e.store.AliasRoom(w.ctx, a)
		if errors.Is(err, store.ErrNotFound) || (err == nil && target.RoomID != w.room.ID) {
			return spec.NewError(400, "M_BAD_ALIAS", "room alias %s does not point to this room", a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Redact redacts an event (PUT /rooms/{roomId}/redact/{eventId}/{txnId})
// and returns the redaction's ID. Senders may redact their own events; the
// events of others need the redact power level (or, for server
// administrators, a sender of this server).
func (e *Engine) Redact(ctx context.Context, s Sender, roomID, eventID, txnID, reason string) (string, error) {
	if _, err := spec.ParseEventID(eventID); err != nil {
		return "", spec.NotFound("unknown event %s", eventID)
	}
	ri, err := e.writableRoom(ctx, roomID)
	if err != nil {
		return "", err
	}
	content := map[string]any{}
	if reason != "" {
		content["reason"] = reason
	}
	raw, _ := json.Marshal(content)
	return e.sendOne(ctx, ri, localEvent{
		Type: spec.MRoomRedaction, Sender: s.UserID.String(), Content: raw, Redacts: eventID,
		RedactionAccepted: true, check: redactionRules(s),
		Txn: &store.Txn{UserID: s.UserID.String(), DeviceID: s.DeviceID, Key: TxnKey("redact", roomID, eventID, txnID), ID: txnID},
	})
}

// redactionRules checks that s may redact the event a redaction names: it
// must exist in the room; an event of another sender needs the redact
// power level, unless s is an administrator and the sender is local.
func redactionRules(s Sender) func(w *writer, ev *pdu.Event, state store.StateMap) error {
	return func(w *writer, ev *pdu.Event, state store.StateMap) error {
		targets, err := w.sw.EventsByID(w.ctx, []string{ev.Redacts()})
		if err != nil {
			return err
		}
		if len(targets) == 0 || targets[0].RoomNID != w.room.NID {
			return spec.NotFound("unknown event %s", ev.Redacts())
		}
		target := targets[0]
		if target.Type == spec.MRoomEncryption && target.StateKey != nil && *target.StateKey == "" {
			// NOTSPEC: the spec lets m.room.encryption be redacted like any
			// event, and the redaction algorithm keeps none of its content,
			// so clients would read the room as unencrypted and fall back to
			// plaintext. A room's encryption can never be turned off here
			// (see clientStateRules), so its redaction is refused, even to
			// the event's sender.
			return spec.Forbidden("the m.room.encryption event of a room cannot be redacted: it would turn the room's encryption off")
		}
		if target.Sender == ev.Sender() {
			return nil
		}
		if s.Admin {
			if uid, err := spec.ParseHistoricalUserID(target.Sender); err == nil && uid.Domain() == w.e.opts.ServerName {
				return nil
			}
		}
		plState, err := w.stateEvents(state, []spec.StateKeyTuple{createTuple, {Type: spec.MRoomPowerLevels}})
		if err != nil {
			return err
		}
		pl, _ := eventauth.PowerLevelsFromState(plState, w.room.Version)
		if pl.UserLevel(ev.Sender()) < pl.Redact {
			return spec.Forbidden("redacting the events of others needs power level %d", pl.Redact)
		}
		return nil
	}
}
