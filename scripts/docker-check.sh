#!/usr/bin/env bash
# Checks Myelin's Complement image (docker/Dockerfile) the way Complement
# uses it, in well under two minutes:
#   1. the image builds (docker/build.sh) under a throwaway tag;
#   2. a container with SERVER_NAME=hs1 and a fresh CA copied to
#      /complement/ca (as Complement does) becomes healthy;
#   3. GET /_matrix/client/versions answers 200 on the published 8008;
#   4. the TLS port 8448 presents a certificate for hs1 signed by that CA;
#   5. an account registered on hs1 (POST /register, m.login.dummy, as
#      Complement does) gets an access token, and whoami says @...:hs1;
#   6. after `docker restart` the token still works;
#   7. after `docker stop` + `docker commit` (a Complement blueprint), a new
#      container from the committed image with a NEW CA still accepts the
#      token and presents a certificate from the new CA.
# Skips (exit 0, with a message) where no Docker engine answers. Removes the
# containers and images it made on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	echo "docker-check: SKIPPED: no Docker engine answers here ('docker info' failed); the image was not checked"
	exit 0
fi
for tool in openssl curl; do
	command -v "$tool" >/dev/null 2>&1 || { echo "docker-check: needs $tool" >&2; exit 1; }
done

start=$SECONDS
tag="myelin-docker-check:$$"
work=$(mktemp -d)
containers=()
committed=""
cleanup() {
	for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
	[ -n "$committed" ] && docker rmi "$committed" >/dev/null 2>&1 || true
	docker rmi "$tag" >/dev/null 2>&1 || true # untags; the layers stay if another tag shares them
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "docker-check: FAILED: $*" >&2
	for c in "${containers[@]}"; do
		echo "--- logs of container $c" >&2
		docker logs "$c" 2>&1 | tail -n 40 >&2 || true
	done
	exit 1
}
ok() { echo "  ok: $*"; }

# newca DIR: a CA like Complement's (PEM certificate, PKCS#1 RSA key).
newca() {
	mkdir -p "$1/complement/ca"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=docker-check CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-keyout "$1/key.pem" -out "$1/complement/ca/ca.crt" 2>/dev/null
	openssl rsa -traditional -in "$1/key.pem" -out "$1/complement/ca/ca.key" 2>/dev/null
}

# run IMAGE CADIR: creates a container like Complement's, copies the CA in,
# starts it and waits until Docker reports it healthy. Sets $cid.
run() {
	cid=$(docker create --env SERVER_NAME=hs1 --publish 127.0.0.1::8008 --publish 127.0.0.1::8448 "$1")
	containers+=("$cid")
	docker cp "$2/complement" "$cid:/" || fail "copying the CA into the container"
	docker start "$cid" >/dev/null
	waithealthy "$cid"
}

waithealthy() {
	local status
	for _ in $(seq 1 300); do
		status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}no healthcheck{{end}} {{.State.Status}}' "$1")
		case $status in
		"healthy running") return 0 ;;
		*exited* | *dead* | "no healthcheck"*) fail "container $1 is '$status'" ;;
		esac
		sleep 0.1
	done
	fail "container $1 not healthy after 30 s (status: $status)"
}

port() { docker port "$1" "$2/tcp" | grep -m1 '^127\.0\.0\.1:' | cut -d: -f2; }

# whoami CID TOKEN: prints the user ID the token belongs to.
whoami() {
	curl -sS --max-time 5 -H "Authorization: Bearer $2" "http://127.0.0.1:$(port "$1" 8008)/_matrix/client/v3/account/whoami" |
		sed -n 's/.*"user_id" *: *"\([^"]*\)".*/\1/p'
}

# tlscheck CID CADIR: TLS on 8448 must verify for the name hs1 with only that CA trusted.
tlscheck() {
	local p
	p=$(port "$1" 8448)
	curl -sS --max-time 5 -o /dev/null --cacert "$2/complement/ca/ca.crt" --resolve "hs1:$p:127.0.0.1" \
		"https://hs1:$p/_matrix/client/versions" || fail "TLS on 8448 does not verify as hs1 against the CA ($2)"
}

echo "== docker-check: building the image as $tag"
docker/build.sh "$tag" >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; fail "image build"; }
ok "image built ($(docker image inspect --format '{{.Size}}' "$tag") bytes)"
docker image inspect --format '{{if .Config.Healthcheck}}yes{{end}}' "$tag" | grep -q yes || fail "the image has no HEALTHCHECK"
[ -z "$(docker image inspect --format '{{range $k, $v := .Config.Volumes}}{{$k}}{{end}}' "$tag")" ] || fail "the image declares a VOLUME"
ok "HEALTHCHECK present, no VOLUME"

newca "$work/ca1"
run "$tag" "$work/ca1"
ok "container with SERVER_NAME=hs1 healthy after $((SECONDS - start)) s since start of check"

code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(port "$cid" 8008)/_matrix/client/versions")
[ "$code" = 200 ] || fail "GET /_matrix/client/versions answered $code"
ok "GET /_matrix/client/versions on published 8008: 200"

tlscheck "$cid" "$work/ca1"
ok "8448 presents a certificate for hs1 signed by the mounted CA"

client="http://127.0.0.1:$(port "$cid" 8008)"
password="docker-check password $$"
code=$(curl -sS --max-time 10 -o "$work/reg.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d "{\"username\":\"checker\",\"password\":\"$password\",\"auth\":{\"type\":\"m.login.dummy\"}}" "$client/_matrix/client/v3/register")
[ "$code" = 200 ] || fail "POST /_matrix/client/v3/register answered $code: $(cat "$work/reg.json")"
token=$(sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p' "$work/reg.json")
[ -n "$token" ] || fail "no access token from POST /register: $(cat "$work/reg.json")"
[ "$(whoami "$cid" "$token")" = "@checker:hs1" ] || fail "whoami does not answer @checker:hs1"
ok "registered with m.login.dummy; whoami = @checker:hs1"

docker restart "$cid" >/dev/null
waithealthy "$cid"
[ "$(whoami "$cid" "$token")" = "@checker:hs1" ] || fail "the access token stopped working after docker restart"
ok "after docker restart the access token still works"

docker stop --time 10 "$cid" >/dev/null
committed=$(docker commit --pause "$cid")
newca "$work/ca2"
run "$committed" "$work/ca2"
[ "$(whoami "$cid" "$token")" = "@checker:hs1" ] || fail "the access token does not work in a container from the committed image"
tlscheck "$cid" "$work/ca2"
ok "after docker stop + commit, a new container with a new CA keeps the token and presents a certificate from the new CA"

echo "docker-check: passed in $((SECONDS - start)) s"
