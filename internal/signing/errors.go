package signing

import "errors"

// Sentinel errors. Functions wrap them with context; test with errors.Is.
// Errors from JSON decoding wrap the mjson sentinels (mjson.ErrSyntax, ...).
var (
	// ErrNotObject reports JSON input whose top-level value is not an object.
	ErrNotObject = errors.New("JSON value is not an object")
	// ErrMalformed reports a "signatures" or "hashes" member of the wrong shape
	// (not an object of objects of strings).
	ErrMalformed = errors.New("malformed signatures or hashes")
	// ErrMissingSignature reports that no signature exists for the requested
	// server name and key ID.
	ErrMissingSignature = errors.New("missing signature")
	// ErrBadBase64 reports a signature, hash or key that is not valid base64.
	ErrBadBase64 = errors.New("invalid base64")
	// ErrBadSignature reports a signature that does not verify (including one of
	// the wrong length).
	ErrBadSignature = errors.New("signature does not verify")
	// ErrInvalidKeyID reports a key ID not of the form algorithm:version.
	ErrInvalidKeyID = errors.New("invalid key ID")
	// ErrUnsupportedAlgorithm reports a key ID whose algorithm is not ed25519.
	ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")
	// ErrInvalidKey reports a key or seed of the wrong size.
	ErrInvalidKey = errors.New("invalid key")
	// ErrMissingHash reports an event without a hashes.sha256 string.
	ErrMissingHash = errors.New("missing sha256 content hash")
	// ErrHashMismatch reports an event whose content hash does not match.
	ErrHashMismatch = errors.New("content hash mismatch")
	// ErrInvalidXMatrix reports an Authorization header that is not a valid
	// X-Matrix credential.
	ErrInvalidXMatrix = errors.New("invalid X-Matrix authorization header")
	// ErrWrongDestination reports an X-Matrix destination other than ours.
	ErrWrongDestination = errors.New("X-Matrix destination does not match")
)
