package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"myelin/internal/mjson"
	"myelin/internal/spec"
)

// writeJSON sends v as the response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"errcode":"M_UNKNOWN","error":"internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// writeError sends err as a Matrix error. The internal cause, and any error
// that is not a *spec.Error, goes to the log only.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	me := asMatrixError(err)
	if me.Status >= 500 || me.Err != nil || me == errInternal {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := map[string]any{"errcode": me.Code, "error": me.Message}
	for k, v := range me.Extra {
		body[k] = v
	}
	writeJSON(w, me.Status, body)
}

// readJSON decodes the request body into v: at most limit bytes, valid JSON
// without duplicate keys, then typed decoding. Request bodies may hold
// floats (a tag's order is one); the stricter canonical-JSON rules of room
// versions 6+ apply to event content, which package pdu enforces.
// Malformed JSON is M_NOT_JSON; well-formed JSON of the wrong shape is
// M_BAD_JSON; an over-size body is M_TOO_LARGE.
func readJSON(r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return spec.Unknown(http.StatusBadRequest, "reading request body").Wrap(err)
	}
	if int64(len(body)) > limit {
		return spec.TooLarge("request body is larger than %d bytes", limit)
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := mjson.Valid(body, false); err != nil {
		return spec.NotJSON("request body is not valid JSON: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return spec.BadJSON("field %q has the wrong type", typeErr.Field)
		}
		return spec.BadJSON("request body has the wrong shape: %v", err)
	}
	return nil
}

// clientIP returns the remote address without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
