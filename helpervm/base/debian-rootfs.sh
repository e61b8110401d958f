#!/bin/sh
# The Debian base of the helper-VM test image: a `debootstrap --variant=minbase`
# Debian 12 root file system with Open vSwitch, OVN and iproute2, plus the
# build machine's Node.js (>= 20; Debian 12's own is 18), as one tarball for
# `docker import`. Cached: the tarball is kept under $ARCA_CACHE_DIR, named by
# a hash of everything that goes into it, and reused while that stays the same.
#
# Usage: debian-rootfs.sh   prints the tarball's path on stdout (progress on stderr)
# Environment: ARCA_CACHE_DIR [/var/cache/arca-net], DEBIAN_MIRROR
#   [http://deb.debian.org/debian], NODE [command -v node]. Needs root (debootstrap).
set -eu

SUITE=bookworm
PACKAGES="openvswitch-switch ovn-central ovn-host iproute2 ethtool"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${ARCA_CACHE_DIR:-/var/cache/arca-net}
NODE_BIN=${NODE:-$(command -v node)}

log() { printf '%s helpervm-rootfs: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap is missing (make setup installs it)"
[ -x "$NODE_BIN" ] || die "no node on PATH"
node_major=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $("$NODE_BIN" --version) is older than 20"

# The cache key: suite, packages, mirror, this script and the Node binary.
key=$( { echo "$SUITE $PACKAGES $MIRROR"; cat "$0"; sha256sum "$NODE_BIN"; } | sha256sum | cut -c1-16)
tarball=$CACHE/helpervm-rootfs-$SUITE-$key.tar
if [ -s "$tarball" ]; then
  log "cached root file system $tarball"
  echo "$tarball"
  exit 0
fi

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/rootfs.XXXXXX")
trap 'umount -l "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
started=$(date +%s)
log "debootstrap --variant=minbase $SUITE with $PACKAGES from $MIRROR (a few minutes on a fresh machine)"
include=$(echo "$PACKAGES" | tr ' ' ',')
# debootstrap prints one line per step (I: Retrieving …, I: Unpacking …): keep
# them as the progress report, on stderr.
debootstrap --variant=minbase --include="$include" "$SUITE" "$work/root" "$MIRROR" >&2 ||
  die "debootstrap failed (log: $work/root/debootstrap/debootstrap.log)"
log "debootstrap done in $(( $(date +%s) - started ))s"

# Node from the build machine, and the shared libraries it needs are Debian 12's own.
install -m 0755 "$NODE_BIN" "$work/root/usr/local/bin/node"
chroot "$work/root" /usr/local/bin/node --version >/dev/null || die "node does not run in the root file system"
# No package caches or lists in the image.
rm -rf "$work/root/var/cache/apt/archives"/*.deb "$work/root/var/lib/apt/lists"/* "$work/root/debootstrap"

log "packing the root file system"
tar --numeric-owner -C "$work/root" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$tarball"
# Older tarballs (another package list or Node) go.
for old in "$CACHE"/helpervm-rootfs-*.tar; do [ "$old" = "$tarball" ] || rm -f "$old"; done
log "root file system $tarball ($(du -m "$tarball" | cut -f1) MB) in $(( $(date +%s) - started ))s"
echo "$tarball"
