package users

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"myelin/internal/spec"
	"myelin/internal/store"
)

// The user-interactive authentication stages Myelin offers.
const (
	StageDummy             = "m.login.dummy"
	StagePassword          = "m.login.password"
	StageRegistrationToken = "m.login.registration_token"
)

// UIASessionLifetime is how long a user-interactive authentication session
// (and a registration-token use it holds) lasts.
const UIASessionLifetime = 30 * time.Minute

// AuthDict is the "auth" object of a request to an endpoint that uses
// user-interactive authentication
// (https://spec.matrix.org/v1.19/client-server-api/#user-interactive-api-in-the-rest-api).
type AuthDict struct {
	// Type is the stage the client attempts; "" to ask how far it got.
	Type string
	// Session is the session ID the server gave; "" starts a new session.
	Session string
	// IdentifierType and User identify the user for m.login.password
	// (identifier.type and identifier.user, or the legacy "user" field
	// with IdentifierType "m.id.user").
	IdentifierType string
	User           string
	Password       string
	// Token is the m.login.registration_token token.
	Token string
}

// AuthRequired is the 401 answer of user-interactive authentication: the
// flows offered, the session to continue in, the stages completed so far
// and, when a stage attempt just failed, why (Err; nil otherwise).
type AuthRequired struct {
	Flows     [][]string
	Params    map[string]any
	Session   string
	Completed []string
	Err       *spec.Error
}

// Error implements error.
func (e *AuthRequired) Error() string {
	if e.Err != nil {
		return "user-interactive authentication: " + e.Err.Error()
	}
	return "user-interactive authentication required"
}

// uiaOp describes one operation protected by user-interactive auth.
type uiaOp struct {
	// purpose names the operation; a session serves one purpose only.
	purpose string
	// localpart is the authenticated user the session belongs to ("" for
	// registration); m.login.password must identify this user.
	localpart string
	// binding holds the non-secret request parameters the session is bound
	// to, so a completed session cannot authorize a different request.
	binding []string
	flows   [][]string
}

func (op uiaOp) bindingDigest() []byte {
	if len(op.binding) == 0 {
		return nil
	}
	h := sha256.New()
	for _, b := range op.binding {
		fmt.Fprintf(h, "%d:%s;", len(b), b)
	}
	return h.Sum(nil)
}

// authorize runs one round of user-interactive authentication for op with
// the client's auth dict (nil when the request had none). It returns the
// session once a flow is complete; the caller performs the operation and
// then deletes the session. Otherwise the error is *AuthRequired, or a
// *spec.Error for a request that cannot go on (e.g. 403 when the password
// stage names another user), or a storage failure.
func (s *Service) authorize(ctx context.Context, op uiaOp, auth *AuthDict) (store.UIASession, error) {
	if auth == nil {
		sess, err := s.newUIASession(ctx, op)
		if err != nil {
			return sess, err
		}
		return sess, s.challenge(op, sess, nil)
	}
	var sess store.UIASession
	if auth.Session == "" {
		var err error
		if sess, err = s.newUIASession(ctx, op); err != nil {
			return sess, err
		}
	} else {
		var err error
		sess, err = s.store.UIASession(ctx, auth.Session, s.now())
		if errors.Is(err, store.ErrNotFound) {
			return s.restart(ctx, op)
		}
		if err != nil {
			return sess, fmt.Errorf("reading UIA session: %w", err)
		}
		if sess.Purpose != op.purpose || sess.Localpart != op.localpart || !slices.Equal(sess.Binding, op.bindingDigest()) {
			return sess, spec.Forbidden("this authentication session was started for a different request")
		}
	}
	if flowComplete(op.flows, sess.Completed) {
		return sess, nil
	}
	if auth.Type == "" {
		return sess, s.challenge(op, sess, nil)
	}
	if slices.Contains(sess.Completed, auth.Type) {
		return sess, s.challenge(op, sess, nil)
	}
	if !offered(op.flows, auth.Type) {
		return sess, s.challenge(op, sess, spec.Unrecognized(401, "stage %q is not offered here", auth.Type))
	}
	if !nextInSomeFlow(op.flows, sess.Completed, auth.Type) {
		return sess, s.challenge(op, sess, spec.Forbidden("complete the earlier stages of a flow first"))
	}

	var err error
	switch auth.Type {
	case StageDummy:
		err = s.store.CompleteUIAStage(ctx, sess.ID, StageDummy, s.now())
	case StagePassword:
		if err := s.checkPasswordStage(ctx, op.localpart, auth); err != nil {
			var me *spec.Error
			if errors.As(err, &me) && me.Status == 401 {
				return sess, s.challenge(op, sess, me)
			}
			return sess, err
		}
		err = s.store.CompleteUIAStage(ctx, sess.ID, StagePassword, s.now())
	case StageRegistrationToken:
		if !validRegistrationToken(auth.Token) {
			return sess, s.challenge(op, sess, spec.NewError(401, spec.ErrUnauthorized, "invalid registration token"))
		}
		err = s.store.ReserveRegistrationToken(ctx, sess.ID, StageRegistrationToken, auth.Token, s.now())
		if errors.Is(err, store.ErrConflict) {
			return sess, s.challenge(op, sess, spec.NewError(401, spec.ErrUnauthorized, "invalid registration token"))
		}
	default:
		return sess, s.challenge(op, sess, spec.Unrecognized(401, "stage %q is not supported", auth.Type))
	}
	if errors.Is(err, store.ErrNotFound) {
		// Expired or consumed by a concurrent request meanwhile.
		return s.restart(ctx, op)
	}
	if err != nil {
		return sess, fmt.Errorf("completing UIA stage: %w", err)
	}
	sess.Completed = append(sess.Completed, auth.Type)
	if flowComplete(op.flows, sess.Completed) {
		return sess, nil
	}
	return sess, s.challenge(op, sess, nil)
}

