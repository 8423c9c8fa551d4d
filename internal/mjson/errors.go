package mjson

import (
	"errors"
	"strconv"
)

// Sentinel errors describing why input was rejected. Every error returned by
// this package's decoding functions is a *SyntaxError whose Unwrap returns one
// of these, so callers can classify failures with errors.Is.
var (
	// ErrSyntax reports input that is not JSON at all (RFC 8259 grammar), including
	// raw control characters in strings, bad escapes and empty input.
	ErrSyntax = errors.New("invalid JSON syntax")
	// ErrTrailingData reports non-whitespace data after the top-level value.
	ErrTrailingData = errors.New("trailing data after JSON value")
	// ErrDuplicateKey reports an object with two members whose keys are equal
	// after unescaping.
	ErrDuplicateKey = errors.New("duplicate object key")
	// ErrNumberOutOfRange reports an integer outside [-(2**53)+1, (2**53)-1].
	ErrNumberOutOfRange = errors.New("integer out of canonical range")
	// ErrFloat reports a number written with a fraction or an exponent.
	ErrFloat = errors.New("number with fraction or exponent")
	// ErrNegativeZero reports the number -0.
	ErrNegativeZero = errors.New("negative zero")
	// ErrInvalidUTF8 reports a string containing bytes that are not valid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrLoneSurrogate reports a \u escape of a UTF-16 surrogate that is not part
	// of a high-low surrogate pair, which has no UTF-8 encoding.
	ErrLoneSurrogate = errors.New("unpaired UTF-16 surrogate escape")
	// ErrTooDeep reports objects and arrays nested deeper than MaxDepth.
	ErrTooDeep = errors.New("JSON nested too deeply")
	// ErrTooLarge reports input longer than MaxInputSize.
	ErrTooLarge = errors.New("JSON input too large")
)

// SyntaxError is the error type returned for rejected input. Offset is the
// byte offset in the input where the problem was detected.
type SyntaxError struct {
	// Err is one of the package's sentinel errors.
	Err error
	// Offset is the byte offset of the offending token in the input.
	Offset int
	// Detail is a short human-readable explanation; it may be empty.
	Detail string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	msg := "mjson: " + e.Err.Error()
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *SyntaxError) Unwrap() error { return e.Err }
