package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"myelin/internal/config"
	"myelin/internal/media"
	"myelin/internal/spec"
	"myelin/internal/store"
)

// newMedia builds the media repository from the config: its blob
// directory, thumbnail sizes, URL previews and, when configured, the
// content scanner.
func newMedia(ctx context.Context, cfg config.Config, log *slog.Logger, st store.Media) (*media.Service, error) {
	m := cfg.Media
	blobs, err := media.NewFSBlobs(cfg.MediaStoragePath())
	if err != nil {
		return nil, err
	}
	sizes, err := config.ParseThumbnailSizes(m.ThumbnailSizes)
	if err != nil {
		return nil, fmt.Errorf("media.thumbnail_sizes: %w", err)
	}
	opts := media.Options{
		ServerName:              spec.ServerName(cfg.ServerName),
		Blobs:                   blobs,
		MaxUploadBytes:          m.MaxUploadBytes,
		QuotaBytes:              m.QuotaBytes,
		MaxPendingUploads:       m.MaxPendingUploads,
		PendingExpiry:           m.PendingExpiry,
		UnauthenticatedReads:    m.UnauthenticatedReads,
		MaxImagePixels:          m.MaxImagePixels,
		MaxThumbnailSourceBytes: m.MaxThumbnailSourceBytes,
		Logger:                  log,
	}
	for _, s := range sizes {
		opts.ThumbnailSizes = append(opts.ThumbnailSizes, media.ThumbnailSize{Width: s.Width, Height: s.Height, Method: s.Method})
	}
	if p := m.URLPreview; p.Enabled {
		po := &media.PreviewOptions{MaxBytes: p.MaxBytes, Timeout: p.Timeout, CacheDuration: p.CacheDuration,
			UserAgent: "Myelin/" + Version + " (URL preview)"}
		for _, c := range p.AllowCIDRs {
			po.AllowCIDRs = append(po.AllowCIDRs, netip.MustParsePrefix(c)) // validated by config
		}
		for _, c := range p.DenyCIDRs {
			po.DenyCIDRs = append(po.DenyCIDRs, netip.MustParsePrefix(c))
		}
		opts.Preview = po
	}
	if sc := m.Scanner; sc.Clamd != "" || sc.Command != "" {
		so := &media.ScannerOptions{Quarantine: sc.OnInfected == "quarantine", AllowedMIMETypes: sc.AllowedMIMETypes,
			VerdictTTL: sc.VerdictTTL, Timeout: sc.Timeout}
		if sc.Clamd != "" {
			var clamd *media.Clamd
			if clamd, err = media.NewClamd(sc.Clamd); err == nil {
				so.Engine = clamd
				pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				if perr := clamd.Ping(pctx); perr != nil {
					log.Warn("clamd does not answer; uploads are refused until it does", "clamd", sc.Clamd, "err", perr)
				}
				cancel()
			}
		} else {
			so.Engine, err = media.NewCommandScanner(strings.Fields(sc.Command))
		}
		if err != nil {
			return nil, err
		}
		opts.Scanner = so
	}
	return media.New(ctx, opts, st)
}
