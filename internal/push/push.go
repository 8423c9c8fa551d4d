// Package push manages push rules: the specification's server-default
// rules merged with each user's own rules and changes, and the CRUD the
// client API offers on them; and pushers (Pushers), stored and listed.
// Evaluation of rules against events, delivery to push gateways and
// notification counts come later.
//
// A user's rules are stored as the global account data of type
// m.push_rules, so every change takes an account-data stream position and
// /sync sees it change like any other account data. The stored content has
// the shape clients see ({"global": ruleset}) but holds only the user's own
// rules and the server-default rules whose enabled flag or actions the user
// changed; reads (Ruleset, AccountDataContent) merge it with the current
// defaults, so a server upgrade that changes a default rule reaches every
// user who did not change that rule. /sync must therefore deliver
// AccountDataContent, not the stored row.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// AccountDataType is the account data type that holds the rules.
const AccountDataType = "m.push_rules"

// Stream is the name of the account-data stream, which rule changes move.
const Stream = "account_data"

// Notifier wakes readers of a stream when a position is committed
// (package notify's Notifier).
type Notifier interface {
	Notify(stream string, pos int64)
}

// Service is the push rules service.
type Service struct {
	store  store.AccountData
	notify Notifier
}

// New returns the service over st; n (may be nil) is told of every change.
func New(st store.AccountData, n Notifier) *Service { return &Service{store: st, notify: n} }

// content is the stored and delivered form of the rules.
type content struct {
	Global Ruleset `json:"global"`
}

func emptyRuleset() Ruleset {
	return Ruleset{Override: []Rule{}, Content: []Rule{}, Room: []Rule{}, Sender: []Rule{}, Underride: []Rule{}}
}

// decode merges stored content (nil when absent) with the user's defaults.
func decode(user spec.UserID, stored json.RawMessage) (Ruleset, error) {
	rs := emptyRuleset()
	if stored != nil {
		var c content
		if err := json.Unmarshal(stored, &c); err != nil {
			return rs, fmt.Errorf("push: stored rules of %s: %w", user, err)
		}
		for _, kind := range Kinds {
			if l := c.Global.Kind(kind); *l != nil {
				*rs.Kind(kind) = *l
			}
		}
	}
	return merge(rs, DefaultRuleset(user)), nil
}

// Ruleset returns the user's global ruleset: defaults merged with their
// own rules and changes.
func (s *Service) Ruleset(ctx context.Context, user spec.UserID) (Ruleset, error) {
	r, err := s.store.AccountData(ctx, user.Localpart(), "", AccountDataType)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Ruleset{}, fmt.Errorf("push: reading rules: %w", err)
	}
	return decode(user, r.Content)
}

// AccountDataContent returns the content of the user's m.push_rules
// account data event, {"global": ruleset}, as /sync and GET account_data
// deliver it.
func (s *Service) AccountDataContent(ctx context.Context, user spec.UserID) (json.RawMessage, error) {
	rs, err := s.Ruleset(ctx, user)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(content{Global: rs})
	if err != nil {
		return nil, fmt.Errorf("push: encoding rules: %w", err)
	}
	return b, nil
}

func checkKind(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return spec.InvalidParam("unknown push rule kind %q", kind)
	}
	return nil
}

func ruleNotFound() error { return spec.NotFound("the push rule was not found") }

// checkExistingKind checks the kind of a request that addresses an existing
// rule: a kind this server does not know holds no rule, so the rule is not
// found (404 M_NOT_FOUND, the spec's answer for an absent rule). Clients
// probe kinds of unstable proposals this way (MSC4306's postcontent) and
// take 404 for "not supported here".
func checkExistingKind(kind string) error {
	if !slices.Contains(Kinds, kind) {
		return ruleNotFound()
	}
	return nil
}

// Rule returns one rule. Errors: 404 M_NOT_FOUND for an absent rule or a
// kind this server does not know.
func (s *Service) Rule(ctx context.Context, user spec.UserID, kind, ruleID string) (Rule, error) {
	if err := checkExistingKind(kind); err != nil {
		return Rule{}, err
	}
	rs, err := s.Ruleset(ctx, user)
	if err != nil {
		return Rule{}, err
	}
	i := rs.Find(kind, ruleID)
	if i < 0 {
		return Rule{}, ruleNotFound()
	}
	return (*rs.Kind(kind))[i], nil
}

// update applies change to the user's ruleset and stores the result with a
// new account-data stream position, atomically.
func (s *Service) update(ctx context.Context, user spec.UserID, change func(rs *Ruleset) error) error {
	pos, err := s.store.UpdateAccountData(ctx, user.Localpart(), "", AccountDataType, func(cur json.RawMessage) (json.RawMessage, error) {
		rs, err := decode(user, cur)
		if err != nil {
			return nil, err
		}
		if err := change(&rs); err != nil {
			return nil, err
		}
		return json.Marshal(content{Global: storedForm(rs, DefaultRuleset(user))})
	})
	var se *spec.Error
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("push: storing rules: %w", err)
	}
	if err == nil && pos > 0 && s.notify != nil {
		s.notify.Notify(Stream, pos)
	}
	return err
}

