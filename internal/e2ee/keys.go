package e2ee

import (
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

// KeyUpload is a POST /keys/upload request.
type KeyUpload struct {
	// DeviceKeys is the device_keys object, nil when absent.
	DeviceKeys json.RawMessage
	// OneTimeKeys and FallbackKeys map "<algorithm>:<key ID>" to a key: a
	// string or a key object.
	OneTimeKeys  map[string]json.RawMessage
	FallbackKeys map[string]json.RawMessage
}

// deviceKeyID is the key ID of a device's own ed25519 key.
func deviceKeyID(deviceID string) string { return "ed25519:" + deviceID }

// UploadKeys stores the caller's device keys, one-time keys and fallback
// keys, all or nothing, and returns the device's unclaimed one-time keys
// per algorithm.
//
// Device keys must name the caller and the caller's device (400
// M_INVALID_PARAM), hold the device's ed25519 and curve25519 keys under
// "<algorithm>:<device ID>", and carry a valid signature by the ed25519 key
// (400 M_INVALID_SIGNATURE). Keys of a device that has different keys
// already are refused (400 M_INVALID_PARAM): a device's identity does not
// change while it exists. Signed one-time and fallback keys (signed_*) must
// be signed by the device's ed25519 key. Options.LenientDeviceKeys turns
// the signature checks and the fixed identity off.
//
// A one-time key ID uploaded again with the same content is ignored; with
// different content it is 400 M_INVALID_PARAM. Missing or mistyped fields
// are 400 M_BAD_JSON; malformed keys 400 M_INVALID_PARAM.
func (s *Service) UploadKeys(ctx context.Context, user spec.UserID, deviceID string, up KeyUpload) (map[string]int64, error) {
	owner := s.owner(user)
	u := store.KeyUpload{KeyOwner: owner, DeviceID: deviceID, MaxOneTimeKeys: MaxOneTimeKeys}

	// The device's ed25519 key: from this upload, or as stored.
	var signingKey ed25519.PublicKey
	var newKeys object
	if len(up.DeviceKeys) > 0 && string(up.DeviceKeys) != "null" {
		dk, pub, err := s.checkDeviceKeys(user, deviceID, up.DeviceKeys)
		if err != nil {
			return nil, err
		}
		newKeys, signingKey = dk, pub
	}
	var stored object
	if newKeys != nil || len(up.OneTimeKeys) > 0 || len(up.FallbackKeys) > 0 {
		got, err := s.store.DeviceKeys(ctx, []store.DeviceKeysQuery{{KeyOwner: owner, DeviceIDs: []string{deviceID}}})
		if err != nil {
			return nil, fmt.Errorf("reading device keys: %w", err)
		}
		if len(got) > 0 {
			u.PrevDeviceKeys = got[0].JSON
			if stored, err = parseObject(got[0].JSON, "stored device keys"); err != nil {
				return nil, fmt.Errorf("stored device keys of %s %s: %w", user, deviceID, err)
			}
		}
	}
	if newKeys != nil {
		canon, err := newKeys.canonical()
		if err != nil {
			return nil, err
		}
		switch {
		case stored == nil:
			u.DeviceKeys = canon
		case string(canon) == string(u.PrevDeviceKeys):
			// The same keys again: nothing changes.
		default:
			var oldKeys, newMap map[string]string
			stored.field("keys", &oldKeys, false, "stored device keys")
			newKeys.field("keys", &newMap, false, "device_keys")
			if !maps.Equal(oldKeys, newMap) && !s.opts.LenientDeviceKeys {
				return nil, spec.InvalidParam("the identity keys of device %s cannot change; log in as a new device", deviceID)
			}
			u.DeviceKeys = canon
		}
	}
	if signingKey == nil && stored != nil {
		var keys map[string]string
		stored.field("keys", &keys, false, "stored device keys")
		signingKey, _ = ed25519Key(keys[deviceKeyID(deviceID)], "stored ed25519 key")
	}

	var err error
	if u.OneTimeKeys, err = s.checkOneTimeKeys(user, deviceID, signingKey, up.OneTimeKeys, "one_time_keys"); err != nil {
		return nil, err
	}
	if u.FallbackKeys, err = s.checkOneTimeKeys(user, deviceID, signingKey, up.FallbackKeys, "fallback_keys"); err != nil {
		return nil, err
	}
	algs := map[string]bool{}
	for _, k := range u.FallbackKeys {
		if algs[k.Algorithm] {
			return nil, spec.InvalidParam("fallback_keys: at most one key per algorithm")
		}
		algs[k.Algorithm] = true
	}

	res, err := s.store.UploadKeys(ctx, u)
	var kc *store.KeyConflict
	if errors.As(err, &kc) {
		switch kc.Kind {
		case store.ConflictOneTimeKey:
			return nil, spec.InvalidParam("one-time key %s was uploaded before with different content", kc.Key)
		case store.ConflictTooManyKeys:
			return nil, spec.InvalidParam("a device may hold at most %d unclaimed one-time keys of %s", MaxOneTimeKeys, kc.Key)
		default:
			return nil, spec.NewError(409, spec.ErrUnknown, "the device keys changed during the upload; retry")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("storing keys: %w", err)
	}
	s.notify(StreamDeviceLists, res.DeviceListPos)
	return withSignedCurve25519(res.Counts), nil
}

// withSignedCurve25519 adds signed_curve25519 to one-time key counts when
// the device has none of them. The spec lets servers omit zero counts, but
// some clients only replenish their keys when they see the count (Synapse
// always includes it too).
func withSignedCurve25519(counts map[string]int64) map[string]int64 {
	if counts == nil {
		counts = map[string]int64{}
	}
	if _, ok := counts["signed_curve25519"]; !ok {
		counts["signed_curve25519"] = 0
	}
	return counts
}

// checkDeviceKeys validates an uploaded device_keys object and returns it
// (without "unsigned") with its ed25519 key.
func (s *Service) checkDeviceKeys(user spec.UserID, deviceID string, raw json.RawMessage) (object, ed25519.PublicKey, error) {
	const what = "device_keys"
	o, err := parseObject(raw, what)
	if err != nil {
		return nil, nil, err
	}
	var userID, devID string
	var algorithms []string
	var keys map[string]string
	for _, f := range []struct {
		name string
		v    any
	}{{"user_id", &userID}, {"device_id", &devID}, {"algorithms", &algorithms}, {"keys", &keys}} {
		if err := o.field(f.name, f.v, true, what); err != nil {
			return nil, nil, err
		}
	}
	sigs, err := signaturesOf(o, what)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := o["signatures"]; !ok {
		return nil, nil, spec.BadJSON("%s: signatures is required", what)
	}
	if userID != user.String() {
		return nil, nil, spec.InvalidParam("%s: user_id %q is not the caller", what, truncate(userID, 80))
	}
	if devID != deviceID {
		return nil, nil, spec.InvalidParam("%s: device_id %q is not the caller's device", what, truncate(devID, 80))
	}
	if len(algorithms) > 100 || len(keys) > 100 || len(sigs) > 100 {
		return nil, nil, spec.InvalidParam("%s: too many algorithms, keys or signatures", what)
	}
	for id, k := range keys {
		alg, dev, ok := strings.Cut(id, ":")
		if !ok || alg == "" || dev != deviceID {
			return nil, nil, spec.InvalidParam("%s: key ID %q is not <algorithm>:%s", what, truncate(id, 80), deviceID)
		}
		if alg == "ed25519" || alg == "curve25519" {
			if _, err := decodeKey(k, 32, fmt.Sprintf("%s: key %s", what, id)); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, alg := range []string{"ed25519", "curve25519"} {
		if _, ok := keys[alg+":"+deviceID]; !ok {
			return nil, nil, spec.InvalidParam("%s: the %s key %s:%s is required", what, alg, alg, deviceID)
		}
	}
	pub, err := ed25519Key(keys[deviceKeyID(deviceID)], what+": ed25519 key")
	if err != nil {
		return nil, nil, err
	}
	o = o.without("unsigned")
	if !s.opts.LenientDeviceKeys {
		if err := verifySignature(o, user.String(), deviceKeyID(deviceID), pub); err != nil {
			return nil, nil, signatureError(what+": the device's own signature", err)
		}
	}
	return o, pub, nil
}

// signatureError turns a failed check of a required signature into 400
// M_INVALID_SIGNATURE (or the *spec.Error a malformed object gave).
func signatureError(what string, err error) error {
	var me *spec.Error
	if errors.As(err, &me) {
		return me
	}
	if errors.Is(err, errNoSignature) {
		return spec.NewError(400, spec.ErrInvalidSignature, "%s is missing", what)
	}
	return spec.NewError(400, spec.ErrInvalidSignature, "%s does not verify", what)
}

// checkOneTimeKeys validates uploaded one-time or fallback keys and returns
// them in canonical JSON, sorted by key ID.
func (s *Service) checkOneTimeKeys(user spec.UserID, deviceID string, signingKey ed25519.PublicKey, keys map[string]json.RawMessage, what string) ([]store.OneTimeKey, error) {
	out := make([]store.OneTimeKey, 0, len(keys))
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		alg, keyID, ok := strings.Cut(id, ":")
		if !ok || alg == "" || keyID == "" || len(id) > MaxIDBytes {
			return nil, spec.InvalidParam("%s: key ID %q is not <algorithm>:<key ID>", what, truncate(id, 80))
		}
		raw := keys[id]
		var canon []byte
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var k string
			json.Unmarshal(raw, &k)
			if strings.HasPrefix(alg, "signed_") {
				return nil, spec.BadJSON("%s: %s must be a key object", what, id)
			}
			if !validBase64(k) {
				return nil, spec.InvalidParam("%s: %s is not unpadded base64", what, id)
			}
			canon, _ = json.Marshal(k)
		case len(raw) > 0 && raw[0] == '{':
			o, err := parseObject(raw, what+": "+id)
			if err != nil {
				return nil, err
			}
			var key string
			if err := o.field("key", &key, true, what+": "+id); err != nil {
				return nil, err
			}
			if strings.HasSuffix(alg, "curve25519") {
				if _, err := decodeKey(key, 32, fmt.Sprintf("%s: %s: key", what, id)); err != nil {
					return nil, err
				}
			} else if !validBase64(key) {
				return nil, spec.InvalidParam("%s: %s: key is not unpadded base64", what, id)
			}
			if _, err := signaturesOf(o, what+": "+id); err != nil {
				return nil, err
			}
			if strings.HasPrefix(alg, "signed_") && !s.opts.LenientDeviceKeys {
				if _, ok := o["signatures"]; !ok {
					return nil, spec.BadJSON("%s: %s: signatures is required", what, id)
				}
				if signingKey == nil {
					return nil, spec.InvalidParam("%s: upload the device keys before signed keys", what)
				}
				if err := verifySignature(o, user.String(), deviceKeyID(deviceID), signingKey); err != nil {
					return nil, signatureError(fmt.Sprintf("%s: the device's signature of %s", what, id), err)
				}
			}
			if canon, err = o.canonical(); err != nil {
				return nil, err
			}
		default:
			return nil, spec.BadJSON("%s: %s must be a string or a key object", what, id)
		}
		out = append(out, store.OneTimeKey{Algorithm: alg, KeyID: keyID, JSON: canon})
	}
	return out, nil
}

// KeyCounts returns what /sync reports of a device's keys: its unclaimed
// one-time keys per algorithm, and the algorithms of its fallback keys no
// claim has used.
func (s *Service) KeyCounts(ctx context.Context, user spec.UserID, deviceID string) (map[string]int64, []string, error) {
	counts, unused, err := s.store.KeyCounts(ctx, user.String(), deviceID)
	if err != nil {
		return nil, nil, fmt.Errorf("reading key counts: %w", err)
	}
	return withSignedCurve25519(counts), unused, nil
}

// QueryResult is the response of POST /keys/query.
type QueryResult struct {
	Failures        map[string]json.RawMessage            `json:"failures"`
	DeviceKeys      map[string]map[string]json.RawMessage `json:"device_keys"`
	MasterKeys      map[string]json.RawMessage            `json:"master_keys"`
	SelfSigningKeys map[string]json.RawMessage            `json:"self_signing_keys"`
	UserSigningKeys map[string]json.RawMessage            `json:"user_signing_keys"`
}

// QueryKeys answers POST /keys/query for requester: the device keys of the
// queried users' devices (all of a user's devices when the list is empty),
// each with the signatures requester may see and the device's display
// name, and their master and self-signing keys; requester's own
// user-signing key when requester queries itself. Every queried local user
// appears in device_keys, with no devices when none has keys. Invalid user
// IDs are 400 M_INVALID_PARAM.
//
// Signatures uploaded through /keys/signatures/upload are shown only when
// made by requester's keys or by the key owner's own keys, so that nobody
// sees whom others have verified (the spec's rule).
func (s *Service) QueryKeys(ctx context.Context, requester spec.UserID, query map[string][]string) (*QueryResult, error) {
	if len(query) > MaxQueryUsers {
		return nil, spec.InvalidParam("at most %d users per query", MaxQueryUsers)
	}
	res := &QueryResult{
		Failures:        map[string]json.RawMessage{},
		DeviceKeys:      map[string]map[string]json.RawMessage{},
		MasterKeys:      map[string]json.RawMessage{},
		SelfSigningKeys: map[string]json.RawMessage{},
		UserSigningKeys: map[string]json.RawMessage{},
	}
	var qs []store.DeviceKeysQuery
	var userIDs []string
	for _, id := range slices.Sorted(maps.Keys(query)) {
		u, err := parseUser(id, "device_keys")
		if err != nil {
			return nil, err
		}
		if u.Domain() != s.opts.ServerName {
			res.Failures[string(u.Domain())] = remoteFailure()
			continue
		}
		res.DeviceKeys[id] = map[string]json.RawMessage{}
		qs = append(qs, store.DeviceKeysQuery{KeyOwner: s.owner(u), DeviceIDs: query[id]})
		userIDs = append(userIDs, id)
	}
	if len(qs) == 0 {
		return res, nil
	}
	devs, err := s.store.DeviceKeys(ctx, qs)
	if err != nil {
		return nil, fmt.Errorf("reading device keys: %w", err)
	}
	cross, err := s.store.CrossSigningKeys(ctx, userIDs)
	if err != nil {
		return nil, fmt.Errorf("reading cross-signing keys: %w", err)
	}
	sigs, err := s.store.KeySignatures(ctx, userIDs, requester.String())
	if err != nil {
		return nil, fmt.Errorf("reading signatures: %w", err)
	}
	extra := map[[2]string][]store.KeySignature{}
	for _, sg := range sigs {
		k := [2]string{sg.TargetUserID, sg.TargetKeyID}
		extra[k] = append(extra[k], sg)
	}
	for _, d := range devs {
		raw, err := withSignatures(d.JSON, extra[[2]string{d.UserID, d.DeviceID}], map[string]any{"device_display_name": d.DisplayName})
		if err != nil {
			s.log.ErrorContext(ctx, "stored device keys are not valid", "user", d.UserID, "device", d.DeviceID, "err", err)
			continue
		}
		res.DeviceKeys[d.UserID][d.DeviceID] = raw
	}
	for _, k := range cross {
		if k.Usage == store.UsageUserSigning && k.UserID != requester.String() {
			continue
		}
		raw, err := withSignatures(k.JSON, extra[[2]string{k.UserID, k.PublicKey}], nil)
		if err != nil {
			s.log.ErrorContext(ctx, "stored cross-signing key is not valid", "user", k.UserID, "usage", k.Usage, "err", err)
			continue
		}
		switch k.Usage {
		case store.UsageMaster:
			res.MasterKeys[k.UserID] = raw
		case store.UsageSelfSigning:
			res.SelfSigningKeys[k.UserID] = raw
		case store.UsageUserSigning:
			res.UserSigningKeys[k.UserID] = raw
		}
	}
	return res, nil
}

// withSignatures returns a stored key object with extra signatures merged
// into its own, and unsigned set when given.
func withSignatures(stored []byte, extra []store.KeySignature, unsigned map[string]any) (json.RawMessage, error) {
	if len(extra) == 0 && unsigned == nil {
		return stored, nil
	}
	o, err := parseObject(stored, "stored key")
	if err != nil {
		return nil, err
	}
	if len(extra) > 0 {
		sigs, err := signaturesOf(o, "stored key")
		if err != nil {
			return nil, err
		}
		if sigs == nil {
			sigs = signatures{}
		}
		for _, sg := range extra {
			if sigs[sg.SignerUserID] == nil {
				sigs[sg.SignerUserID] = map[string]string{}
			}
			sigs[sg.SignerUserID][sg.SignerKeyID] = sg.Signature
		}
		if o["signatures"], err = json.Marshal(sigs); err != nil {
			return nil, err
		}
	}
	if unsigned != nil {
		if o["unsigned"], err = json.Marshal(unsigned); err != nil {
			return nil, err
		}
	}
	return json.Marshal(o)
}

// ClaimResult is the response of POST /keys/claim.
type ClaimResult struct {
	Failures    map[string]json.RawMessage                       `json:"failures"`
	OneTimeKeys map[string]map[string]map[string]json.RawMessage `json:"one_time_keys"`
}

// ClaimKeys answers POST /keys/claim: for each user, device and algorithm,
// one unclaimed one-time key (the oldest upload first), or else the
// device's fallback key (which stays, marked used). No one-time key is
// ever handed out twice. Devices without a key of the algorithm, or
// unknown, are left out. Invalid user IDs are 400 M_INVALID_PARAM.
func (s *Service) ClaimKeys(ctx context.Context, claims map[string]map[string]string) (*ClaimResult, error) {
	res := &ClaimResult{Failures: map[string]json.RawMessage{}, OneTimeKeys: map[string]map[string]map[string]json.RawMessage{}}
	var list []store.KeyClaim
	for _, id := range slices.Sorted(maps.Keys(claims)) {
		u, err := parseUser(id, "one_time_keys")
		if err != nil {
			return nil, err
		}
		if u.Domain() != s.opts.ServerName {
			res.Failures[string(u.Domain())] = remoteFailure()
			continue
		}
		devs := claims[id]
		for _, dev := range slices.Sorted(maps.Keys(devs)) {
			if err := checkID(dev, "device ID"); err != nil {
				return nil, err
			}
			if err := checkID(devs[dev], "algorithm"); err != nil {
				return nil, err
			}
			list = append(list, store.KeyClaim{KeyOwner: s.owner(u), DeviceID: dev, Algorithm: devs[dev]})
		}
	}
	if len(list) > MaxClaims {
		return nil, spec.InvalidParam("at most %d keys per claim", MaxClaims)
	}
	got, err := s.store.ClaimKeys(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("claiming keys: %w", err)
	}
	for _, k := range got {
		if res.OneTimeKeys[k.UserID] == nil {
			res.OneTimeKeys[k.UserID] = map[string]map[string]json.RawMessage{}
		}
		res.OneTimeKeys[k.UserID][k.DeviceID] = map[string]json.RawMessage{k.Algorithm + ":" + k.KeyID: k.JSON}
	}
	return res, nil
}
