package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// BridgeChannel is the PostgreSQL notification channel on which the
// processes sharing one database wake each other.
const BridgeChannel = "myelin_streams"

// bridged reports whether the positions of stream come from the database:
// the bridge carries only those. A position of a stream a process counts
// itself (typing's versions) means nothing to another process, and would
// make its waiters believe in a position its readers never reach.
func bridged(stream string) bool {
	switch stream {
	case StreamEvents, StreamAccountData, StreamReceipts, StreamPresence, StreamToDevice, StreamDeviceLists:
		return true
	}
	return false
}

// Bridge limits and timings.
const (
	// maxPayload keeps a notification under PostgreSQL's 8000-byte payload
	// limit.
	maxPayload = 7900
	// maxPendingTyping bounds the typing changes waiting to be published
	// (only reached when the database does not answer).
	maxPendingTyping = 1000
	// listenKeepalive: after this long without a notification the
	// listener pings its connection, so a silently dead one is noticed.
	listenKeepalive = 30 * time.Second
	pingTimeout     = 10 * time.Second
	// flushTimeout bounds the last publish when the bridge stops.
	flushTimeout = 2 * time.Second
	// maxTypingTimeoutMS bounds a received typing timeout before it
	// becomes a Duration (the typing service caps it lower).
	maxTypingTimeoutMS = int64(time.Hour / time.Millisecond)
)

// BridgeOptions configures a Bridge.
type BridgeOptions struct {
	// URL is the PostgreSQL URL of the store: the bridge holds a connection
	// of its own on it that LISTENs.
	URL string
	// Logger (nil: discard).
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait before reconnecting the
	// listener after a failure (0: 100 ms and 10 s). The wait doubles
	// with every failure in a row.
	MinBackoff, MaxBackoff time.Duration
}

// BridgeSinks receive what the other processes publish.
type BridgeSinks struct {
	// Streams is told the positions other processes committed (package
	// notify's Notifier).
	Streams interface {
		Deliver(stream string, pos int64)
	}
	// Typing (may be nil) applies other processes' typing changes
	// (package typing's Service).
	Typing interface {
		SetTypingFromPeer(roomID, userID string, typing bool, timeout time.Duration)
	}
}

// Bridge wakes the other processes sharing this PostgreSQL database
// (DESIGN.md, principle 5). It carries only "stream S reached position P"
// (readers always fetch the data from the database) and typing changes,
// which live in each process's memory.
//
// Outgoing: Relay and PublishTyping queue what to send without blocking; a
// publisher sends it with pg_notify on the store's pool, one notification
// for everything queued meanwhile (only the highest position of a stream
// is kept). Incoming: a listener holds one dedicated connection that
// LISTENs on BridgeChannel and hands what other processes sent to the
// sinks, skipping its own. When that connection fails it reconnects with
// backoff and then delivers every stream's current position from the
// database, so that no waiter sleeps through what it missed meanwhile.
// Typing changes missed meanwhile are not replayed (see package typing).
//
// The wire format, one notification: this bridge's random ID, then one
// line per item, "s <stream> <position>" or "t <JSON typing change>".
type Bridge struct {
	db   *DB
	url  string
	log  *slog.Logger
	id   string
	minB time.Duration
	maxB time.Duration

	mu      sync.Mutex
	streams map[string]int64 // to publish: the highest position per stream
	typing  []string         // to publish: "t" lines, in order
	dropped int              // typing changes dropped since the last warning
	kick    chan struct{}    // cap 1: something is queued

	// listenerPID is the backend PID of the listening connection (0 when
	// not connected); connects counts successful (re)connects.
	listenerPID atomic.Uint32
	connects    atomic.Int64
}

// typingChange is a "t" line's JSON.
type typingChange struct {
	RoomID    string `json:"room_id"`
	UserID    string `json:"user_id"`
	Typing    bool   `json:"typing"`
	TimeoutMS int64  `json:"timeout_ms"`
}

// NewBridge returns a bridge for this PostgreSQL store. It does nothing
// until Run.
func (db *DB) NewBridge(opts BridgeOptions) (*Bridge, error) {
	if db.engine != Postgres {
		return nil, errors.New("sqlstore: the bridge needs PostgreSQL (one SQLite database has one process)")
	}
	if opts.URL == "" {
		return nil, errors.New("sqlstore: bridge: no PostgreSQL URL")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(10*time.Second, opts.MinBackoff)
	}
	var id [8]byte
	rand.Read(id[:])
	return &Bridge{
		db: db, url: opts.URL, log: opts.Logger, id: hex.EncodeToString(id[:]),
		minB: opts.MinBackoff, maxB: opts.MaxBackoff,
		streams: map[string]int64{}, kick: make(chan struct{}, 1),
	}, nil
}

// Relay queues "stream reached pos" for the other processes (package
// notify's Relay). Streams whose positions do not come from the database
// are left out. It does not block.
func (b *Bridge) Relay(stream string, pos int64) {
	if !bridged(stream) || pos <= 0 {
		return
	}
	b.mu.Lock()
	if pos > b.streams[stream] {
		b.streams[stream] = pos
	}
	b.mu.Unlock()
	b.wake()
}

