package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mau.fi/util/jsonbytes"
	"maunium.net/go/mautrix/crypto/backup"

	"myelin/internal/mjson"
)

// Content-scanner reasons (the "reason" of its error bodies), from the
// Matrix Content Scanner's docs/api.md.
const (
	ReasonMalformedJSON     = "MCS_MALFORMED_JSON"
	ReasonFailedToDecrypt   = "MCS_MEDIA_FAILED_TO_DECRYPT"
	ReasonNotClean          = "MCS_MEDIA_NOT_CLEAN"
	ReasonMIMETypeForbidden = "MCS_MIME_TYPE_FORBIDDEN"
	ReasonBadDecryption     = "MCS_BAD_DECRYPTION"
	ReasonRequestFailed     = "MCS_MEDIA_REQUEST_FAILED"
)

// ScanError is a content-scanner failure: the HTTP status, the scanner
// API's reason code and a human-readable info. Info never holds key
// material or decrypted content.
type ScanError struct {
	Status int
	Reason string
	Info   string
	// Err is the internal cause: logged, never sent.
	Err error
}

func (e *ScanError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Reason, e.Status, e.Info, e.Err)
	}
	return fmt.Sprintf("%s (%d): %s", e.Reason, e.Status, e.Info)
}

// Unwrap returns the internal cause.
func (e *ScanError) Unwrap() error { return e.Err }

func malformed(format string, args ...any) *ScanError {
	return &ScanError{Status: 400, Reason: ReasonMalformedJSON, Info: fmt.Sprintf(format, args...)}
}

// EncryptedFile is a validated EncryptedFile (the "file" of an encrypted
// m.room.message): where the ciphertext is, the AES-256-CTR key and IV, and
// the SHA-256 of the ciphertext.
type EncryptedFile struct {
	ServerName, MediaID string
	key                 []byte
	iv                  []byte
	sha256              []byte
}

// encryptedRequest is the body of POST download_encrypted / scan_encrypted.
type encryptedRequest struct {
	EncryptedBody json.RawMessage `json:"encrypted_body"`
	File          json.RawMessage `json:"file"`
}

type encryptedBody struct {
	Ciphertext *string `json:"ciphertext"`
	MAC        *string `json:"mac"`
	Ephemeral  *string `json:"ephemeral"`
}

type encryptedFileJSON struct {
	V      *string                    `json:"v"`
	URL    *string                    `json:"url"`
	IV     *string                    `json:"iv"`
	Hashes map[string]json.RawMessage `json:"hashes"`
	Key    *struct {
		Alg    *string  `json:"alg"`
		Kty    *string  `json:"kty"`
		K      *string  `json:"k"`
		KeyOps []string `json:"key_ops"`
		Ext    *bool    `json:"ext"`
	} `json:"key"`
}

// ParseEncryptedRequest reads the body of an encrypted-file request: either
// {"file": EncryptedFile} or {"encrypted_body": {ciphertext, mac,
// ephemeral}}, the same object encrypted to the scanner's public key with
// libolm's PkEncryption (Curve25519, HKDF-SHA-256, AES-256-CBC, truncated
// HMAC-SHA-256: the m.megolm_backup.v1.curve25519-aes-sha2 scheme). A body
// that is not valid JSON or lacks a well-formed file is MCS_MALFORMED_JSON;
// an encrypted_body that does not decrypt is MCS_BAD_DECRYPTION.
func (s *Service) ParseEncryptedRequest(body []byte) (*EncryptedFile, error) {
	if s.scanner == nil {
		return nil, errNotFound
	}
	req, err := decodeEncryptedRequest(body)
	if err != nil {
		return nil, err
	}
	if len(req.EncryptedBody) > 0 && string(req.EncryptedBody) != "null" {
		plain, err := s.scanner.decryptBody(req.EncryptedBody)
		if err != nil {
			return nil, err
		}
		if req, err = decodeEncryptedRequest(plain); err != nil {
			return nil, err
		}
	}
	return parseEncryptedFile(req.File)
}

func decodeEncryptedRequest(body []byte) (encryptedRequest, error) {
	var req encryptedRequest
	if err := mjson.Valid(body, false); err != nil {
		return req, malformed("request body is not valid JSON")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return req, malformed("request body must be an object")
	}
	return req, nil
}

