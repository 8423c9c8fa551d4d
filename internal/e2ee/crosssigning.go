package e2ee

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// CrossSigningUpload is a POST /keys/device_signing/upload request: the
// key objects given (nil for absent ones).
type CrossSigningUpload struct {
	Master, SelfSigning, UserSigning json.RawMessage
}

// Authorize runs user-interactive authentication for an operation the
// caller is about to perform. It returns done, to call once the operation
// succeeded, or the error to answer with (the users service's
// *AuthRequired while authentication is incomplete).
type Authorize func(ctx context.Context, binding []string) (done func(), err error)

// crossSigningKey is a validated uploaded cross-signing key.
type crossSigningKey struct {
	usage string
	obj   object
	pub   ed25519.PublicKey
	rec   store.CrossSigningKey
}

// UploadCrossSigningKeys stores the caller's cross-signing keys.
//
// Each key must belong to the caller, have its usage, and hold exactly one
// ed25519 key "ed25519:<public key>" (400 M_INVALID_PARAM; wrong shapes
// 400 M_BAD_JSON). The self-signing and user-signing keys must be signed
// by the master key of the request or, without one, the stored one (400
// M_INVALID_SIGNATURE; 400 M_MISSING_PARAM if there is no master key). A
// public key equal to one of the caller's device IDs is 403 M_FORBIDDEN.
//
// As the spec requires (MSC3967), authorize is called (user-interactive
// authentication) only when the caller has a master key already and the
// request changes a key: a first upload, and an upload of the keys as
// stored, need none. An upload of the keys as stored changes nothing.
func (s *Service) UploadCrossSigningKeys(ctx context.Context, user spec.UserID, up CrossSigningUpload, authorize Authorize) error {
	var keys []crossSigningKey
	for _, k := range []struct {
		usage string
		raw   json.RawMessage
		name  string
	}{{store.UsageMaster, up.Master, "master_key"}, {store.UsageSelfSigning, up.SelfSigning, "self_signing_key"}, {store.UsageUserSigning, up.UserSigning, "user_signing_key"}} {
		if len(k.raw) == 0 || string(k.raw) == "null" {
			continue
		}
		ck, err := checkCrossSigningKey(user, k.usage, k.raw, k.name)
		if err != nil {
			return err
		}
		keys = append(keys, ck)
	}
	if len(keys) == 0 {
		return nil
	}
	storedList, err := s.store.CrossSigningKeys(ctx, []string{user.String()})
	if err != nil {
		return fmt.Errorf("reading cross-signing keys: %w", err)
	}
	stored := map[string]store.CrossSigningKey{}
	for _, k := range storedList {
		stored[k.Usage] = k
	}

	// The master key that must sign the others.
	var masterPub ed25519.PublicKey
	var masterID string
	if keys[0].usage == store.UsageMaster {
		masterPub, masterID = keys[0].pub, keys[0].rec.PublicKey
	} else if m, ok := stored[store.UsageMaster]; ok {
		masterID = m.PublicKey
		if masterPub, err = ed25519Key(m.PublicKey, "stored master key"); err != nil {
			return fmt.Errorf("stored master key of %s: %w", user, err)
		}
	} else {
		return spec.MissingParam("no master key: upload one with the other keys")
	}
	for _, k := range keys {
		if k.usage == store.UsageMaster {
			continue
		}
		if err := verifySignature(k.obj, user.String(), "ed25519:"+masterID, masterPub); err != nil {
			return signatureError(fmt.Sprintf("the master key's signature of the %s key", k.usage), err)
		}
	}

	// Device IDs and cross-signing key IDs share a namespace.
	if owner := s.owner(user); owner.Localpart != "" {
		devs, err := s.store.Devices(ctx, owner.Localpart)
		if err != nil {
			return fmt.Errorf("listing devices: %w", err)
		}
		for _, d := range devs {
			for _, k := range keys {
				if d.DeviceID == k.rec.PublicKey {
					return spec.Forbidden("the %s key's public key is the ID of one of your devices", k.usage)
				}
			}
		}
	}

	var changed []store.CrossSigningKey
	for _, k := range keys {
		if old, ok := stored[k.usage]; !ok || !bytes.Equal(old.JSON, k.rec.JSON) {
			changed = append(changed, k.rec)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	expectMaster := stored[store.UsageMaster].PublicKey
	done := func() {}
	if expectMaster != "" {
		binding := make([]string, 0, len(keys))
		for _, k := range keys {
			binding = append(binding, k.usage+":"+k.rec.PublicKey)
		}
		if done, err = authorize(ctx, binding); err != nil {
			return err
		}
	}
	pos, err := s.store.PutCrossSigningKeys(ctx, user.String(), changed, expectMaster)
	if errors.Is(err, store.ErrConflict) {
		return spec.NewError(409, spec.ErrUnknown, "the cross-signing keys changed during the upload; retry")
	}
	if err != nil {
		return fmt.Errorf("storing cross-signing keys: %w", err)
	}
	done()
	s.notify(StreamDeviceLists, pos)
	return nil
}

// checkCrossSigningKey validates an uploaded cross-signing key object.
func checkCrossSigningKey(user spec.UserID, usage string, raw json.RawMessage, what string) (crossSigningKey, error) {
	o, err := parseObject(raw, what)
	if err != nil {
		return crossSigningKey{}, err
	}
	pub, keyID, err := checkCrossSigningObject(o, user, usage, what)
	if err != nil {
		return crossSigningKey{}, err
	}
	o = o.without("unsigned")
	canon, err := o.canonical()
	if err != nil {
		return crossSigningKey{}, err
	}
	return crossSigningKey{usage: usage, obj: o, pub: pub,
		rec: store.CrossSigningKey{UserID: user.String(), Usage: usage, PublicKey: keyID, JSON: canon}}, nil
}

// checkCrossSigningObject checks the fields of a cross-signing key object
// and returns its public key (and the key's ID without "ed25519:").
func checkCrossSigningObject(o object, user spec.UserID, usage, what string) (ed25519.PublicKey, string, error) {
	var userID string
	var usages []string
	var keys map[string]string
	for _, f := range []struct {
		name string
		v    any
	}{{"user_id", &userID}, {"usage", &usages}, {"keys", &keys}} {
		if err := o.field(f.name, f.v, true, what); err != nil {
			return nil, "", err
		}
	}
	if _, err := signaturesOf(o, what); err != nil {
		return nil, "", err
	}
	if userID != user.String() {
		return nil, "", spec.InvalidParam("%s: user_id %q is not the caller", what, truncate(userID, 80))
	}
	if !slices.Contains(usages, usage) || len(usages) > 3 {
		return nil, "", spec.InvalidParam("%s: usage must include %q", what, usage)
	}
	if len(keys) != 1 {
		return nil, "", spec.InvalidParam("%s: keys must hold exactly one key", what)
	}
	for id, k := range keys {
		alg, keyID, _ := strings.Cut(id, ":")
		if alg != "ed25519" || keyID != k {
			return nil, "", spec.InvalidParam("%s: the key must be \"ed25519:<public key>\": <public key>", what)
		}
		pub, err := ed25519Key(k, what+": public key")
		if err != nil {
			return nil, "", err
		}
		return pub, keyID, nil
	}
	panic("unreachable")
}

// failure is an entry of the failures map of /keys/signatures/upload.
func failure(e *spec.Error) json.RawMessage {
	raw, _ := json.Marshal(map[string]string{"errcode": string(e.Code), "error": e.Message})
	return raw
}

// UploadSignatures stores the signatures of POST /keys/signatures/upload
// made by the caller (user on device deviceID): signatures of the caller's
// own device keys by the caller's self-signing key, of the caller's master
// key by the caller's devices, and of other users' master keys by the
// caller's user-signing key. Each signed object must match the stored key
// apart from its signatures, and each signature must verify; a key that
// fails gets an entry in the returned failures (user → key ID → error):
// M_NOT_FOUND for an unknown key, M_INVALID_PARAM for an object that does
// not match, M_INVALID_SIGNATURE for a signature that is missing or does
// not verify. Keys without failures are stored.
func (s *Service) UploadSignatures(ctx context.Context, user spec.UserID, deviceID string, req map[string]map[string]json.RawMessage) (map[string]map[string]json.RawMessage, error) {
	me := user.String()
	failures := map[string]map[string]json.RawMessage{}
	fail := func(u, k string, e *spec.Error) {
		if failures[u] == nil {
			failures[u] = map[string]json.RawMessage{}
		}
		failures[u][k] = failure(e)
	}
	n := 0
	users := []string{me}
	for u, keys := range req {
		n += len(keys)
		if u != me {
			users = append(users, u)
		}
	}
	if n > MaxClaims {
		return nil, spec.InvalidParam("at most %d signed keys per request", MaxClaims)
	}
	slices.Sort(users)
	cross, err := s.store.CrossSigningKeys(ctx, users)
	if err != nil {
		return nil, fmt.Errorf("reading cross-signing keys: %w", err)
	}
	csk := map[[2]string]store.CrossSigningKey{} // (user, usage) → key
	for _, k := range cross {
		csk[[2]string{k.UserID, k.Usage}] = k
	}
	myDevices, err := s.store.DeviceKeys(ctx, []store.DeviceKeysQuery{{KeyOwner: s.owner(user)}})
	if err != nil {
		return nil, fmt.Errorf("reading device keys: %w", err)
	}
	devices := map[string]store.DeviceKeys{}
	for _, d := range myDevices {
		devices[d.DeviceID] = d
	}

	var sigs []store.KeySignature
	var changes []store.DeviceListChange
	ownChanged := false
	for _, target := range slices.Sorted(maps.Keys(req)) {
		for _, keyID := range slices.Sorted(maps.Keys(req[target])) {
			o, err := parseObject(req[target][keyID], "signed key")
			if err != nil {
				fail(target, keyID, err.(*spec.Error))
				continue
			}
			got, e := s.checkSignedKey(me, target, keyID, o, csk, devices)
			if e != nil {
				fail(target, keyID, e)
				continue
			}
			sigs = append(sigs, got...)
			if target == me {
				ownChanged = true
			} else {
				changes = append(changes, store.DeviceListChange{UserID: target, Viewer: me})
			}
		}
	}
	if ownChanged {
		changes = append(changes, store.DeviceListChange{UserID: me})
	}
	if len(sigs) > 0 {
		pos, err := s.store.PutKeySignatures(ctx, sigs, changes)
		if err != nil {
			return nil, fmt.Errorf("storing signatures: %w", err)
		}
		s.notify(StreamDeviceLists, pos)
	}
	return failures, nil
}

// checkSignedKey checks one signed object of /keys/signatures/upload by
// signer and returns the signatures to store.
func (s *Service) checkSignedKey(signer, target, keyID string, o object, csk map[[2]string]store.CrossSigningKey, devices map[string]store.DeviceKeys) ([]store.KeySignature, *spec.Error) {
	unknown := spec.NotFound("no such key")
	var storedJSON []byte
	type signerKey struct {
		id  string
		pub string
	}
	var allowed []signerKey
	switch {
	case target != signer:
		// Another user's master key, signed by the signer's user-signing key.
		m, ok := csk[[2]string{target, store.UsageMaster}]
		if !ok || m.PublicKey != keyID {
			return nil, unknown
		}
		usk, ok := csk[[2]string{signer, store.UsageUserSigning}]
		if !ok {
			return nil, spec.NewError(400, spec.ErrInvalidSignature, "you have no user-signing key")
		}
		storedJSON = m.JSON
		allowed = []signerKey{{"ed25519:" + usk.PublicKey, usk.PublicKey}}
	case csk[[2]string{signer, store.UsageMaster}].PublicKey == keyID:
		// The signer's master key, signed by the signer's devices.
		storedJSON = csk[[2]string{signer, store.UsageMaster}].JSON
		for _, d := range devices {
			dk, err := parseObject(d.JSON, "stored device keys")
			if err != nil {
				continue
			}
			var keys map[string]string
			dk.field("keys", &keys, false, "stored device keys")
			if pub := keys[deviceKeyID(d.DeviceID)]; pub != "" {
				allowed = append(allowed, signerKey{deviceKeyID(d.DeviceID), pub})
			}
		}
	default:
		// One of the signer's devices, signed by the self-signing key.
		d, ok := devices[keyID]
		if !ok {
			return nil, unknown
		}
		ssk, ok := csk[[2]string{signer, store.UsageSelfSigning}]
		if !ok {
			return nil, spec.NewError(400, spec.ErrInvalidSignature, "you have no self-signing key")
		}
		storedJSON = d.JSON
		allowed = []signerKey{{"ed25519:" + ssk.PublicKey, ssk.PublicKey}}
	}
	stored, err := parseObject(storedJSON, "stored key")
	if err != nil {
		return nil, spec.Unknown(500, "stored key is not valid")
	}
	if !sameSignedContent(stored, o) {
		return nil, spec.InvalidParam("the signed object does not match the stored key")
	}
	sigs, err := signaturesOf(o, "signed key")
	if err != nil {
		return nil, err.(*spec.Error)
	}
	var out []store.KeySignature
	for _, k := range allowed {
		sig, ok := sigs[signer][k.id]
		if !ok {
			continue
		}
		pub, err := ed25519Key(k.pub, "signing key")
		if err != nil {
			continue
		}
		if err := verifySignature(o, signer, k.id, pub); err != nil {
			return nil, spec.NewError(400, spec.ErrInvalidSignature, "the signature by %s does not verify", k.id)
		}
		out = append(out, store.KeySignature{TargetUserID: target, TargetKeyID: keyID, SignerUserID: signer, SignerKeyID: k.id, Signature: sig})
	}
	if len(out) == 0 {
		return nil, spec.NewError(400, spec.ErrInvalidSignature, "no signature by a key allowed to sign this key")
	}
	return out, nil
}
