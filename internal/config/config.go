// Package config defines Myelin's configuration tree, its defaults, loading
// from a YAML file, overrides from MYELIN_* environment variables, and
// validation that reports every problem at once.
//
// Only cmd and server read configuration; services receive plain option
// structs built from it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"myelin/internal/spec"
)

// Registration modes.
const (
	RegistrationClosed = "closed" // only admins (CLI, shared secret) create accounts
	RegistrationToken  = "token"  // m.login.registration_token required
	RegistrationOpen   = "open"   // anyone, with m.login.dummy
)

// Config is the whole configuration. Each field's yaml tag is its key in the
// file; the environment variable overriding it is MYELIN_ followed by the key
// path in upper case with "_" between levels (e.g. MYELIN_MEDIA_SCANNER_CLAMD).
type Config struct {
	// ServerName is the homeserver's name, the domain of its user IDs.
	ServerName string `yaml:"server_name"`
	// Listen is the client API address (plain HTTP).
	Listen string `yaml:"listen"`
	// FederationListen is the federation (TLS) address; empty turns it off.
	FederationListen string `yaml:"federation_listen"`
	// DataDir holds the SQLite database, the signing key and media.
	DataDir string `yaml:"data_dir"`
	// DatabaseURL selects the store: empty for SQLite in DataDir, or a
	// postgres:// URL.
	DatabaseURL string `yaml:"database_url"`
	// Registration is closed, token or open.
	Registration string `yaml:"registration"`
	// RegistrationSharedSecret enables /_synapse/admin/v1/register.
	RegistrationSharedSecret string `yaml:"registration_shared_secret" secret:"true"`
	// RateLimit is on or off.
	RateLimit string `yaml:"ratelimit"`
	// PasswordHashCost tunes the password KDF (bcrypt cost); tests lower it.
	PasswordHashCost int `yaml:"password_hash_cost"`
	// MaxRequestBytes caps request bodies (media uploads have their own limit).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// ShutdownGrace is how long SIGTERM waits for in-flight requests.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// TLS holds the federation listener's certificate files.
	TLS TLS `yaml:"tls"`
	// Encryption holds end-to-end encryption defaults.
	Encryption Encryption `yaml:"encryption"`
	// Media holds the media repository settings.
	Media Media `yaml:"media"`
	// ServerNotices configures the server notices user and rooms.
	ServerNotices ServerNotices `yaml:"server_notices"`
}

// ServerNotices configures server notices (Synapse's admin API
// send_server_notice).
type ServerNotices struct {
	// Localpart is the server notices user's localpart; empty turns server
	// notices off. Users cannot register localparts starting with '_'.
	Localpart string `yaml:"localpart"`
	// RoomName is the name of new server notices rooms.
	RoomName string `yaml:"room_name"`
}

// TLS names the certificate and key of the federation listener and extra CA
// certificates trusted for outbound federation.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	CAFile   string `yaml:"ca_file"`
}

// Encryption holds the end-to-end encryption defaults.
type Encryption struct {
	// Default is all, private or off: which new rooms get m.room.encryption.
	Default string `yaml:"default"`
	// LenientDeviceKeys accepts device keys without a valid self-signature
	// and lets a device replace its identity keys, as Synapse does. Off by
	// default: the server then refuses keys the device did not sign and
	// identity keys that change under an existing device ID.
	LenientDeviceKeys bool `yaml:"lenient_device_keys"`
	// DehydratedDevices serves dehydrated devices (MSC3814, unstable
	// prefix org.matrix.msc3814.v1), which Element uses to receive room
	// keys while none of the user's devices is online. Off by default.
	DehydratedDevices bool `yaml:"dehydrated_devices"`
}

