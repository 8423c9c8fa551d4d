#!/usr/bin/env bash
# Builds Myelin's Complement image: a static binary compiled on this host,
# then docker/Dockerfile (FROM scratch) with docker/ as the build context.
#
# usage: docker/build.sh TAG     e.g. docker/build.sh complement-myelin:latest
# Prints the image ID on the last line of standard output. The image the tag
# named before is removed if nothing else uses it.
set -euo pipefail
tag=${1:?usage: docker/build.sh TAG}
cd "$(dirname "$0")/.."

rm -rf docker/build/rootfs
mkdir -p docker/build/rootfs/data docker/build/rootfs/tmp
chmod 0700 docker/build/rootfs/data
chmod 1777 docker/build/rootfs/tmp
echo "== go build (static) -> docker/build/myelin" >&2
# No -trimpath: it would change the build of every package, so none of the
# test run's build cache could be reused (measured: 4m20s cold against
# about 75 s after the tests, on this 2-core machine).
CGO_ENABLED=0 go build -o docker/build/myelin ./cmd/myelin

echo "== docker build -> $tag" >&2
previous=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
# The classic builder writes Docker-format images (HEALTHCHECK kept) and
# needs no buildx plugin.
# Its output goes to docker/build/docker-build.log, shown only on failure.
if ! DOCKER_BUILDKIT=0 docker build --tag "$tag" --file docker/Dockerfile docker >docker/build/docker-build.log 2>&1; then
	cat docker/build/docker-build.log >&2
	exit 1
fi
id=$(docker image inspect --format '{{.Id}}' "$tag")
# Remove the image this tag named before, unless something still uses it
# (a container, another tag, or Complement blueprints built on it).
if [ -n "$previous" ] && [ "$previous" != "$id" ] &&
	[ "$(docker image inspect --format '{{len .RepoTags}}' "$previous" 2>/dev/null)" = 0 ]; then
	docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "$id"
