package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "localhost" || cfg.Listen != "127.0.0.1:8008" || cfg.Registration != RegistrationClosed || !cfg.RateLimited() {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestEnvOverrides(t *testing.T) {
	cfg, err := Load("", []string{
		"PATH=/bin", "MYELIN_SERVER_NAME=hs1", "MYELIN_LISTEN=0.0.0.0:8008", "MYELIN_REGISTRATION=open",
		"MYELIN_RATELIMIT=off", "MYELIN_MEDIA_SCANNER_CLAMD=tcp://127.0.0.1:3310", "MYELIN_SHUTDOWN_GRACE=3s",
		"MYELIN_TEST_POSTGRES=ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "hs1" || cfg.Registration != RegistrationOpen || cfg.RateLimited() ||
		cfg.Media.Scanner.Clamd != "tcp://127.0.0.1:3310" || cfg.ShutdownGrace != 3*time.Second {
		t.Errorf("env not applied: %+v", cfg)
	}
}

func TestBadInputReportsEveryProblem(t *testing.T) {
	_, err := Load("", []string{"MYELIN_SERVER_NAME=bad name", "MYELIN_REGISTRATION=maybe", "MYELIN_NOPE=1", "MYELIN_PASSWORD_HASH_COST=x"})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"MYELIN_NOPE", "MYELIN_PASSWORD_HASH_COST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = Load("", []string{"MYELIN_SERVER_NAME=bad name", "MYELIN_REGISTRATION=maybe"})
	for _, want := range []string{"server_name", "registration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestYAMLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "myelin.yaml")
	os.WriteFile(path, []byte("server_name: example.org\nmedia:\n  scanner:\n    clamd: unix:///run/clamd.ctl\n"), 0o600)
	cfg, err := Load(path, []string{"MYELIN_SERVER_NAME=override.org"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "override.org" || cfg.Media.Scanner.Clamd != "unix:///run/clamd.ctl" {
		t.Errorf("got %+v", cfg)
	}
	os.WriteFile(path, []byte("server_nmae: typo\n"), 0o600)
	if _, err := Load(path, nil); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestMediaConfig(t *testing.T) {
	cfg, err := Load("", []string{
		"MYELIN_MEDIA_URL_PREVIEW_ALLOW_CIDRS=10.0.0.0/8, 192.168.1.0/24",
		"MYELIN_MEDIA_SCANNER_ALLOWED_MIME_TYPES=image/png,text/plain",
		"MYELIN_MEDIA_UNAUTHENTICATED_READS=false",
		"MYELIN_MEDIA_QUOTA_BYTES=1000000",
		"MYELIN_MEDIA_THUMBNAIL_SIZES=64x64 crop",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Media
	if len(m.URLPreview.AllowCIDRs) != 2 || m.URLPreview.AllowCIDRs[1] != "192.168.1.0/24" ||
		len(m.Scanner.AllowedMIMETypes) != 2 || m.UnauthenticatedReads || m.QuotaBytes != 1000000 {
		t.Errorf("media env not applied: %+v", m)
	}
	if sizes, err := ParseThumbnailSizes(m.ThumbnailSizes); err != nil || len(sizes) != 1 || sizes[0] != (ThumbnailSize{64, 64, "crop"}) {
		t.Errorf("thumbnail sizes = %+v, %v", sizes, err)
	}
	if sizes, err := ParseThumbnailSizes(DefaultThumbnailSizes); err != nil || len(sizes) != 5 {
		t.Errorf("default sizes = %+v, %v", sizes, err)
	}
	if got := cfg.MediaStoragePath(); got != filepath.Join("myelin-data", "media") {
		t.Errorf("MediaStoragePath = %q", got)
	}

	_, err = Load("", []string{
		"MYELIN_MEDIA_MAX_UPLOAD_BYTES=0",
		"MYELIN_MEDIA_THUMBNAIL_SIZES=32x32 zoom",
		"MYELIN_MEDIA_URL_PREVIEW_DENY_CIDRS=10.0.0.0",
		"MYELIN_MEDIA_SCANNER_CLAMD=localhost:3310",
		"MYELIN_MEDIA_SCANNER_COMMAND=clamdscan -",
		"MYELIN_MEDIA_SCANNER_ON_INFECTED=delete",
		"MYELIN_MEDIA_SCANNER_ALLOWED_MIME_TYPES=Image/PNG",
	})
	for _, want := range []string{"max_upload_bytes", "thumbnail_sizes", "deny_cidrs", "clamd", "not both", "on_infected", "allowed_mime_types"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	for _, bad := range []string{"32x32", "0x5 crop", "5000x5 crop", "axb scale", "32x32 crop extra"} {
		if _, err := ParseThumbnailSizes(bad); err == nil {
			t.Errorf("ParseThumbnailSizes(%q) accepted", bad)
		}
	}
	for _, good := range []string{"tcp://127.0.0.1:3310", "unix:///run/clamav/clamd.ctl"} {
		if _, err := Load("", []string{"MYELIN_MEDIA_SCANNER_CLAMD=" + good}); err != nil {
			t.Errorf("clamd %q: %v", good, err)
		}
	}
}

// TestMediaConfigYAML checks that the generated media section reads back.
func TestMediaConfigYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "myelin.yaml")
	os.WriteFile(path, []byte(`media:
  quota_bytes: 5000
  pending_expiry: 2h
  url_preview:
    allow_cidrs: ["127.0.0.1/32"]
    timeout: 3s
  scanner:
    command: clamdscan --no-summary -
    on_infected: quarantine
    allowed_mime_types: [image/png]
`), 0o600)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Media
	if m.QuotaBytes != 5000 || m.PendingExpiry != 2*time.Hour || m.URLPreview.Timeout != 3*time.Second ||
		m.URLPreview.AllowCIDRs[0] != "127.0.0.1/32" || m.Scanner.OnInfected != "quarantine" || m.MaxUploadBytes != 50<<20 {
		t.Errorf("yaml media = %+v", m)
	}
}