// Media holds the media repository settings.
type Media struct {
	// MaxUploadBytes caps one upload.
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
	// StoragePath is the directory of the content-addressed media files;
	// empty means "media" in the data directory.
	StoragePath string `yaml:"storage_path"`
	// QuotaBytes caps the total size of one user's uploads; 0 is no quota.
	QuotaBytes int64 `yaml:"quota_bytes"`
	// MaxPendingUploads caps a user's created, not yet uploaded media IDs
	// (POST /_matrix/media/v1/create).
	MaxPendingUploads int `yaml:"max_pending_uploads"`
	// PendingExpiry is how long a created media ID waits for its upload.
	PendingExpiry time.Duration `yaml:"pending_expiry"`
	// UnauthenticatedReads keeps the deprecated unauthenticated
	// /_matrix/media/v3/download and /thumbnail endpoints serving media
	// (tools and older clients still use them); false answers 404.
	UnauthenticatedReads bool `yaml:"unauthenticated_reads"`
	// ThumbnailSizes are the thumbnails generated on upload, as
	// "WIDTHxHEIGHT method" items separated by commas, method crop or scale.
	ThumbnailSizes string `yaml:"thumbnail_sizes"`
	// MaxImagePixels is the largest image (width × height, read from its
	// header before decoding) that is thumbnailed or previewed.
	MaxImagePixels int64 `yaml:"max_image_pixels"`
	// MaxThumbnailSourceBytes is the largest file that is thumbnailed.
	MaxThumbnailSourceBytes int64 `yaml:"max_thumbnail_source_bytes"`
	// URLPreview configures GET /_matrix/client/v1/media/preview_url.
	URLPreview URLPreview `yaml:"url_preview"`
	// Scanner configures content scanning.
	Scanner Scanner `yaml:"scanner"`
}

// URLPreview configures URL previews. The fetcher never connects to an
// address in DenyCIDRs or in the built-in list of private, loopback,
// link-local and other special-purpose ranges, unless the address is in
// AllowCIDRs; the check is made on the address actually dialled, after DNS
// resolution, for every connection including redirects.
type URLPreview struct {
	// Enabled serves previews; when false the endpoint answers 404.
	Enabled bool `yaml:"enabled"`
	// AllowCIDRs are ranges fetched even though denied (e.g. an intranet).
	AllowCIDRs []string `yaml:"allow_cidrs"`
	// DenyCIDRs are ranges never fetched, beyond the built-in list.
	DenyCIDRs []string `yaml:"deny_cidrs"`
	// MaxBytes caps each fetched page or image.
	MaxBytes int64 `yaml:"max_bytes"`
	// Timeout bounds each fetch, redirects included.
	Timeout time.Duration `yaml:"timeout"`
	// CacheDuration is how long a preview is reused.
	CacheDuration time.Duration `yaml:"cache_duration"`
}

// Scanner configures the content scanner. With Clamd or Command set,
// uploads are scanned and the content-scanner API
// (/_matrix/media_proxy/unstable/...) is served; with neither, it is not.
type Scanner struct {
	// Clamd is a clamd address: tcp://host:port or unix:///path. Its
	// StreamMaxLength must be at least max_upload_bytes: a file clamd will
	// not take is refused, never passed unscanned.
	Clamd string `yaml:"clamd"`
	// Command is a program and its arguments, separated by spaces, that
	// reads a file on its standard input and exits 0 when it is clean, 1
	// when it is infected; any other outcome is a scan failure.
	Command string `yaml:"command"`
	// OnInfected is what an infected upload gets: reject (403, nothing
	// kept) or quarantine (accepted, never served).
	OnInfected string `yaml:"on_infected"`
	// AllowedMIMETypes, when not empty, are the only content types (sniffed
	// from the bytes, decrypted for encrypted attachments) that pass a scan.
	// Uploads are checked as sent, and an encrypted attachment sniffs as
	// application/octet-stream: list it if clients upload those.
	AllowedMIMETypes []string `yaml:"allowed_mime_types"`
	// VerdictTTL is how long a clean verdict is reused before rescanning
	// (signatures change); infected verdicts never expire.
	VerdictTTL time.Duration `yaml:"verdict_ttl"`
	// Timeout bounds one scan.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultThumbnailSizes are the sizes the spec recommends servers produce.
const DefaultThumbnailSizes = "32x32 crop, 96x96 crop, 320x240 scale, 640x480 scale, 800x600 scale"

// Default returns the configuration used when nothing is set: a homeserver
// for localhost on 127.0.0.1:8008, SQLite in ./myelin-data, registration
// closed, rate limits on.
func Default() Config {
	return Config{
		ServerName:       "localhost",
		Listen:           "127.0.0.1:8008",
		DataDir:          "myelin-data",
		Registration:     RegistrationClosed,
		RateLimit:        "on",
		PasswordHashCost: 10,
		MaxRequestBytes:  1 << 20,
		ShutdownGrace:    10 * time.Second,
		Encryption:       Encryption{Default: "private"},
		ServerNotices:    ServerNotices{Localpart: "_server", RoomName: "Server Notices"},
		Media: Media{
			MaxUploadBytes:          50 << 20,
			MaxPendingUploads:       10,
			PendingExpiry:           24 * time.Hour,
			UnauthenticatedReads:    true,
			ThumbnailSizes:          DefaultThumbnailSizes,
			MaxImagePixels:          32_000_000,
			MaxThumbnailSourceBytes: 32 << 20,
			URLPreview: URLPreview{
				Enabled:       true,
				MaxBytes:      10 << 20,
				Timeout:       10 * time.Second,
				CacheDuration: time.Hour,
			},
			Scanner: Scanner{OnInfected: "reject", VerdictTTL: 24 * time.Hour, Timeout: time.Minute},
		},
	}
}

// Load returns the defaults, overlaid with the YAML file at path (if path is
// not empty), overlaid with MYELIN_* variables from environ, validated. The
// error lists every problem found.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("reading config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("parsing %s: %w", path, err)
		}
	}
	if err := ApplyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// ApplyEnv overrides fields from MYELIN_* variables in environ ("KEY=value"
