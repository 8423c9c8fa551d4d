#!/usr/bin/env bash
# Runs Myelin's whole test suite: formatting, vet, and every package's tests.
# .ci/run calls this script; run it yourself from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"
	echo "$unformatted"
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 "$@" ./...