// parseEncryptedFile validates a file object as the Matrix Content Scanner
// does (v2, A256CTR, oct, ext true, key_ops with encrypt and decrypt), and
// also the lengths of the key, IV and hash.
func parseEncryptedFile(raw json.RawMessage) (*EncryptedFile, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, malformed("file is required")
	}
	var f encryptedFileJSON
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, malformed("file has the wrong shape")
	}
	switch {
	case f.V == nil || *f.V != "v2":
		return nil, malformed(`file.v must be "v2"`)
	case f.URL == nil:
		return nil, malformed("file.url is required")
	case f.IV == nil:
		return nil, malformed("file.iv is required")
	case f.Key == nil:
		return nil, malformed("file.key is required")
	case f.Key.Alg == nil || *f.Key.Alg != "A256CTR":
		return nil, malformed(`file.key.alg must be "A256CTR"`)
	case f.Key.Kty == nil || *f.Key.Kty != "oct":
		return nil, malformed(`file.key.kty must be "oct"`)
	case f.Key.Ext == nil || !*f.Key.Ext:
		return nil, malformed("file.key.ext must be true")
	case f.Key.K == nil:
		return nil, malformed("file.key.k is required")
	case !slices.Contains(f.Key.KeyOps, "encrypt") || !slices.Contains(f.Key.KeyOps, "decrypt"):
		return nil, malformed(`file.key.key_ops must contain "encrypt" and "decrypt"`)
	}
	var hash string
	if err := json.Unmarshal(f.Hashes["sha256"], &hash); err != nil {
		return nil, malformed("file.hashes.sha256 is required")
	}
	ef := &EncryptedFile{}
	var err error
	if ef.ServerName, ef.MediaID, err = ParseMXC(*f.URL); err != nil {
		return nil, malformed("file.url is not a valid mxc:// URI")
	}
	if ef.key, err = decodeBase64(*f.Key.K); err != nil || len(ef.key) != 32 {
		return nil, malformed("file.key.k is not a base64url 256-bit key")
	}
	if ef.iv, err = decodeBase64(*f.IV); err != nil || len(ef.iv) != 16 {
		return nil, malformed("file.iv is not a base64 128-bit IV")
	}
	if ef.sha256, err = decodeBase64(hash); err != nil || len(ef.sha256) != 32 {
		return nil, malformed("file.hashes.sha256 is not a base64 SHA-256")
	}
	return ef, nil
}

// decodeBase64 reads base64 in either alphabet, padded or not (JWK keys
// are base64url, the other fields standard unpadded base64).
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	return base64.RawStdEncoding.DecodeString(s)
}

// contentHash is the hex SHA-256 the client expects the ciphertext to
// have.
func (f *EncryptedFile) contentHash() string { return hex.EncodeToString(f.sha256) }

// verdictKey derives the verdict-cache key of this attachment: the
// ciphertext hash together with the key and IV (the same ciphertext
// decrypted with another key is another plaintext). Only a hash of the key
// is stored.
func (f *EncryptedFile) verdictKey() string {
	h := sha256.New()
	h.Write([]byte("myelin encrypted attachment verdict\x00"))
	h.Write(f.sha256)
	h.Write(f.key)
	h.Write(f.iv)
	return "enc:" + hex.EncodeToString(h.Sum(nil))
}

// decrypter returns the AES-256-CTR stream that decrypts the attachment
// (the IV is the initial 128-bit counter block).
func (f *EncryptedFile) decrypter() (cipher.Stream, error) {
	block, err := aes.NewCipher(f.key)
	if err != nil {
		return nil, fmt.Errorf("media: attachment key: %w", err)
	}
	return cipher.NewCTR(block, f.iv), nil
}

// scannerKey is the content scanner's Curve25519 key pair.
type scannerKey struct {
	private *backup.MegolmBackupKey
	public  string
}

func newScannerKey(secret []byte) (*scannerKey, error) {
	k, err := backup.MegolmBackupKeyFromBytes(secret)
	if err != nil {
		return nil, fmt.Errorf("media: scanner key: %w", err)
	}
	return &scannerKey{private: k, public: base64.RawStdEncoding.EncodeToString(k.PublicKey().Bytes())}, nil
}

// decryptBody decrypts an encrypted_body with the scanner's private key.
// The decryption is mautrix-go's implementation of the libolm PkDecryption
// scheme (its crypto/backup package), not ours.
func (k *scannerKey) decryptBody(raw json.RawMessage) ([]byte, error) {
	var eb encryptedBody
	if err := json.Unmarshal(raw, &eb); err != nil || eb.Ciphertext == nil || eb.MAC == nil || eb.Ephemeral == nil {
		return nil, malformed("encrypted_body must have string ciphertext, mac and ephemeral")
	}
	bad := func(err error) *ScanError {
		return &ScanError{Status: 403, Reason: ReasonBadDecryption,
			Info: "the encrypted body could not be decrypted; fetch the public key again and retry", Err: err}
	}
	ct, err1 := decodeBase64(*eb.Ciphertext)
	mac, err2 := decodeBase64(*eb.MAC)
	eph, err3 := decodeBase64(*eb.Ephemeral)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, bad(err)
	}
	pub, err := ecdh.X25519().NewPublicKey(eph)
	if err != nil {
		return nil, bad(err)
	}
	msg := backup.EncryptedSessionData[json.RawMessage]{
		Ciphertext: jsonbytes.UnpaddedBytes(ct),
		Ephemeral:  backup.EphemeralKey{PublicKey: pub},
		MAC:        jsonbytes.UnpaddedBytes(mac),
	}
	plain, err := msg.Decrypt(k.private)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return nil, malformed("the decrypted body is not valid JSON")
	case err != nil:
		return nil, bad(err)
	}
	return *plain, nil
}
