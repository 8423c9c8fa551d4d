package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// The URL-preview fetcher must not become a way into the server's own
// network (SSRF). It refuses to connect to private, loopback, link-local and
// other special-purpose addresses unless an allow list names them. The check
// runs in the dialer (net.Dialer.Control), on the address actually being
// connected to: after DNS resolution, for every connection, including those
// made for redirects, so neither a hostname resolving to 127.0.0.1, nor DNS
// rebinding between a check and the connection, nor a redirect to an
// internal host gets through. IPv6 forms that embed an IPv4 address
// (IPv4-mapped, IPv4-compatible, 6to4, NAT64) are judged by that address.

// ErrBlockedAddress is returned (wrapped) when a fetch would connect to a
// refused address.
var ErrBlockedAddress = errors.New("media: address refused for outbound fetches")

// defaultDeniedRanges are never fetched unless allowed: the IANA
// special-purpose ranges that are not the public Internet.
var defaultDeniedRanges = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/128", "::1/128", "100::/64", "2001::/32", "2001:db8::/32", "64:ff9b:1::/48",
	"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
}

// ipFilter decides which addresses may be connected to.
type ipFilter struct {
	allow, deny []netip.Prefix
}

func newIPFilter(allow, deny []netip.Prefix) *ipFilter {
	f := &ipFilter{allow: allow}
	for _, r := range defaultDeniedRanges {
		f.deny = append(f.deny, netip.MustParsePrefix(r))
	}
	f.deny = append(f.deny, deny...)
	return f
}

func contains(ranges []netip.Prefix, ip netip.Addr) bool {
	for _, r := range ranges {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

// embeddedIPv4 returns the IPv4 address inside an IPv6 address of a
// transition range: IPv4-compatible (::a.b.c.d), 6to4 (2002:AABB:CCDD::),
// NAT64 (64:ff9b::a.b.c.d).
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case netip.MustParsePrefix("::/96").Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case netip.MustParsePrefix("2002::/16").Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	}
	return netip.Addr{}, false
}

// allowed reports whether ip may be connected to.
func (f *ipFilter) allowed(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if contains(f.allow, ip) {
		return true
	}
	if contains(f.deny, ip) {
		return false
	}
	if v4, ok := embeddedIPv4(ip); ok {
		return f.allowed(v4)
	}
	return true
}

// control is the dialer hook: it refuses connections to denied addresses.
func (f *ipFilter) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrBlockedAddress, address)
	}
	if !f.allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ap.Addr())
	}
	return nil
}

// maxRedirects bounds a fetch's redirect chain.
const maxRedirects = 5

// newSafeClient returns an HTTP client that connects only where f allows,
// without proxies (a proxy would connect on our behalf, unchecked), within
// timeout for the whole exchange, following at most maxRedirects http(s)
// redirects.
func newSafeClient(f *ipFilter, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: f.control}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("media: more than %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("media: redirect to a %q URL", req.URL.Scheme)
			}
			return nil
		},
	}
}

// fetched is a fetched resource.
type fetched struct {
	url         *url.URL
	contentType string
	body        []byte
	// truncated is set when the resource was longer than the cap.
	truncated bool
}

// fetch GETs u, reading at most maxBytes of the body.
func fetch(ctx context.Context, client *http.Client, u *url.URL, maxBytes int64, userAgent string) (*fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("media: fetching %s: %w", u.Redacted(), err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "text/html, application/xhtml+xml, image/*;q=0.9, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("media: fetching %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("media: fetching %s: status %d", u.Redacted(), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("media: fetching %s: %w", u.Redacted(), err)
	}
	f := &fetched{url: resp.Request.URL, contentType: resp.Header.Get("Content-Type"), body: body}
	if int64(len(body)) > maxBytes {
		f.body, f.truncated = body[:maxBytes], true
	}
	return f, nil
}
