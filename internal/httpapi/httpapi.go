// Package httpapi is Myelin's transport: one route table (stdlib ServeMux
// "METHOD /path" patterns), one small handler per endpoint, authentication
// middleware, JSON decoding with size limits, CORS, rate limits, and the
// mapping of errors to Matrix error responses.
//
// Handlers decode and validate input, call a service, and encode the answer;
// the rules live in the services. httpapi never touches storage.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"myelin/internal/spec"
	"myelin/internal/users"
)

// Options configures the HTTP layer.
type Options struct {
	ServerName      spec.ServerName
	MaxRequestBytes int64
	// RateLimit turns per-user and per-IP rate limiting on.
	RateLimit bool
	Logger    *slog.Logger
	// Version is reported by /_matrix/federation/v1/version and logs.
	Version string
}

// API serves the client-facing HTTP endpoints.
type API struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	svc     Services
	limiter *rateLimiter
}

// Services are the services the handlers call. Each field is an interface
// declared here, in the consumer, listing only what the handlers use.
type Services struct {
	Users       Users
	Profiles    Profiles
	AccountData AccountData
	PushRules   PushRules
	Presence    Presence
	Filters     Filters
	Rooms       Rooms
	Typing      Typing
	Receipts    Receipts
	Directory   Directory
	Sync        Sync
	E2EE        E2EE
	Authorizer  Authorizer
	Relations   Relations
	Pushers     Pushers
	Search      Search
	Media       Media
	// Scanner is nil unless a content scanner is configured.
	Scanner Scanner
	// Notices is nil when server notices are off.
	Notices Notices
	// Dehydration is nil when dehydrated devices (MSC3814) are off.
	Dehydration Dehydration
}

// New builds the API over its services.
func New(opts Options, svc Services) *API {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{opts: opts, log: opts.Logger, mux: http.NewServeMux(), svc: svc}
	if opts.RateLimit {
		a.limiter = newRateLimiter(10, 30)
	}
	for _, rt := range a.routes() {
		a.register(rt)
	}
	return a
}

// ServeHTTP implements http.Handler: CORS, then the route table, with
// Matrix errors for unknown paths (404) and wrong methods (405).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	h, pattern := a.mux.Handler(r)
	if pattern == "" {
		// No route: ask the mux whether the path exists for another method.
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			if allow := probe.header.Get("Allow"); allow != "" {
				w.Header().Set("Allow", allow)
			}
			writeError(w, r, a.log, spec.Unrecognized(http.StatusMethodNotAllowed, "method %s not allowed here", r.Method))
			return
		}
		writeError(w, r, a.log, spec.Unrecognized(http.StatusNotFound, "unrecognized request"))
		return
	}
	a.mux.ServeHTTP(w, r)
}

// statusProbe records what the mux's fallback handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "X-Requested-With, Content-Type, Authorization")
}

// authKind says what authentication a route needs.
type authKind int

const (
	authNone     authKind = iota // anyone
	authUser                     // a valid access token
	authOptional                 // a token if given must be valid
)

// route is one row of the route table.
type route struct {
	method string
	// path is relative to /_matrix/client/{v3,r0} when it does not start
	// with "/", absolute otherwise.
	path string
	auth authKind
	// r0 also serves the route under the legacy /_matrix/client/r0 prefix,
	// for endpoints that existed in r0.
	r0 bool
	// v1 serves a relative path under /_matrix/client/v1 instead of v3.
	v1      bool
	handler func(w http.ResponseWriter, r *http.Request)
}

func (a *API) register(rt route) {
	var paths []string
	switch {
	case strings.HasPrefix(rt.path, "/"):
		paths = []string{rt.path}
	case rt.v1:
		paths = []string{"/_matrix/client/v1/" + rt.path}
	default:
		paths = []string{"/_matrix/client/v3/" + rt.path}
		if rt.r0 {
			paths = append(paths, "/_matrix/client/r0/"+rt.path)
		}
	}
	h := a.withAuth(rt.auth, rt.handler)
	for _, p := range paths {
		a.mux.HandleFunc(rt.method+" "+p, h)
	}
}

type ctxKey int

const requesterKey ctxKey = iota

// caller returns the authenticated caller; zero on routes without
// authentication.
func caller(r *http.Request) users.Caller {
	c, _ := r.Context().Value(requesterKey).(users.Caller)
	return c
}

func (a *API) withAuth(kind authKind, next func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if kind == authNone {
			if !a.allow(w, r, "") {
				return
			}
			next(w, r)
			return
		}
		token, err := accessToken(r)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		if token == "" {
			if kind == authOptional {
				next(w, r)
				return
			}
			writeError(w, r, a.log, spec.MissingToken())
			return
		}
		c, err := a.svc.Users.Authenticate(r.Context(), token, clientIP(r))
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		if !a.allow(w, r, c.UserID.String()) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), requesterKey, c)))
	}
}

// accessToken reads the token from the Authorization header, or from the
// access_token query parameter, which the spec still allows (deprecated
// since v1.11).
func accessToken(r *http.Request) (string, error) {
	header := r.Header.Get("Authorization")
	query := r.URL.Query().Get("access_token")
	if header != "" {
		scheme, token, ok := strings.Cut(header, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", spec.MissingToken()
		}
		return strings.TrimSpace(token), nil
	}
	return query, nil
}

// allow applies the rate limit; it writes the 429 and returns false when
// the caller is over it.
func (a *API) allow(w http.ResponseWriter, r *http.Request, user string) bool {
	if a.limiter == nil {
		return true
	}
	key := user
	if key == "" {
		key = "ip:" + clientIP(r)
	}
	if wait, ok := a.limiter.take(key); !ok {
		writeError(w, r, a.log, spec.LimitExceeded(wait.Milliseconds()))
		return false
	}
	return true
}

// errInternal is what clients see of an unexpected error.
var errInternal = spec.Unknown(http.StatusInternalServerError, "internal server error")

// asMatrixError maps any error to the response to send.
func asMatrixError(err error) *spec.Error {
	var me *spec.Error
	if errors.As(err, &me) {
		return me
	}
	return errInternal
}
