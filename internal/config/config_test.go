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
