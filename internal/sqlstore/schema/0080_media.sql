-- Media repository: one row per mxc:// URI, local or remote, keyed by the
-- origin server and the media ID. sha256 (lower-case hex) addresses the bytes
-- in the content-addressed blob store, so identical uploads share one file;
-- it is '' while an asynchronous upload is pending (uploaded_ts = 0, with
-- expires_ts set). uploader is a full user ID, '' for media the server
-- stored itself and for remote media. quarantined_by is '' or who
-- quarantined the medium (an admin, or the content scanner).
CREATE TABLE media (
	origin          TEXT NOT NULL,
	media_id        TEXT NOT NULL,
	uploader        TEXT NOT NULL,
	content_type    TEXT NOT NULL,
	upload_name     TEXT NOT NULL,
	size            BIGINT NOT NULL,
	sha256          TEXT NOT NULL,
	created_ts      BIGINT NOT NULL,
	uploaded_ts     BIGINT NOT NULL,
	expires_ts      BIGINT NOT NULL,
	quarantined_by  TEXT NOT NULL,
	PRIMARY KEY (origin, media_id)
);
CREATE INDEX media_by_uploader ON media (uploader, uploaded_ts);
CREATE INDEX media_by_sha256 ON media (sha256);
CREATE INDEX media_pending_by_expiry ON media (expires_ts) WHERE uploaded_ts = 0;

-- Thumbnails, pre-generated on upload or made on request; bytes in the blob
-- store under sha256.
CREATE TABLE media_thumbnails (
	origin        TEXT NOT NULL,
	media_id      TEXT NOT NULL,
	width         INTEGER NOT NULL,
	height        INTEGER NOT NULL,
	method        TEXT NOT NULL,
	content_type  TEXT NOT NULL,
	size          BIGINT NOT NULL,
	sha256        TEXT NOT NULL,
	PRIMARY KEY (origin, media_id, width, height, method)
);
CREATE INDEX media_thumbnails_by_sha256 ON media_thumbnails (sha256);

-- Content scanner verdicts, by a key derived from the content (and, for
-- encrypted attachments, from the key that decrypts it). An infected
-- verdict is never overwritten by a clean one.
CREATE TABLE media_scan_verdicts (
	scan_key    TEXT PRIMARY KEY,
	clean       BOOLEAN NOT NULL,
	info        TEXT NOT NULL,
	scanned_ts  BIGINT NOT NULL
);

-- URL previews: the OpenGraph object returned for a URL, as JSON.
CREATE TABLE media_url_previews (
	url         TEXT PRIMARY KEY,
	og          TEXT NOT NULL,
	fetched_ts  BIGINT NOT NULL
);

-- The content scanner's Curve25519 private key (one row, id 1), shared by
-- every instance on this database so that the public key clients encrypt
-- request bodies to is the same whichever instance answers.
CREATE TABLE media_scanner_key (
	id      INTEGER PRIMARY KEY,
	secret  {{BLOB}} NOT NULL
);
