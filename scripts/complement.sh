#!/usr/bin/env bash
# Runs Complement (github.com/matrix-org/complement) against Myelin.
#
# usage: scripts/complement.sh --build-only
#        COMPLEMENT_DIR=/path/to/complement scripts/complement.sh [go test args]
#
# Builds the static binary and the image complement-myelin:latest
# (docker/build.sh); --build-only stops there. Otherwise runs
# `go test -json -count=1 -timeout 1h [go test args]` in the Complement
# checkout $COMPLEMENT_DIR with COMPLEMENT_BASE_IMAGE=complement-myelin:latest.
# The default arguments are ./tests/csapi; yours replace them, e.g.
# `./tests/csapi -run TestLogin` (a -timeout of yours wins). Other COMPLEMENT_*
# variables (see Complement's ENVIRONMENT.md) pass through.
#
# Writes docs/complement/results.jsonl (one JSON line per test and subtest:
# package, name, result) and prints per package the counts and failed
# top-level tests, ending with the line "N passed, M failed, K skipped" over
# the top-level tests. Also kept, not committed: docker/build/complement.json
# (the raw go test -json stream) and docker/build/complement-failures.txt
# (each failed test with the last line it logged).
#
# Failing tests do not fail this script (the summary is the product); a
# Complement package that does not build or set up does.
#
# One Complement run per Docker engine at a time: at start and end Complement
# removes every container, image and network labelled with its package name
# (e.g. csapi), including those of another run. Runs of this script on one
# machine wait for each other (flock on $TMPDIR/myelin-complement.lock).
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=false
if [ "${1:-}" = --build-only ]; then
	build_only=true
	shift
fi
if ! $build_only; then
	if [ -z "${COMPLEMENT_DIR:-}" ]; then
		echo "complement.sh: set COMPLEMENT_DIR to a checkout of github.com/matrix-org/complement" >&2
		echo "  (or run 'scripts/complement.sh --build-only' to build the image only)" >&2
		exit 2
	fi
	if [ ! -f "$COMPLEMENT_DIR/go.mod" ] || ! grep -q '^module github.com/matrix-org/complement$' "$COMPLEMENT_DIR/go.mod"; then
		echo "complement.sh: COMPLEMENT_DIR=$COMPLEMENT_DIR is not a Complement checkout (no go.mod of github.com/matrix-org/complement)" >&2
		exit 2
	fi
fi

# Rebuilding the image under a running Complement would change the base of
# the blueprints it has yet to build: wait for the other run.
exec 9>"${TMPDIR:-/tmp}/myelin-complement.lock"
if ! flock -n 9; then
	echo "== another scripts/complement.sh run is going on; waiting for it"
	flock 9
fi
docker/build.sh complement-myelin:latest >/dev/null
echo "== image complement-myelin:latest built"
if $build_only; then
	exit 0
fi

summary="$PWD/docker/build/complementsummary"
go build -o "$summary" ./scripts/complementsummary
mkdir -p docs/complement
results="$PWD/docs/complement/results.jsonl"
raw="$PWD/docker/build/complement.json"
failures="$PWD/docker/build/complement-failures.txt"

[ $# -gt 0 ] || set -- ./tests/csapi
echo "== go test -json -count=1 -timeout 1h $* (in $COMPLEMENT_DIR)"
echo "   writing docs/complement/results.jsonl; raw stream docker/build/complement.json; failures docker/build/complement-failures.txt"
set +e
(cd "$COMPLEMENT_DIR" && COMPLEMENT_BASE_IMAGE=complement-myelin:latest go test -json -count=1 -timeout 1h "$@") |
	tee "$raw" | "$summary" -results "$results" -failures "$failures"
status=("${PIPESTATUS[@]}")
set -e
# go test exits 1 for failing tests too, so the summary decides: it fails
# when a package did not build or set up, or no test ran.
if [ "${status[2]}" != 0 ]; then
	echo "complement.sh: Complement did not run properly (go test exit ${status[0]})" >&2
	exit 1
fi
