#!/usr/bin/env bash
# End-to-end: real Debian images with osconf baked in, booted in QEMU,
# configured by drops "the cloud" writes onto their first partition between
# boots. One file per image in images/ (read in name order); the machinery
# they share is in lib.sh and common.sh. See tests/vm/README.md.
#
# usage (as root): tests/vm/run.sh [--osconf BIN] [--deb PKG] [--osconf-arm64 BIN]
#                  [--deb-arm64 PKG] [--only "IMAGE..."]
# Cache: $OSCONF_VM_CACHE (default /var/tmp/osconf-vm-cache), kernel and root
# file systems, built once and shared. Work: $OSCONF_VM_WORK (default
# /var/tmp/osconf-vm), this run's disks and serial logs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN="" DEB="" BIN_ARM64="" DEB_ARM64="" ONLY=""
USAGE="usage: $0 [--osconf BIN] [--deb PKG] [--osconf-arm64 BIN] [--deb-arm64 PKG] [--only \"IMAGE...\"]"
while [ $# -gt 0 ]; do
  case $1 in
    --osconf) BIN=$(realpath "$2"); shift 2 ;;
    --deb) DEB=$(realpath "$2"); shift 2 ;;
    --osconf-arm64) BIN_ARM64=$(realpath "$2"); shift 2 ;;
    --deb-arm64) DEB_ARM64=$(realpath "$2"); shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "tests/vm/run.sh must run as root" >&2; exit 2; }
# shellcheck source=tests/vm/lib.sh
. "$HERE/lib.sh"
if [ -z "$BIN" ] && [ -z "$DEB" ]; then
  (cd "$REPO" && cargo build --release --locked -q)
  BIN=$REPO/target/x86_64-unknown-linux-gnu/release/osconf
fi
if [ -z "$BIN_ARM64" ] && [ -z "$DEB_ARM64" ]; then # built when an arm64 image runs (arm64_setup)
  BIN_ARM64=$REPO/target/aarch64-unknown-linux-gnu/release/osconf BUILD_ARM64=yes
fi
# shellcheck source=tests/vm/common.sh
. "$HERE/common.sh"

# The root file systems the images share (each debootstrapped once, cached).
rootfs systemd --include=systemd-sysv,udev,iproute2,ifupdown,kmod
rootfs sysv --exclude=systemd-sysv --include=sysvinit-core,udev,iproute2,ifupdown,kmod

# Images run side by side, $OSCONF_VM_JOBS at a time (default 2: under TCG
# a boot is CPU-bound and two use this project's 2 cores better than one);
# each image's scenarios stay a chain on its own disk. Each image file runs
# in its own subshell, its output kept in out-NAME.log and shown when it
# ends, its results in results/NAME.
JOBS=${OSCONF_VM_JOBS:-2}
rm -rf results && mkdir -p results
run_image_file() { # run_image_file <images/NN-name.sh> (errexit holds inside: a failing step ends the image)
  local name; name=$(basename "$1" .sh)
  (
    PASS=0 FAIL=0 RESULTS=()
    # shellcheck source=/dev/null
    . "$1"
    printf '%s\n' "${RESULTS[@]}" > "results/$name.lines"
    echo "$PASS $FAIL" > "results/$name.count"
  ) > "out-$name.log" 2>&1
  flock "$W/.output.lock" cat "out-$name.log"
}
for f in "$HERE"/images/*.sh; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  run_image_file "$f" &
done
wait

PASS=0 FAIL=0
for f in "$HERE"/images/*.sh; do
  name=$(basename "$f" .sh)
  if [ -f "results/$name.count" ]; then
    read -r p n < "results/$name.count"; PASS=$((PASS + p)); FAIL=$((FAIL + n))
  else
    echo "$name: stopped early; the end of $W/out-$name.log:"; tail -n 20 "out-$name.log" | sed 's/^/    | /'
    echo "$name: stopped early" > "results/$name.lines"; FAIL=$((FAIL + 1))
  fi
done
echo
echo "osconf in QEMU ($ACCEL, $JOBS at a time), $(( $(date +%s) - t0 ))s in all:"
cat results/*.lines 2>/dev/null | grep -v '^$' || true
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ] && [ "$PASS" -gt 0 ]
