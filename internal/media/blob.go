package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrBlobTooLarge is returned (wrapped) by Blobs.Put when the content is
// longer than the limit; nothing is stored.
var ErrBlobTooLarge = errors.New("media: content larger than the limit")

// ErrBlobNotFound is returned (wrapped) by Blobs.Open for absent content.
var ErrBlobNotFound = errors.New("media: no such content")

// Blob is stored content being read.
type Blob interface {
	io.ReadSeekCloser
}

// BlobInfo describes stored content.
type BlobInfo struct {
	// SHA256 is the lower-case hex SHA-256 of the content: its address.
	SHA256 string
	Size   int64
	// Created is false when the content was already stored.
	Created bool
}

// Blobs stores content by its SHA-256, so identical content is stored once.
//
// Error contract: Put returns ErrBlobTooLarge past its limit; Open returns
// ErrBlobNotFound for absent content; other errors are storage failures.
type Blobs interface {
	// Put reads r to its end and stores the bytes, at most limit of them.
	Put(ctx context.Context, r io.Reader, limit int64) (BlobInfo, error)
	// Open returns the content with the given address.
	Open(ctx context.Context, sha256 string) (Blob, error)
	// Delete removes the content; absent content is not an error.
	Delete(ctx context.Context, sha256 string) error
}

// FSBlobs stores content as files under a directory:
// ROOT/ab/cd/abcd…(64 hex digits). Uploads are written to ROOT/tmp, synced,
// then linked into place, so a file at its address is always complete.
type FSBlobs struct {
	root string
}

// NewFSBlobs opens (creating if needed) a blob directory.
func NewFSBlobs(root string) (*FSBlobs, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("media: creating blob directory: %w", err)
	}
	return &FSBlobs{root: root}, nil
}

// path returns the file of an address, or an error for anything that is
// not 64 lower-case hex digits (so no address can leave the directory).
func (b *FSBlobs) path(sha string) (string, error) {
	if len(sha) != 64 {
		return "", fmt.Errorf("media: bad content address %q", sha)
	}
	for _, c := range sha {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("media: bad content address %q", sha)
		}
	}
	return filepath.Join(b.root, sha[:2], sha[2:4], sha), nil
}

// copyBufferSize is the chunk size of uploads; larger than io.Copy's 32 KiB
// default for throughput.
const copyBufferSize = 256 << 10

// Put implements Blobs.
func (b *FSBlobs) Put(ctx context.Context, r io.Reader, limit int64) (BlobInfo, error) {
	tmp, err := os.CreateTemp(filepath.Join(b.root, "tmp"), "upload-*")
	if err != nil {
		return BlobInfo{}, fmt.Errorf("media: creating upload file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h), ctxReader{ctx, io.LimitReader(r, limit+1)}, make([]byte, copyBufferSize))
	if err != nil {
		return BlobInfo{}, fmt.Errorf("media: receiving content: %w", err)
	}
	if n > limit {
		return BlobInfo{}, fmt.Errorf("media: content over %d bytes: %w", limit, ErrBlobTooLarge)
	}
	if err := tmp.Sync(); err != nil {
		return BlobInfo{}, fmt.Errorf("media: syncing upload: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return BlobInfo{}, fmt.Errorf("media: closing upload: %w", err)
	}
	info := BlobInfo{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	final, _ := b.path(info.SHA256)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return BlobInfo{}, fmt.Errorf("media: creating blob directory: %w", err)
	}
	// A hard link never replaces an existing file: if the content is
	// already stored, keep that copy.
	switch err := os.Link(tmp.Name(), final); {
	case err == nil:
		info.Created = true
	case errors.Is(err, fs.ErrExist):
	default:
		// No hard links on this file system: rename, unless present.
		if _, statErr := os.Stat(final); statErr == nil {
			break
		}
		if err := os.Rename(tmp.Name(), final); err != nil {
			return BlobInfo{}, fmt.Errorf("media: storing content: %w", err)
		}
		info.Created = true
	}
	committed = true
	os.Remove(tmp.Name())
	return info, nil
}

// Open implements Blobs.
func (b *FSBlobs) Open(ctx context.Context, sha string) (Blob, error) {
	p, err := b.path(sha)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBlobNotFound, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("media: content %s: %w", sha, ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("media: opening content: %w", err)
	}
	return f, nil
}

// Delete implements Blobs.
func (b *FSBlobs) Delete(ctx context.Context, sha string) error {
	p, err := b.path(sha)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("media: deleting content: %w", err)
	}
	return nil
}

// ctxReader stops reading once its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
