#!/usr/bin/env bash
# End-to-end: real Debian images with osconf baked in, booted in QEMU,
# configured by drops "the cloud" writes onto their first partition between
# boots. One file per image in images/ (read in name order); the machinery
# they share is in lib.sh and common.sh. See tests/vm/README.md.
#
# usage (as root): tests/vm/run.sh [--osconf BIN] [--deb PKG] [--only "IMAGE..."]
# Cache: $OSCONF_VM_CACHE (default /var/tmp/osconf-vm-cache), kernel and root
# file systems, built once and shared. Work: $OSCONF_VM_WORK (default
# /var/tmp/osconf-vm), this run's disks and serial logs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN="" DEB="" ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --osconf) BIN=$(realpath "$2"); shift 2 ;;
    --deb) DEB=$(realpath "$2"); shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--osconf BIN] [--deb PKG] [--only \"IMAGE...\"]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "tests/vm/run.sh must run as root" >&2; exit 2; }
# shellcheck source=tests/vm/lib.sh
. "$HERE/lib.sh"
if [ -z "$BIN" ] && [ -z "$DEB" ]; then
  (cd "$REPO" && cargo build --release --locked -q)
  BIN=$REPO/target/x86_64-unknown-linux-gnu/release/osconf
fi
# shellcheck source=tests/vm/common.sh
. "$HERE/common.sh"

# The root file systems the images share (each debootstrapped once, cached).
rootfs systemd --include=systemd-sysv,udev,iproute2,ifupdown,kmod
rootfs sysv --exclude=systemd-sysv --include=sysvinit-core,udev,iproute2,ifupdown,kmod

for f in "$HERE"/images/*.sh; do
  # shellcheck source=/dev/null
  . "$f"
done

echo
echo "osconf in QEMU ($ACCEL), $(( $(date +%s) - t0 ))s in all:"
printf '%s\n' "${RESULTS[@]}"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
