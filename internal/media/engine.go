package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// ScanEngine decides whether content is malware.
//
// Error contract: an error means no verdict (the engine failed or timed
// out); callers refuse the content without recording a verdict.
type ScanEngine interface {
	// Scan reads r (to its end, unless it fails) and reports whether the
	// content is clean; for infected content, info names the finding.
	Scan(ctx context.Context, r io.Reader) (clean bool, info string, err error)
}

// Clamd scans with ClamAV's daemon over its INSTREAM command, on a TCP or
// Unix socket. The content is streamed in chunks and never written to disk
// by Myelin (clamd itself may spool it to its TemporaryDirectory).
type Clamd struct {
	network, address string
}

// NewClamd returns a clamd client for tcp://host:port or unix:///path.
func NewClamd(addr string) (*Clamd, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("media: clamd address: %w", err)
	}
	switch {
	case u.Scheme == "tcp" && u.Host != "":
		return &Clamd{network: "tcp", address: u.Host}, nil
	case u.Scheme == "unix" && u.Path != "":
		return &Clamd{network: "unix", address: u.Path}, nil
	}
	return nil, fmt.Errorf("media: clamd address %q is not tcp://host:port or unix:///path", addr)
}

// clamdChunk is the size of one INSTREAM chunk.
const clamdChunk = 64 << 10

// clamdReplyMax bounds a clamd reply.
const clamdReplyMax = 4096

func (c *Clamd) dial(ctx context.Context) (net.Conn, func(), error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return nil, nil, fmt.Errorf("media: connecting to clamd: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, func() { stop(); conn.Close() }, nil
}

// Ping checks that clamd answers.
func (c *Clamd) Ping(ctx context.Context) error {
	conn, done, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer done()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("media: clamd ping: %w", err)
	}
	reply, err := readClamdReply(conn)
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("media: clamd answered %q to PING", reply)
	}
	return nil
}

// Scan implements ScanEngine.
func (c *Clamd) Scan(ctx context.Context, r io.Reader) (bool, string, error) {
	conn, done, err := c.dial(ctx)
	if err != nil {
		return false, "", err
	}
	defer done()
	werr := func() error {
		if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
			return err
		}
		buf := make([]byte, 4+clamdChunk)
		for {
			n, err := io.ReadFull(r, buf[4:])
			if n > 0 {
				binary.BigEndian.PutUint32(buf[:4], uint32(n))
				if _, err := conn.Write(buf[:4+n]); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("media: reading content to scan: %w", err)
			}
		}
		_, err := conn.Write([]byte{0, 0, 0, 0})
		return err
	}()
	// clamd may stop reading and answer early (e.g. "INSTREAM size limit
	// exceeded"): its reply explains a failed write.
	reply, rerr := readClamdReply(conn)
	if rerr != nil {
		if werr != nil {
			return false, "", fmt.Errorf("media: sending to clamd: %w", werr)
		}
		return false, "", rerr
	}
	if werr != nil && !strings.HasSuffix(reply, "FOUND") {
		return false, "", fmt.Errorf("media: sending to clamd: %w (clamd: %q)", werr, reply)
	}
	return parseClamdReply(reply)
}

// readClamdReply reads one NUL-terminated reply.
func readClamdReply(conn net.Conn) (string, error) {
	var buf bytes.Buffer
	b := make([]byte, 256)
	for buf.Len() < clamdReplyMax {
		n, err := conn.Read(b)
		buf.Write(b[:n])
		if i := bytes.IndexByte(buf.Bytes(), 0); i >= 0 {
			return string(buf.Bytes()[:i]), nil
		}
		if errors.Is(err, io.EOF) {
			if buf.Len() > 0 {
				return strings.TrimSpace(buf.String()), nil
			}
			return "", errors.New("media: clamd closed the connection without a reply")
		}
		if err != nil {
			return "", fmt.Errorf("media: reading clamd reply: %w", err)
		}
	}
	return "", errors.New("media: clamd reply too long")
}

// parseClamdReply reads "stream: OK", "stream: NAME FOUND" or an error.
func parseClamdReply(reply string) (bool, string, error) {
	body := strings.TrimSpace(strings.TrimPrefix(reply, "stream:"))
	switch {
	case body == "OK":
		return true, "", nil
	case strings.HasSuffix(body, " FOUND"):
		return false, strings.TrimSuffix(body, " FOUND"), nil
	}
	return false, "", fmt.Errorf("media: clamd: %q", reply)
}

// CommandScanner scans by running a program with the content on its
// standard input (never in a file): exit status 0 is clean, 1 is infected
// (its first line of output names the finding), anything else is a failed
// scan. `clamdscan --no-summary -` follows this convention.
type CommandScanner struct {
	argv []string
}

// NewCommandScanner returns a scanner running argv.
func NewCommandScanner(argv []string) (*CommandScanner, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("media: empty scan command")
	}
	return &CommandScanner{argv: append([]string(nil), argv...)}, nil
}

// Scan implements ScanEngine.
func (c *CommandScanner) Scan(ctx context.Context, r io.Reader) (bool, string, error) {
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Stdin = r
	out := &cappedBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	killGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, "", nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
		return false, line, nil
	}
	return false, "", fmt.Errorf("media: scan command: %w (output %q)", err, out.String())
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string { return b.buf.String() }
