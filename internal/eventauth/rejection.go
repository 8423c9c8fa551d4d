package eventauth

import (
	"errors"
	"strconv"
	"strings"
)

// Rejection is the error returned when the authorization rules reject an
// event. Rule is the number of the rule that rejected it in the room
// version's own rule list of the spec, e.g. "4.4.1" or "10.4"; Reason says
// why in words.
type Rejection struct {
	Rule   string
	Reason string
}

// Error formats the rejection as "auth rule <Rule>: <Reason>".
func (r *Rejection) Error() string {
	return "auth rule " + r.Rule + ": " + r.Reason
}

// AsRejection returns the *Rejection in err's chain, or nil when err is not
// (or does not wrap) a rejection.
func AsRejection(err error) *Rejection {
	var r *Rejection
	if errors.As(err, &r) {
		return r
	}
	return nil
}

// ruleID is a rule number as a path of list positions, e.g. {4, 4, 1}. A
// zero value means the rule does not exist in the room version.
type ruleID []int

func (r ruleID) String() string {
	var b strings.Builder
	for i, n := range r {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// sub returns the rule number r.n.
func (r ruleID) sub(n ...int) ruleID {
	out := make(ruleID, 0, len(r)+len(n))
	return append(append(out, r...), n...)
}

func reject(rule ruleID, reason string) *Rejection {
	return &Rejection{Rule: rule.String(), Reason: reason}
}
