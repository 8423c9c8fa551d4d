#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a loopback port for the tests,
# installing PostgreSQL from Debian's packages when it is missing, and prints
# the connection URL. Source-safe: prints only the URL on stdout.
#
#   export MYELIN_TEST_POSTGRES=$(scripts/postgres.sh)
#
# Environment: MYELIN_PG_DIR (default /tmp/myelin-pg), MYELIN_PG_PORT (55432).
set -euo pipefail
dir=${MYELIN_PG_DIR:-/tmp/myelin-pg}
port=${MYELIN_PG_PORT:-55432}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pgbin)" ]; then
	echo "installing PostgreSQL from Debian's packages" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
fi
bin=$(pgbin)

# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ ! -f "$dir/data/PG_VERSION" ]; then
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
fi
if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
		start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