// restart answers a request whose session is unknown or expired with a new
// session and the error saying so.
func (s *Service) restart(ctx context.Context, op uiaOp) (store.UIASession, error) {
	sess, err := s.newUIASession(ctx, op)
	if err != nil {
		return sess, err
	}
	return sess, s.challenge(op, sess, spec.Unknown(401, "unknown or expired authentication session; continue in the new one"))
}

func (s *Service) newUIASession(ctx context.Context, op uiaOp) (store.UIASession, error) {
	now := s.opts.Now()
	sess := store.UIASession{
		ID:        randomToken(),
		Purpose:   op.purpose,
		Localpart: op.localpart,
		Binding:   op.bindingDigest(),
		CreatedTS: now.UnixMilli(),
		ExpiresTS: now.Add(UIASessionLifetime).UnixMilli(),
	}
	if err := s.store.CreateUIASession(ctx, sess, now.UnixMilli()); err != nil {
		return sess, fmt.Errorf("storing UIA session: %w", err)
	}
	return sess, nil
}

func (s *Service) challenge(op uiaOp, sess store.UIASession, failure *spec.Error) *AuthRequired {
	return &AuthRequired{Flows: op.flows, Params: map[string]any{}, Session: sess.ID, Completed: sess.Completed, Err: failure}
}

// endUIASession deletes a session whose operation succeeded, so that it
// cannot authorize another. Failure is logged: the session expires anyway.
func (s *Service) endUIASession(ctx context.Context, sess store.UIASession) {
	if err := s.store.DeleteUIASession(ctx, sess.ID); err != nil {
		s.log.WarnContext(ctx, "deleting UIA session", "err", err)
	}
}

func flowComplete(flows [][]string, completed []string) bool {
	for _, f := range flows {
		if len(completed) >= len(f) && slices.Equal(completed[:len(f)], f) {
			return true
		}
	}
	return false
}

func offered(flows [][]string, stage string) bool {
	for _, f := range flows {
		if slices.Contains(f, stage) {
			return true
		}
	}
	return false
}

// nextInSomeFlow reports whether stage is the next stage, after the ones
// completed, of some flow: flows are completed in order.
func nextInSomeFlow(flows [][]string, completed []string, stage string) bool {
	for _, f := range flows {
		if len(f) > len(completed) && slices.Equal(f[:len(completed)], completed) && f[len(completed)] == stage {
			return true
		}
	}
	return false
}

// checkPasswordStage checks an m.login.password stage for the user
// localpart. A wrong password is 401 M_FORBIDDEN (the client may retry);
// an identifier naming another user is 403 M_FORBIDDEN.
func (s *Service) checkPasswordStage(ctx context.Context, localpart string, auth *AuthDict) error {
	switch auth.IdentifierType {
	case "m.id.user":
	case "":
		return spec.MissingParam("identifier is required")
	case "m.id.thirdparty", "m.id.phone":
		// The spec: an unknown third-party identifier is 403. Myelin binds none.
		return spec.Forbidden("no account has this third-party identifier")
	default:
		return spec.Unrecognized(400, "unsupported identifier type %q", auth.IdentifierType)
	}
	who, err := s.localpartOf(auth.User)
	if err != nil {
		return err
	}
	if who != localpart {
		return spec.Forbidden("the identifier does not name the authenticated user")
	}
	acct, err := s.store.Account(ctx, localpart)
	if err != nil {
		return fmt.Errorf("reading account: %w", err)
	}
	if !passwordMatches(acct.PasswordHash, auth.Password) {
		return spec.NewError(401, spec.ErrForbidden, "invalid password")
	}
	return nil
}

// localpartOf accepts a bare localpart or a full user ID of this server,
// lower-cased as accounts are.
func (s *Service) localpartOf(user string) (string, error) {
	if user == "" {
		return "", spec.MissingParam("identifier.user is required")
	}
	if !strings.HasPrefix(user, "@") {
		return strings.ToLower(user), nil
	}
	uid, err := spec.ParseHistoricalUserID(user)
	if err != nil {
		return "", spec.InvalidParam("identifier.user is not a user ID")
	}
	if uid.Domain() != s.opts.ServerName {
		return "", spec.Forbidden("the identifier does not name the authenticated user")
	}
	return strings.ToLower(uid.Localpart()), nil
}

// passwordFlows are the flows that confirm the identity of the owner of
// account localpart: its password. An account created without a password
// has no credential but its access token, so m.login.dummy serves.
func (s *Service) passwordFlows(ctx context.Context, localpart string) ([][]string, error) {
	acct, err := s.store.Account(ctx, localpart)
	if err != nil {
		return nil, fmt.Errorf("reading account: %w", err)
	}
	if acct.PasswordHash == "" {
		return [][]string{{StageDummy}}, nil
	}
	return [][]string{{StagePassword}}, nil
}
