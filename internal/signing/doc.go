// Package signing implements Matrix server signing keys, JSON signatures,
// event content and reference hashes, and the X-Matrix request authorization
// header.
//
// Specification: appendices "Signing JSON", "Signing Details", "Checking for a
// Signature" and "Unpadded Base64"; server-server API "Request
// Authentication", "Retrieving server keys" and "Signing Events".
//
// Canonicalization. Signing, verifying and request authentication canonicalize
// with mjson.CanonicalLenient: for input that satisfies the strict canonical
// rules it produces exactly the bytes mjson.Canonical does, and it also
// handles the non-compliant numbers that events of room versions 1 to 5 (and
// request bodies carrying such events) may contain. Enforcing the strict rules
// for newer room versions is the caller's job (package pdu); the hash
// functions take a strict flag so that pdu can do it in the same pass.
//
// The package is pure: no I/O, no global state; key lookup is the caller's.
package signing
