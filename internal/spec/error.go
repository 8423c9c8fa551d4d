package spec

import "fmt"

// Error is the one error type that reaches clients: a Matrix errcode, the
// HTTP status to answer with, a message safe to show, optional extra
// response fields, and the internal cause, which is logged and never sent.
//
// Services return *Error for every failure a client should see; any other
// error becomes 500 M_UNKNOWN with a generic message.
type Error struct {
	Code    ErrCode
	Status  int
	Message string
	// Extra fields of the response body, e.g. retry_after_ms, soft_logout.
	Extra map[string]any
	// Err is the internal cause: logged, never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Code, e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns a copy of e that carries cause as its internal cause.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// With returns a copy of e with an extra response field set.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

// NewError builds an error from its parts.
func NewError(status int, code ErrCode, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Constructors for the common cases, with the status the spec gives each code.

// Forbidden is 403 M_FORBIDDEN.
func Forbidden(format string, args ...any) *Error {
	return NewError(403, ErrForbidden, format, args...)
}

// NotFound is 404 M_NOT_FOUND.
func NotFound(format string, args ...any) *Error { return NewError(404, ErrNotFound, format, args...) }

// BadJSON is 400 M_BAD_JSON: well-formed JSON with the wrong shape or values.
func BadJSON(format string, args ...any) *Error { return NewError(400, ErrBadJSON, format, args...) }

// NotJSON is 400 M_NOT_JSON: a body that is not valid JSON.
func NotJSON(format string, args ...any) *Error { return NewError(400, ErrNotJSON, format, args...) }

// InvalidParam is 400 M_INVALID_PARAM.
func InvalidParam(format string, args ...any) *Error {
	return NewError(400, ErrInvalidParam, format, args...)
}

// MissingParam is 400 M_MISSING_PARAM.
func MissingParam(format string, args ...any) *Error {
	return NewError(400, ErrMissingParam, format, args...)
}

// Unrecognized is M_UNRECOGNIZED with the given status (404 or 405).
func Unrecognized(status int, format string, args ...any) *Error {
	return NewError(status, ErrUnrecognized, format, args...)
}

// Unknown is M_UNKNOWN with the given status.
func Unknown(status int, format string, args ...any) *Error {
	return NewError(status, ErrUnknown, format, args...)
}

// TooLarge is 413 M_TOO_LARGE.
func TooLarge(format string, args ...any) *Error { return NewError(413, ErrTooLarge, format, args...) }

// LimitExceeded is 429 M_LIMIT_EXCEEDED with retry_after_ms.
func LimitExceeded(retryAfterMS int64) *Error {
	return NewError(429, ErrLimitExceeded, "too many requests").With("retry_after_ms", retryAfterMS)
}

// MissingToken is 401 M_MISSING_TOKEN.
func MissingToken() *Error { return NewError(401, ErrMissingToken, "missing access token") }

// UnknownToken is 401 M_UNKNOWN_TOKEN (soft_logout false).
func UnknownToken() *Error {
	return NewError(401, ErrUnknownToken, "unknown or expired access token").With("soft_logout", false)
}
