// Package mjson implements Matrix canonical JSON: a strict single-pass
// validator and canonical encoder, plus a lenient variant for the room
// versions (1 to 5) whose events may not comply with the canonical rules.
//
// The canonical form is defined in the Matrix specification, appendix
// "Canonical JSON": the shortest UTF-8 JSON encoding with object keys sorted
// by Unicode code point, no insignificant whitespace, and numbers that are
// integers in [-(2**53)+1, (2**53)-1] written without fraction, exponent or
// negative zero.
//
// Strings are written in their shortest form: only '"', '\\' and the control
// characters below U+0020 are escaped (\b \t \n \f \r as two-character
// escapes, the others as \u00XX with lowercase hexadecimal digits); every other
// code point, including non-ASCII, is written as raw UTF-8. Escaped input
// (\uXXXX, surrogate pairs, \/) is decoded. This is exactly the output of the
// specification's reference Python function and the "escaped" production of
// its grammar.
//
// All functions are pure: they do no I/O and hold no global state, and are safe
// for concurrent use.
package mjson