// NewRule is the body of PUT /pushrules/global/{kind}/{ruleId}.
type NewRule struct {
	Actions    []json.RawMessage  `json:"actions"`
	Conditions *[]json.RawMessage `json:"conditions"`
	Pattern    *string            `json:"pattern"`
}

// MaxRuleIDBytes bounds rule IDs (room and user IDs, the longest natural
// ones, are at most 255 bytes).
const MaxRuleIDBytes = 255

// PutRule creates or updates a user-defined rule. A new rule is enabled and
// becomes the most important user rule of its kind unless before (the rule
// it is placed just above) or after (just below) names another user rule of
// the same kind; before wins when both are given. An update keeps the
// rule's enabled flag, and its place unless before or after is given.
//
// Errors: 400 M_INVALID_PARAM for an unknown kind or a rule ID that starts
// with "." or contains "/" or "\"; 400 M_MISSING_PARAM without actions, or
// without a pattern for a content rule; 400 M_BAD_JSON for malformed
// actions or conditions; 400 M_UNKNOWN when before or after names no user
// rule of the kind.
func (s *Service) PutRule(ctx context.Context, user spec.UserID, kind, ruleID, before, after string, r NewRule) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	switch {
	case ruleID == "":
		return spec.InvalidParam("empty push rule ID")
	case IsDefaultID(ruleID):
		return spec.InvalidParam("rule IDs starting with '.' are reserved for server-default rules")
	case strings.ContainsAny(ruleID, `/\`):
		return spec.InvalidParam("push rule IDs may not contain '/' or '\\'")
	case len(ruleID) > MaxRuleIDBytes:
		return spec.InvalidParam("push rule ID longer than %d bytes", MaxRuleIDBytes)
	}
	actions, err := validateActions(r.Actions)
	if err != nil {
		return err
	}
	rule := Rule{RuleID: ruleID, Enabled: true, Actions: actions}
	switch kind {
	case KindOverride, KindUnderride:
		conds := []json.RawMessage{}
		if r.Conditions != nil && *r.Conditions != nil {
			conds = *r.Conditions
		}
		if err := validateConditions(conds); err != nil {
			return err
		}
		rule.Conditions = &conds
	case KindContent:
		if r.Pattern == nil {
			return spec.MissingParam("content rules need a pattern")
		}
		p := *r.Pattern
		rule.Pattern = &p
	}
	anchor, below := before, false
	if anchor == "" && after != "" {
		anchor, below = after, true
	}
	return s.update(ctx, user, func(rs *Ruleset) error {
		list := rs.Kind(kind)
		if i := rs.Find(kind, ruleID); i >= 0 {
			rule.Enabled = (*list)[i].Enabled
			if anchor == "" {
				(*list)[i] = rule
				return nil
			}
			*list = slices.Delete(*list, i, i+1)
		}
		at := 0
		if kind == KindOverride && len(*list) > 0 && (*list)[0].RuleID == MasterRuleID {
			at = 1 // never above the master rule
		}
		if anchor != "" {
			j := -1
			if !IsDefaultID(anchor) {
				j = rs.Find(kind, anchor)
			}
			if j < 0 {
				return spec.Unknown(400, "before/after rule not found: %s", anchor)
			}
			at = j
			if below {
				at = j + 1
			}
		}
		*list = slices.Insert(*list, at, rule)
		return nil
	})
}

// DeleteRule removes a user-defined rule. Errors: 400 M_INVALID_PARAM for a
// server-default rule (which cannot be deleted, only disabled); 404
// M_NOT_FOUND for an absent rule or an unknown kind.
func (s *Service) DeleteRule(ctx context.Context, user spec.UserID, kind, ruleID string) error {
	if err := checkExistingKind(kind); err != nil {
		return err
	}
	return s.update(ctx, user, func(rs *Ruleset) error {
		i := rs.Find(kind, ruleID)
		if i < 0 {
			return ruleNotFound()
		}
		if (*rs.Kind(kind))[i].Default {
			return spec.InvalidParam("server-default push rules cannot be deleted; disable them instead")
		}
		list := rs.Kind(kind)
		*list = slices.Delete(*list, i, i+1)
		return nil
	})
}

// SetEnabled enables or disables a rule, user-defined or server-default.
// Errors as Rule.
func (s *Service) SetEnabled(ctx context.Context, user spec.UserID, kind, ruleID string, enabled bool) error {
	if err := checkExistingKind(kind); err != nil {
		return err
	}
	return s.update(ctx, user, func(rs *Ruleset) error {
		i := rs.Find(kind, ruleID)
		if i < 0 {
			return ruleNotFound()
		}
		(*rs.Kind(kind))[i].Enabled = enabled
		return nil
	})
}

// SetActions replaces a rule's actions, user-defined or server-default.
// Errors as Rule, and 400 M_BAD_JSON for malformed actions.
func (s *Service) SetActions(ctx context.Context, user spec.UserID, kind, ruleID string, actions []json.RawMessage) error {
	if err := checkExistingKind(kind); err != nil {
		return err
	}
	actions, err := validateActions(actions)
	if err != nil {
		return err
	}
	return s.update(ctx, user, func(rs *Ruleset) error {
		i := rs.Find(kind, ruleID)
		if i < 0 {
			return ruleNotFound()
		}
		(*rs.Kind(kind))[i].Actions = actions
		return nil
	})
}
