#!/bin/bash
# Builds (once, cached) the QEMU guest that test/vsock-qemu runs: a Debian
# cloud kernel fetched with `apt-get download` (never installed on the host)
# and a busybox initramfs holding the vsock modules, `node` and its libraries.
# Per-run files (the addon, its JS, the guest script) are appended by the test
# as a second cpio archive, which the kernel unpacks on top of this one.
#
# usage: build-guest.sh [CACHE_DIR]     (default: $ARCA_QEMU_CACHE or <repo>/build/qemu)
# env:   ARCA_QEMU_KERNEL_PKG=linux-image-<ver>-cloud-amd64 pins the kernel package.
# output (stdout, last lines): GUEST_KERNEL=<path> and GUEST_INITRD=<path>.
# exit 2 with a message starting with "build-guest:" when the kernel cannot be fetched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${1:-${ARCA_QEMU_CACHE:-$repo/build/qemu}}
meta_pkg=linux-image-cloud-amd64
# The modules the guest loads, in dependency order after resolution below
# (virtio_pci + virtio_net: the `-netdev stream` NIC of test/e2e/offload-qemu).
want_modules=(vsock vmw_vsock_virtio_transport_common vsock_loopback virtio_pci virtio_net)

log() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: $*" >&2; exit 2; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9 || die "timed out waiting for the lock $cache/.lock"

# --- which kernel package -------------------------------------------------------
resolve_kernel_pkg() {
  apt-cache depends "$meta_pkg" 2>/dev/null |
    awk '/Depends: linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }'
}
kernel_pkg=${ARCA_QEMU_KERNEL_PKG:-}
if [ -z "$kernel_pkg" ]; then
  kernel_pkg=$(resolve_kernel_pkg)
  if [ -z "$kernel_pkg" ]; then
    log "apt does not know $meta_pkg; running apt-get update"
    apt-get update -qq >&2 || log "apt-get update failed"
    kernel_pkg=$(resolve_kernel_pkg)
  fi
fi
if [ -z "$kernel_pkg" ]; then
  # Offline but built before: reuse the newest complete guest.
  cached=$(ls -d "$cache"/guest-linux-image-*/ 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$cached" ] && [ -f "$cached/base.cpio" ]; then
    kernel_pkg=$(basename "$cached")
    kernel_pkg=${kernel_pkg#guest-}
    log "apt cannot resolve $meta_pkg; reusing the cached $kernel_pkg"
  else
    die "cannot find the kernel package: apt-cache has no '$meta_pkg' (is a Debian apt source configured and reachable?)"
  fi
fi
case "$kernel_pkg" in
  linux-image-*-cloud-amd64) ;;
  *) die "unexpected kernel package name '$kernel_pkg' (want linux-image-<version>-cloud-amd64)" ;;
