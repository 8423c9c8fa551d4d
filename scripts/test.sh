#!/usr/bin/env bash
# Runs Myelin's whole test suite: formatting, vet, and every package's tests.
# .ci/run calls this script; run it yourself from the repository root.
# It starts a throwaway PostgreSQL (scripts/postgres.sh, installing it from
# Debian's packages if needed) unless MYELIN_TEST_POSTGRES is already set.
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

echo "== PostgreSQL"
if [ -z "${MYELIN_TEST_POSTGRES:-}" ]; then
	MYELIN_TEST_POSTGRES=$(bash scripts/postgres.sh)
	export MYELIN_TEST_POSTGRES
fi
echo "storage tests run on SQLite and on $MYELIN_TEST_POSTGRES"

echo "== go test"
go test -count=1 "$@" ./...
