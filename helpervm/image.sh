#!/bin/sh
# Builds the helper VM image: a base (packages) and helpervm/Dockerfile on it
# (the layers every base shares). Needs the bundle (node helpervm/build.mjs)
# and a Docker engine (DOCKER_HOST or the default one).
#
# Usage: image.sh production   base helpervm/base/alpine.Dockerfile (Alpine's
#                              repositories must be reachable), image
#                              $HELPERVM_IMAGE [arca-net/helpervm], exported as an
#                              OCI layout directory $HELPERVM_OCI_DIR [helpervm/dist/oci]
#        image.sh test         base: the debootstrap Debian 12 root file system
#                              (helpervm/base/debian-rootfs.sh, cached), docker-imported;
#                              image $HELPERVM_TEST_IMAGE [arca-net/helpervm:test]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '%s helpervm-image: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -s "$here/dist/controller.mjs" ] || die "no bundle in $here/dist: run make helpervm (node helpervm/build.mjs) first"
docker info >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-default})"
# The Docker CLI without its buildx plugin can only use the classic builder.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

# build_on BASE TAG: helpervm/Dockerfile on BASE.
build_on() {
  log "building $2 on $1"
  docker build -q --build-arg BASE_IMAGE="$1" -t "$2" -f "$here/Dockerfile" "$here" >/dev/null
  log "$2: $(docker image inspect -f '{{.Size}}' "$2" | awk '{printf "%d MB", $1 / 1000000}')"
}

# export_oci IMAGE DIR: the image as an OCI image layout directory.
export_oci() {
  rm -rf "$2" && mkdir -p "$2"
  if command -v skopeo >/dev/null 2>&1; then
    skopeo copy ${DOCKER_HOST:+--src-daemon-host="$DOCKER_HOST"} "docker-daemon:$1" "oci:$2:latest" >&2
  else
    # Docker >= 25 saves an OCI layout (index.json, oci-layout, blobs/).
    docker save "$1" | tar -C "$2" -xf -
    [ -f "$2/oci-layout" ] || { rm -rf "$2"; die "this Docker engine saves no OCI layout: needs Docker >= 25 or skopeo"; }
  fi
  log "OCI layout of $1 in $2"
}

case ${1:-} in
  production)
    image=${HELPERVM_IMAGE:-arca-net/helpervm}
    base=${HELPERVM_BASE_IMAGE:-}
    if [ -z "$base" ]; then
      base=$image-base:alpine
      log "building the Alpine base $base (apk: openvswitch ovn nodejs iproute2; the addon for musl)"
      ctx=$(mktemp -d)
      trap 'rm -rf "$ctx"' EXIT
      mkdir -p "$ctx/node-addon-api"
      cp -r "$here/../packages/vsock/src" "$ctx/src"
      addon_api=$(cd "$here/../packages/vsock" && node -p "require('node-addon-api').include_dir")
      case $addon_api in /*) ;; *) addon_api=$here/../packages/vsock/$addon_api ;; esac
      cp "$addon_api"/*.h "$ctx/node-addon-api/"
      docker build -q -t "$base" -f "$here/base/alpine.Dockerfile" "$ctx" >/dev/null
    fi
    build_on "$base" "$image"
    export_oci "$image" "${HELPERVM_OCI_DIR:-$here/dist/oci}"
    ;;
  test)
    image=${HELPERVM_TEST_IMAGE:-arca-net/helpervm:test}
    rootfs=$("$here/base/debian-rootfs.sh")
    # The base's tag is the root file system's cache key: imported once per engine.
    base=arca-net/helpervm-base:$(basename "$rootfs" .tar | sed 's/^helpervm-rootfs-//')
    if ! docker image inspect "$base" >/dev/null 2>&1; then
      log "docker import $rootfs as $base"
      docker import -c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$rootfs" "$base" >/dev/null
    fi
    build_on "$base" "$image"
    ;;
  *) die "usage: $0 production|test" ;;
esac
