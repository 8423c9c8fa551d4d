#!/usr/bin/env bash
# Starts a throwaway clamd on a loopback TCP port for the content-scanner
# tests, installing clamav-daemon from Debian's packages when it is missing,
# and prints its address (tcp://127.0.0.1:PORT). Source-safe: prints only the
# address on stdout.
#
#   export MYELIN_TEST_CLAMD=$(bash scripts/clamav.sh)
#
# The public signature database cannot be downloaded here (and freshclam is
# never run), so clamd loads a private database holding one test signature:
# a body signature (.ndb) for the EICAR anti-virus test string, which matches
# the string anywhere in a file. Nothing of the system's ClamAV configuration
# or database is used or changed.
#
# Environment: MYELIN_CLAMAV_DIR (default /tmp/myelin-clamav),
# MYELIN_CLAMAV_PORT (default 53310).
set -euo pipefail
dir=${MYELIN_CLAMAV_DIR:-/tmp/myelin-clamav}
port=${MYELIN_CLAMAV_PORT:-53310}
addr="tcp://127.0.0.1:$port"

clamd_bin() { command -v clamd || ls /usr/sbin/clamd 2>/dev/null || true; }
if [ -z "$(clamd_bin)" ]; then
	echo "installing clamav-daemon from Debian's packages" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends clamav-daemon >&2
	# The package starts its own clamd and freshclam services where an init
	# system runs; they use the system configuration, not ours, and are left
	# alone.
fi
bin=$(clamd_bin)

# ping answers 0 when clamd at $port replies PONG.
ping() {
	local reply
	reply=$({ exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'zPING\0' >&3 && timeout 2 head -c 4 <&3; } 2>/dev/null) || return 1
	[ "$reply" = "PONG" ]
}

if ping; then
	echo "$addr"
	exit 0
fi

mkdir -p "$dir/db"
# The EICAR test file (https://www.eicar.org/download-anti-malware-testfile/),
# as a hex body signature: Name:TargetType(0 = any file):Offset(* = anywhere):Hex.
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf 'Myelin.Test.EICAR:0:*:%s\n' "$(printf '%s' "$eicar" | od -An -tx1 -v | tr -d ' \n')" >"$dir/db/myelin-test.ndb"

cat >"$dir/clamd.conf" <<EOF
# Private clamd for Myelin's tests (scripts/clamav.sh).
Foreground no
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
LogTime yes
TemporaryDirectory $dir
StreamMaxLength 200M
MaxFileSize 200M
MaxScanSize 400M
MaxThreads 4
Bytecode no
EOF
if [ "$(id -u)" = 0 ]; then
	# Run as root without switching user: the private directory is ours.
	echo "User root" >>"$dir/clamd.conf"
fi

"$bin" --config-file="$dir/clamd.conf" >>"$dir/start.log" 2>&1 || {
	echo "clamav.sh: clamd did not start; see $dir/start.log and $dir/clamd.log" >&2
	cat "$dir/start.log" >&2
	exit 1
}
for _ in $(seq 1 120); do
	if ping; then
		echo "$addr"
		exit 0
	fi
	sleep 0.5
done
echo "clamav.sh: clamd at $addr did not answer PING within 60 s; see $dir/clamd.log" >&2
tail -n 20 "$dir/clamd.log" >&2 || true
exit 1
