#!/usr/bin/env bash
# Installs what the tests need (Debian/Ubuntu, as root). Quick when all is there.
set -euo pipefail
packages=(
  openssl iproute2 util-linux file strace     # crypt checks, netns, unshare/losetup, static check, sync counts
  attr                                        # setfattr/getfattr: security labels kept
  network-manager                             # NetworkManager --print-config reads osconf's DNS file
  e2fsprogs dosfstools fdisk mtools genisoimage xorriso btrfs-progs xfsprogs  # disk and ISO images for the source tests (btrfs: a QEMU image; xfs: the probe test)
  dpkg-dev rpm                                # .deb and .rpm packaging
  qemu-system-x86 debootstrap busybox-static cpio kmod gzip perl  # the QEMU suite
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo (Rust toolchain) is required" >&2; exit 1; }