esac
kver=${kernel_pkg#linux-image-}
guest="$cache/guest-$kernel_pkg"

# --- fetch and unpack the kernel -------------------------------------------------
if [ ! -f "$guest/kernel/.unpacked" ]; then
  rm -rf "$guest/kernel" "$guest/deb"
  mkdir -p "$guest/deb" "$guest/kernel"
  log "fetching $kernel_pkg with apt-get download"
  if ! (cd "$guest/deb" && apt-get download -q -o APT::Sandbox::User=root "$kernel_pkg" >&2); then
    die "cannot fetch the kernel package $kernel_pkg with 'apt-get download' (no Debian mirror reachable?)"
  fi
  deb=$(ls "$guest"/deb/*.deb 2>/dev/null | head -n 1 || true)
  [ -n "$deb" ] || die "apt-get download of $kernel_pkg produced no .deb"
  dpkg-deb -x "$deb" "$guest/kernel"
  [ -f "$guest/kernel/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
  if command -v depmod >/dev/null; then depmod -b "$guest/kernel" "$kver"
  else busybox depmod -b "$guest/kernel" "$kver"; fi
  rm -rf "$guest/deb"
  touch "$guest/kernel/.unpacked"
fi
moddir="$guest/kernel/lib/modules/$kver"

# --- what the base image is made of; rebuilt when any of it changes ----------------
node_bin=$(readlink -f "$(command -v node)")
busybox_bin=$(readlink -f "$(command -v busybox)")
stamp=$(
  echo "kernel $kernel_pkg"
  stat -c 'node %n %s %Y' "$node_bin"
  stat -c 'busybox %n %s %Y' "$busybox_bin"
  sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
)
if [ -f "$guest/base.cpio" ] && [ "$(cat "$guest/base.stamp" 2>/dev/null)" = "$stamp" ]; then
  log "cached guest $guest is current"
else
  log "building the base initramfs for $kernel_pkg"
  root="$guest/root"
  rm -rf "$root" "$guest/base.cpio" "$guest/base.stamp"
  mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,etc,modules,usr/bin}

  # Modules with their dependencies, leaves first (modules.dep lists every
  # transitive dependency of a module on its line).
  declare -A loaded=()
  order=()
  add_module() {
    local name=$1 line rel dep
    line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$moddir/modules.dep" || true)
    [ -n "$line" ] || die "module $name is not in $kernel_pkg"
    rel=${line%%:*}
    [ -z "${loaded[$rel]:-}" ] || return 0
    for dep in ${line#*:}; do
      dep=$(basename "$dep"); dep=${dep%%.ko*}
      add_module "$dep"
    done
    loaded[$rel]=1
    order+=("$rel")
  }
  for m in "${want_modules[@]}"; do add_module "$m"; done
  insmods=""
  for rel in "${order[@]}"; do
    file=$(basename "$rel")
    case "$file" in
      *.ko) cp "$moddir/$rel" "$root/modules/$file" ;;
      *.ko.xz) xz -dc "$moddir/$rel" >"$root/modules/${file%.xz}"; file=${file%.xz} ;;
      *.ko.zst) zstd -qdc "$moddir/$rel" >"$root/modules/${file%.zst}"; file=${file%.zst} ;;
      *) die "unknown module format $rel" ;;
    esac
    insmods+="load_module /modules/$file"$'\n'
  done

  # busybox and node with the shared libraries ldd names (at the same paths).
  cp "$busybox_bin" "$root/bin/busybox"
  cp "$node_bin" "$root/usr/bin/node"
  ldd "$node_bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u |
    while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"

  cat >"$root/init" <<EOF
#!/bin/busybox sh
# PID 1 of the arca-net vsock test guest (generated by test/vsock-qemu/build-guest.sh).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin HOME=/ TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# No tmpfs on /tmp: the root file system is already in RAM, and the per-run
# archive mirrors host paths, which may lie under /tmp (a checkout there).
exec </dev/console >/dev/console 2>&1
echo "ARCA-GUEST boot uptime=\$(cut -d' ' -f1 /proc/uptime) kernel=\$(uname -r)"
load_module() { insmod "\$1" || echo "ARCA-GUEST insmod failed: \$1"; }
$insmods
if [ -x /guest/run.sh ]; then
  /guest/run.sh
  echo "ARCA-GUEST exit rc=\$? uptime=\$(cut -d' ' -f1 /proc/uptime)"
else
  echo "ARCA-GUEST exit rc=127 (no /guest/run.sh in the initramfs)"
fi
sync
poweroff -f
EOF
  chmod 755 "$root/init"
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null) \
    >"$guest/base.cpio.tmp"
  mv "$guest/base.cpio.tmp" "$guest/base.cpio"
  rm -rf "$root"
  echo "$stamp" >"$guest/base.stamp"
  log "built $guest/base.cpio ($(du -h "$guest/base.cpio" | cut -f1))"
fi

echo "GUEST_KERNEL=$guest/kernel/boot/vmlinuz-$kver"
echo "GUEST_INITRD=$guest/base.cpio"
