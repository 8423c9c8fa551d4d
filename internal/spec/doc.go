// Package spec holds the Matrix vocabulary shared by every other package:
// validated identifier types (user, room, event IDs, room aliases, server
// names), the standard error codes, the room versions described as data, and
// event-type constants.
//
// It imports only the standard library. Identifier types are built only by
// their Parse functions, so a value of one of these types is always valid for
// the grammar it was parsed against.
package spec
