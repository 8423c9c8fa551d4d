package httpapi

import (
	"encoding/json"
	"io"
	"net/http"

	"myelin/internal/mjson"
	"myelin/internal/spec"
)

// This file holds what the per-user data handlers (profile, account data,
// tags, push rules, presence, filters, user directory) share.

// readRawObject reads a request body that must be a JSON object and
// returns it in canonical form. Unlike readJSON it accepts numbers with a
// fraction or exponent (tag orders, client-defined account data), as the
// lenient canonical form keeps them as written; everything else (duplicate
// keys, invalid UTF-8, nesting) is as strict. Errors: 413 M_TOO_LARGE over
// limit; 400 M_NOT_JSON for an empty body or invalid JSON; 400 M_BAD_JSON
// for JSON that is not an object.
func readRawObject(r *http.Request, limit int64) (json.RawMessage, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, spec.Unknown(http.StatusBadRequest, "reading request body").Wrap(err)
	}
	if int64(len(body)) > limit {
		return nil, spec.TooLarge("request body is larger than %d bytes", limit)
	}
	canon, err := mjson.CanonicalLenient(body)
	if err != nil {
		return nil, spec.NotJSON("request body is not valid JSON: %v", err)
	}
	if len(canon) == 0 || canon[0] != '{' {
		return nil, spec.BadJSON("request body must be a JSON object")
	}
	return canon, nil
}

// decodeRaw decodes a body already read by readRawObject into v; a field
// of the wrong type is 400 M_BAD_JSON.
func decodeRaw(body json.RawMessage, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return spec.BadJSON("field %q has the wrong type", te.Field)
		}
		return spec.BadJSON("request body has the wrong shape")
	}
	return nil
}

// ownUser returns the caller when the path's {userId} names them: users
// may only touch their own data (403 M_FORBIDDEN otherwise).
func ownUser(r *http.Request) (spec.UserID, error) {
	c := caller(r)
	if r.PathValue("userId") != c.UserID.String() {
		return spec.UserID{}, spec.Forbidden("cannot access another user's data")
	}
	return c.UserID, nil
}
