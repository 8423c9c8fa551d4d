package signing

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"
)

// AlgorithmEd25519 is the only signing algorithm the specification defines.
const AlgorithmEd25519 = "ed25519"

// KeyID identifies a signing key: the algorithm and the key version joined by a
// colon, e.g. "ed25519:a_AbC1".
type KeyID string

// ParseKeyID splits s into algorithm and version. The algorithm must be
// non-empty and the version must be non-empty and consist of [a-zA-Z0-9_]
// (server-server API, "Server Keys": "The version must have characters
// matching the regular expression [a-zA-Z0-9_]"). The algorithm is not
// required to be one this package implements; errors wrap ErrInvalidKeyID.
func ParseKeyID(s string) (algorithm, version string, err error) {
	algorithm, version, ok := strings.Cut(s, ":")
	if !ok || algorithm == "" {
		return "", "", fmt.Errorf("%w: %q: want algorithm:version", ErrInvalidKeyID, s)
	}
	if err := checkVersion(version); err != nil {
		return "", "", fmt.Errorf("%w: %q: %w", ErrInvalidKeyID, s, err)
	}
	return algorithm, version, nil
}

func checkVersion(version string) error {
	if version == "" {
		return fmt.Errorf("empty key version")
	}
	for i := 0; i < len(version); i++ {
		c := version[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("key version contains %q", c)
		}
	}
	return nil
}

// Key is a server's ed25519 signing key.
type Key struct {
	// ID is the key ID, "ed25519:" followed by the version.
	ID KeyID
	// Private is the ed25519 private key.
	Private ed25519.PrivateKey
}

// Public returns the public half of k.
func (k Key) Public() ed25519.PublicKey {
	return k.Private.Public().(ed25519.PublicKey)
}

// GenerateKey creates a new ed25519 key with ID "ed25519:"+version, reading
// its seed from rand. It fails with ErrInvalidKeyID if version is not
// [a-zA-Z0-9_]+, or with the error from rand.
func GenerateKey(rand io.Reader, version string) (Key, error) {
	if err := checkVersion(version); err != nil {
		return Key{}, fmt.Errorf("signing: generate key: %w: %w", ErrInvalidKeyID, err)
	}
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return Key{}, fmt.Errorf("signing: generate key: %w", err)
	}
	return Key{ID: KeyID(AlgorithmEd25519 + ":" + version), Private: priv}, nil
}

// KeyFromSeed builds the ed25519 key with ID "ed25519:"+version from its
// 32-byte seed (the form in which Synapse and others store signing keys). It
// fails with ErrInvalidKeyID or ErrInvalidKey.
func KeyFromSeed(version string, seed []byte) (Key, error) {
	if err := checkVersion(version); err != nil {
		return Key{}, fmt.Errorf("signing: key from seed: %w: %w", ErrInvalidKeyID, err)
	}
	if len(seed) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("signing: key from seed: %w: seed is %d bytes, want %d", ErrInvalidKey, len(seed), ed25519.SeedSize)
	}
	return Key{ID: KeyID(AlgorithmEd25519 + ":" + version), Private: ed25519.NewKeyFromSeed(seed)}, nil
}
