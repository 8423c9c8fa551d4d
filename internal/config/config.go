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
}

// Media holds the media repository settings.
type Media struct {
	// MaxUploadBytes caps one upload.
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
	// Scanner configures content scanning.
	Scanner Scanner `yaml:"scanner"`
}

// Scanner configures the content scanner.
type Scanner struct {
	// Clamd is a clamd address: tcp://host:port or unix:///path.
	Clamd string `yaml:"clamd"`
}

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
		Media:            Media{MaxUploadBytes: 50 << 20},
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
	if c.FederationListen != "" && (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls: cert_file and key_file go together")
	}
	return errors.Join(errs...)
}

// RateLimited reports whether rate limiting is on.
func (c *Config) RateLimited() bool { return c.RateLimit == "on" }

// SQLitePath returns the SQLite database file used when DatabaseURL is empty.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "myelin.db") }

// SigningKeyPath returns the file holding the server's signing key.
func (c *Config) SigningKeyPath() string { return filepath.Join(c.DataDir, "signing.key") }
