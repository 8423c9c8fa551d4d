package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Thumbnails are made only of PNG, JPEG, GIF (first frame) and WebP
// images: these decoders are memory-safe Go code, and nothing else
// (SVG, PDF, TIFF, ...) is ever decoded. An image is decoded only after its
// header has been read and its width × height found within the pixel limit,
// so a decompression bomb (a small file declaring a huge image) is refused
// before any pixel buffer is allocated.

// errNotImage is returned for content that cannot be thumbnailed.
var errNotImage = errors.New("media: not a thumbnailable image")

// errImageTooLarge is returned for images over the pixel or byte limit.
var errImageTooLarge = errors.New("media: image too large to thumbnail")

// imageFormat is a thumbnailable format: "png", "jpeg", "gif", "webp".
type imageFormat string

// contentType is the format's MIME type.
func (f imageFormat) contentType() string { return "image/" + string(f) }

// decodeConfig and decode dispatch to the four decoders explicitly, so that
// no other format registered in the process (by image.RegisterFormat) is
// ever used on uploaded content.
func (f imageFormat) decodeConfig(r io.Reader) (image.Config, error) {
	switch f {
	case "png":
		return png.DecodeConfig(r)
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	}
	return image.Config{}, errNotImage
}

func (f imageFormat) decode(r io.Reader) (image.Image, error) {
	switch f {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "gif":
		return gif.Decode(r) // the first frame
	case "webp":
		return webp.Decode(r)
	}
	return nil, errNotImage
}

// sniffImage returns the format of content from its first bytes, or "".
func sniffImage(head []byte) imageFormat {
	switch http.DetectContentType(head) {
	case "image/png":
		return "png"
	case "image/jpeg":
		return "jpeg"
	case "image/gif":
		return "gif"
	case "image/webp":
		return "webp"
	}
	return ""
}

// imageInfo is what an image's header says.
type imageInfo struct {
	format        imageFormat
	width, height int
}

// thumbnailer decodes and scales images within limits.
type thumbnailer struct {
	maxPixels int64
	maxBytes  int64
	// sem bounds concurrent decodes: each may hold maxPixels × 8 bytes.
	sem chan struct{}
}

func newThumbnailer(maxPixels, maxBytes int64) *thumbnailer {
	return &thumbnailer{maxPixels: maxPixels, maxBytes: maxBytes, sem: make(chan struct{}, 1)}
}

// probe reads an image's header: errNotImage for other content,
// errImageTooLarge past the limits. r is read from its start.
func (t *thumbnailer) probe(r io.ReadSeeker, size int64) (imageInfo, error) {
	if size > t.maxBytes {
		return imageInfo{}, fmt.Errorf("%w: %d bytes", errImageTooLarge, size)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return imageInfo{}, fmt.Errorf("media: reading image: %w", err)
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return imageInfo{}, fmt.Errorf("media: reading image: %w", err)
	}
	format := sniffImage(head[:n])
	if format == "" {
		return imageInfo{}, errNotImage
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return imageInfo{}, fmt.Errorf("media: reading image: %w", err)
	}
	cfg, err := format.decodeConfig(io.LimitReader(r, t.maxBytes))
	if err != nil {
		return imageInfo{}, fmt.Errorf("%w: %v", errNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return imageInfo{}, fmt.Errorf("%w: empty image", errNotImage)
	}
	if int64(cfg.Width)*int64(cfg.Height) > t.maxPixels {
		return imageInfo{}, fmt.Errorf("%w: %d×%d pixels", errImageTooLarge, cfg.Width, cfg.Height)
	}
	return imageInfo{format: format, width: cfg.Width, height: cfg.Height}, nil
}

// decode probes and decodes the image in r.
func (t *thumbnailer) decode(ctx context.Context, r io.ReadSeeker, size int64) (image.Image, imageInfo, error) {
	info, err := t.probe(r, size)
	if err != nil {
		return nil, info, err
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, info, ctx.Err()
	}
	defer func() { <-t.sem }()
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, info, fmt.Errorf("media: reading image: %w", err)
	}
	img, err := info.format.decode(io.LimitReader(r, t.maxBytes))
	if err != nil {
		return nil, info, fmt.Errorf("%w: %v", errNotImage, err)
	}
	if b := img.Bounds(); b.Dx() != info.width || b.Dy() != info.height {
		return nil, info, fmt.Errorf("%w: decoded size differs from the header", errNotImage)
	}
	return img, info, nil
}

// thumbnailDims returns the output size of a thumbnail of a w×h image for
// the box bw×bh, never larger than the image (no upscaling), and the
// source rectangle it is taken from.
//
// scale keeps the aspect ratio and fits the image inside the box; crop
// takes the largest centred part of the image with the box's aspect ratio
// and scales it to the box.
func thumbnailDims(w, h, bw, bh int, method string) (out image.Point, src image.Rectangle) {
	src = image.Rect(0, 0, w, h)
	if method == "crop" {
		box := float64(bw) / float64(bh)
		cw, ch := w, h
		if float64(w)/float64(h) > box {
			cw = max(1, int(math.Round(float64(h)*box)))
		} else {
			ch = max(1, int(math.Round(float64(w)/box)))
		}
		x0, y0 := (w-cw)/2, (h-ch)/2
		src = image.Rect(x0, y0, x0+cw, y0+ch)
		if cw <= bw { // no upscaling: the crop itself
			return image.Pt(cw, ch), src
		}
		return image.Pt(bw, bh), src
	}
	f := math.Min(float64(bw)/float64(w), float64(bh)/float64(h))
	if f >= 1 {
		return image.Pt(w, h), src
	}
	return image.Pt(max(1, int(math.Round(float64(w)*f))), max(1, int(math.Round(float64(h)*f)))), src
}

// render scales src's rectangle sr to out. A large reduction first
// averages cheaply down to twice the target, then Catmull-Rom finishes:
// full-quality kernels over a 32-megapixel source would need hundreds of
// megabytes of scratch space.
func render(src image.Image, sr image.Rectangle, out image.Point) image.Image {
	if sr.Dx() > 4*out.X && sr.Dy() > 4*out.Y {
		mid := image.NewRGBA(image.Rect(0, 0, 2*out.X, 2*out.Y))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), src, sr, draw.Src, nil)
		src, sr = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, out.X, out.Y))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, sr, draw.Src, nil)
	return dst
}

// encodeThumbnail encodes a thumbnail: JPEG for JPEG sources (photos),
// PNG for the others (which may have transparency).
func encodeThumbnail(img image.Image, source imageFormat) ([]byte, string, error) {
	var buf bytes.Buffer
	if source == "jpeg" {
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
			return nil, "", fmt.Errorf("media: encoding thumbnail: %w", err)
		}
		return buf.Bytes(), "image/jpeg", nil
	}
	if err := png.Encode(&buf, img); err != nil {
		return nil, "", fmt.Errorf("media: encoding thumbnail: %w", err)
	}
	return buf.Bytes(), "image/png", nil
}
