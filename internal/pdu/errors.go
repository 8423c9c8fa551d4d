package pdu

import (
	"errors"
	"fmt"
)

// ErrInvalidEvent is wrapped by every error Parse returns for an event that
// does not comply with its room version's event format. Such an event must
// be dropped, not stored as rejected.
var ErrInvalidEvent = errors.New("invalid event")

// FormatError describes why an event failed format validation: the field
// (a top-level key such as "depth", or a rule name such as "size") and the
// reason. It matches ErrInvalidEvent with errors.Is, and the underlying
// cause, if any, as well.
type FormatError struct {
	// Field is the top-level key or rule that failed.
	Field string
	// Reason says what is wrong with it.
	Reason string
	// Err is the underlying cause, or nil.
	Err error
}

// Error implements error.
func (e *FormatError) Error() string {
	msg := fmt.Sprintf("invalid event: %s: %s", e.Field, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrInvalidEvent and the cause, for errors.Is and errors.As.
func (e *FormatError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidEvent}
	}
	return []error{ErrInvalidEvent, e.Err}
}

func formatErr(field, reason string) error {
	return &FormatError{Field: field, Reason: reason}
}

func formatErrWrap(field, reason string, err error) error {
	return &FormatError{Field: field, Reason: reason, Err: err}
}
