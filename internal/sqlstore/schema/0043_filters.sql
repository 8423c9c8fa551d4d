-- Sync filters. The filter ID clients see is id in decimal.
CREATE TABLE filters (
	id         {{ID}},
	localpart  TEXT NOT NULL,
	content    TEXT NOT NULL
);
CREATE INDEX filters_by_user ON filters (localpart);