// strings, as os.Environ returns). Unknown MYELIN_ variables are errors, so
// that a typo does not pass silently.
func ApplyEnv(cfg *Config, environ []string) error {
	fields := map[string]reflect.Value{}
	collectEnvFields(reflect.ValueOf(cfg).Elem(), "MYELIN", fields)
	var errs []error
	for _, kv := range environ {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, "MYELIN_") || strings.HasPrefix(key, "MYELIN_TEST_") {
			continue
		}
		f, known := fields[key]
		if !known {
			errs = append(errs, fmt.Errorf("unknown configuration variable %s", key))
			continue
		}
		if err := setField(f, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

func collectEnvFields(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := strings.ToUpper(t.Field(i).Tag.Get("yaml"))
		key := prefix + "_" + name
		if t.Field(i).Type.Kind() == reflect.Struct {
			collectEnvFields(v.Field(i), key, out)
			continue
		}
		out[key] = v.Field(i)
	}
}

func setField(f reflect.Value, value string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(value)
	case time.Duration:
		d, err := time.ParseDuration(value)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case int, int64:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case []string:
		// A list is given as comma-separated items.
		var items []string
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks every field and returns all problems joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := spec.ParseServerName(c.ServerName); err != nil {
		bad("server_name: %v", err)
	}
	if c.Listen == "" {
		bad("listen: must be set")
	}
	if c.DataDir == "" {
		bad("data_dir: must be set")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("database_url: must be empty (SQLite) or a postgres:// URL")
	}
	switch c.Registration {
	case RegistrationClosed, RegistrationToken, RegistrationOpen:
	default:
		bad("registration: %q is not closed, token or open", c.Registration)
	}
	switch c.RateLimit {
	case "on", "off":
	default:
		bad("ratelimit: %q is not on or off", c.RateLimit)
	}
	switch c.Encryption.Default {
	case "all", "private", "off":
	default:
		bad("encryption.default: %q is not all, private or off", c.Encryption.Default)
	}
	if c.PasswordHashCost < 4 || c.PasswordHashCost > 31 {
		bad("password_hash_cost: %d is outside 4..31", c.PasswordHashCost)
	}
	if c.MaxRequestBytes < 65536 {
		bad("max_request_bytes: %d is below 65536, the size of one event", c.MaxRequestBytes)
	}
	if l := c.ServerNotices.Localpart; l != "" && !spec.IsValidLocalpart(l) {
		bad("server_notices.localpart: %q is not a valid localpart", l)
	}
	if c.FederationListen != "" && (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls: cert_file and key_file go together")
	}
	errs = append(errs, c.Media.validate()...)
	return errors.Join(errs...)
}

// validate checks the media section.
func (m *Media) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.MaxUploadBytes <= 0 {
		bad("media.max_upload_bytes: %d is not positive", m.MaxUploadBytes)
	}
	if m.QuotaBytes < 0 {
		bad("media.quota_bytes: %d is negative", m.QuotaBytes)
	}
	if m.MaxPendingUploads < 1 {
		bad("media.max_pending_uploads: %d is below 1", m.MaxPendingUploads)
	}
	if m.PendingExpiry < time.Minute {
		bad("media.pending_expiry: %s is below one minute", m.PendingExpiry)
	}
	if _, err := ParseThumbnailSizes(m.ThumbnailSizes); err != nil {
		bad("media.thumbnail_sizes: %v", err)
	}
	if m.MaxImagePixels < 1 {
		bad("media.max_image_pixels: %d is below 1", m.MaxImagePixels)
	}
	if m.MaxThumbnailSourceBytes < 1 {
		bad("media.max_thumbnail_source_bytes: %d is below 1", m.MaxThumbnailSourceBytes)
	}
	p := m.URLPreview
	for _, list := range []struct {
		key   string
		cidrs []string
	}{{"allow_cidrs", p.AllowCIDRs}, {"deny_cidrs", p.DenyCIDRs}} {
		for _, c := range list.cidrs {
			if _, err := netip.ParsePrefix(c); err != nil {
				bad("media.url_preview.%s: %q is not a CIDR range (like 10.0.0.0/8)", list.key, c)
			}
		}
	}
	if p.MaxBytes < 1024 {
		bad("media.url_preview.max_bytes: %d is below 1024", p.MaxBytes)
	}
	if p.Timeout <= 0 {
		bad("media.url_preview.timeout: must be positive")
	}
	if p.CacheDuration < 0 {
		bad("media.url_preview.cache_duration: is negative")
	}
	sc := m.Scanner
	if sc.Clamd != "" && sc.Command != "" {
		bad("media.scanner: set clamd or command, not both")
	}
	if sc.Clamd != "" {
		u, err := url.Parse(sc.Clamd)
		switch {
		case err != nil:
			bad("media.scanner.clamd: %v", err)
		case u.Scheme == "tcp" && u.Host != "" && u.Path == "":
		case u.Scheme == "unix" && u.Host == "" && u.Path != "":
		default:
			bad("media.scanner.clamd: %q is not tcp://host:port or unix:///path", sc.Clamd)
		}
	}
	if sc.Command != "" && len(strings.Fields(sc.Command)) == 0 {
		bad("media.scanner.command: is blank")
	}
	switch sc.OnInfected {
	case "reject", "quarantine":
	default:
		bad("media.scanner.on_infected: %q is not reject or quarantine", sc.OnInfected)
	}
	for _, t := range sc.AllowedMIMETypes {
		if mt, _, err := mime.ParseMediaType(t); err != nil || mt != t {
			bad("media.scanner.allowed_mime_types: %q is not a lower-case MIME type without parameters", t)
		}
	}
	if sc.VerdictTTL < 0 {
		bad("media.scanner.verdict_ttl: is negative")
	}
	if sc.Timeout <= 0 {
		bad("media.scanner.timeout: must be positive")
	}
	return errs
}

