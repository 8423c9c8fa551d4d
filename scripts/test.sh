#!/usr/bin/env bash
# Runs Myelin's whole test suite: formatting, vet, and every package's tests.
# .ci/run calls this script; run it yourself from the repository root.
# It starts a throwaway PostgreSQL (scripts/postgres.sh, installing it from
# Debian's packages if needed) unless MYELIN_TEST_POSTGRES is already set, and
# likewise a clamd with a test signature (scripts/clamav.sh) unless
# MYELIN_TEST_CLAMD is set.
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
go vet -tags goolm ./...

echo "== PostgreSQL"
if [ -z "${MYELIN_TEST_POSTGRES:-}" ]; then
	MYELIN_TEST_POSTGRES=$(bash scripts/postgres.sh)
	export MYELIN_TEST_POSTGRES
fi
echo "storage tests run on SQLite and on $MYELIN_TEST_POSTGRES"

echo "== ClamAV"
if [ -z "${MYELIN_TEST_CLAMD:-}" ]; then
	MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)
	export MYELIN_TEST_CLAMD
fi
echo "content-scanner tests use clamd at $MYELIN_TEST_CLAMD"

echo "== go test"
# Verbose output goes to a log; the terminal gets each package's result, the
# differential-test summaries, and the details of any failure.
log=$(mktemp /tmp/myelin-test.XXXXXX.log)
set +e
go test -tags goolm -count=1 -v "$@" ./... >"$log" 2>&1
rc=$?
set -e
grep -E '^(ok|FAIL|\?) |^--- FAIL|differential:|known oracle deviations' "$log" | sed -E 's/^ +//'
awk '/differential: [0-9]+ cases/ { for (i = 1; i <= NF; i++) if ($i == "differential:") n += $(i + 1) }
	END { if (n) printf "differential total: %d generated cases compared with gomatrixserverlib\n", n }' "$log"
if [ "$rc" -ne 0 ]; then
	echo "== failures (full log: $log)"
	grep -E -A25 -- '^ *--- FAIL|^panic:' "$log" | head -400
	grep -E '^# |\.go:[0-9]+:[0-9]+: |build failed' "$log" | head -100
	exit "$rc"
fi
rm -f "$log"