// PublishTyping queues a typing change for the other processes (package
// typing's Peers). It does not block.
func (b *Bridge) PublishTyping(roomID, userID string, typing bool, timeout time.Duration) {
	line, err := json.Marshal(typingChange{RoomID: roomID, UserID: userID, Typing: typing, TimeoutMS: timeout.Milliseconds()})
	if err != nil {
		return // strings and numbers always marshal
	}
	b.mu.Lock()
	if len(b.typing) >= maxPendingTyping {
		b.typing = b.typing[1:]
		b.dropped++
	}
	b.typing = append(b.typing, "t "+string(line))
	b.mu.Unlock()
	b.wake()
}

func (b *Bridge) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// take empties the queue into notification payloads.
func (b *Bridge) take() (payloads []string, dropped int) {
	b.mu.Lock()
	lines := make([]string, 0, len(b.streams)+len(b.typing))
	for s, p := range b.streams {
		lines = append(lines, "s "+s+" "+strconv.FormatInt(p, 10))
	}
	clear(b.streams)
	lines = append(lines, b.typing...)
	b.typing = nil
	dropped, b.dropped = b.dropped, 0
	b.mu.Unlock()

	var cur strings.Builder
	for _, l := range lines {
		if len(l) > maxPayload-len(b.id)-2 {
			continue // no valid room and user ID make a line this long
		}
		if cur.Len() > 0 && cur.Len()+1+len(l) > maxPayload {
			payloads = append(payloads, cur.String())
			cur.Reset()
		}
		if cur.Len() == 0 {
			cur.WriteString(b.id)
		}
		cur.WriteByte('\n')
		cur.WriteString(l)
	}
	if cur.Len() > 0 {
		payloads = append(payloads, cur.String())
	}
	return payloads, dropped
}

// Run publishes what is queued and listens to the other processes until
// ctx ends; then it publishes what is still queued (for at most a short
// while) and returns once its connection is closed.
func (b *Bridge) Run(ctx context.Context, sinks BridgeSinks) {
	var wg sync.WaitGroup
	wg.Go(func() { b.listen(ctx, sinks) })
	b.publishLoop(ctx)
	wg.Wait()
}

func (b *Bridge) publishLoop(ctx context.Context) {
	for {
		select {
		case <-b.kick:
			b.publish(ctx)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			b.publish(fctx)
			cancel()
			return
		}
	}
}

// publish sends what is queued. A failure is logged and the notification
// dropped: waiters elsewhere then wake at their timeout, or at the next
// notification, which carries the later position.
func (b *Bridge) publish(ctx context.Context) {
	payloads, dropped := b.take()
	if dropped > 0 {
		b.log.Warn("bridge: typing changes dropped while the database did not answer", "count", dropped)
	}
	for _, p := range payloads {
		if _, err := b.db.write.ExecContext(ctx, `SELECT pg_notify($1, $2)`, BridgeChannel, p); err != nil {
			b.log.Warn("bridge: notifying the other processes failed", "err", err)
			return
		}
	}
}

// listen keeps a listening connection until ctx ends, reconnecting with
// backoff.
func (b *Bridge) listen(ctx context.Context, sinks BridgeSinks) {
	backoff := b.minB
	for {
		start := time.Now()
		err := b.listenOnce(ctx, sinks)
		b.listenerPID.Store(0)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > b.maxB {
			backoff = b.minB // it ran well for a while: not a failure in a row
		}
		b.log.Warn("bridge: listening to the other processes failed; reconnecting", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, b.maxB)
	}
}

// listenOnce connects, LISTENs, catches up from the database and hands
// notifications to the sinks until the connection fails or ctx ends.
func (b *Bridge) listenOnce(ctx context.Context, sinks BridgeSinks) error {
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+BridgeChannel); err != nil {
		return fmt.Errorf("LISTEN: %w", err)
	}
	// Listening from here on: what committed before is in the database.
	positions, err := b.db.StreamPositions(ctx)
	if err != nil {
		return fmt.Errorf("catching up: %w", err)
	}
	for s, p := range positions {
		if bridged(s) {
			sinks.Streams.Deliver(s, p)
		}
	}
	b.listenerPID.Store(conn.PgConn().PID())
	b.connects.Add(1)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenKeepalive)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			b.receive(n.Payload, sinks)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("keepalive: %w", err)
			}
		default:
			return fmt.Errorf("waiting for notifications: %w", err)
		}
	}
}

// receive hands one notification of another process to the sinks.
// Malformed items are skipped: the sender is a process of this database,
// possibly of another version.
func (b *Bridge) receive(payload string, sinks BridgeSinks) {
	sender, body, ok := strings.Cut(payload, "\n")
	if !ok || sender == b.id {
		return
	}
	for line := range strings.SplitSeq(body, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "s":
			stream, p, _ := strings.Cut(rest, " ")
			pos, err := strconv.ParseInt(p, 10, 64)
			if err == nil && pos > 0 && bridged(stream) {
				sinks.Streams.Deliver(stream, pos)
			}
		case "t":
			var c typingChange
			if sinks.Typing == nil || json.Unmarshal([]byte(rest), &c) != nil || c.RoomID == "" || c.UserID == "" {
				continue
			}
			timeout := time.Duration(min(max(c.TimeoutMS, 0), maxTypingTimeoutMS)) * time.Millisecond
			sinks.Typing.SetTypingFromPeer(c.RoomID, c.UserID, c.Typing, timeout)
		}
	}
}