// ThumbnailSize is one size generated on upload.
type ThumbnailSize struct {
	Width, Height int
	// Method is "crop" or "scale".
	Method string
}

// ParseThumbnailSizes reads a thumbnail_sizes value: items like
// "32x32 crop" separated by commas. An empty value is no sizes.
func ParseThumbnailSizes(s string) ([]ThumbnailSize, error) {
	var out []ThumbnailSize
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		fields := strings.Fields(item)
		var ts ThumbnailSize
		if len(fields) != 2 {
			return nil, fmt.Errorf("%q is not \"WIDTHxHEIGHT method\"", item)
		}
		w, h, ok := strings.Cut(fields[0], "x")
		var errW, errH error
		ts.Width, errW = strconv.Atoi(w)
		ts.Height, errH = strconv.Atoi(h)
		if !ok || errW != nil || errH != nil || ts.Width < 1 || ts.Height < 1 || ts.Width > 4096 || ts.Height > 4096 {
			return nil, fmt.Errorf("%q: size must be WIDTHxHEIGHT, each 1..4096", item)
		}
		ts.Method = fields[1]
		if ts.Method != "crop" && ts.Method != "scale" {
			return nil, fmt.Errorf("%q: method must be crop or scale", item)
		}
		out = append(out, ts)
	}
	return out, nil
}

// MediaStoragePath returns the directory of media files.
func (c *Config) MediaStoragePath() string {
	if c.Media.StoragePath != "" {
		return c.Media.StoragePath
	}
	return filepath.Join(c.DataDir, "media")
}

// RateLimited reports whether rate limiting is on.
func (c *Config) RateLimited() bool { return c.RateLimit == "on" }

// SQLitePath returns the SQLite database file used when DatabaseURL is empty.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "myelin.db") }

// SigningKeyPath returns the file holding the server's signing key.
func (c *Config) SigningKeyPath() string { return filepath.Join(c.DataDir, "signing.key") }
