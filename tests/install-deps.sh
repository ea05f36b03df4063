#!/usr/bin/env bash
# Installs what the tests need (Debian/Ubuntu, as root). Quick when all is there.
set -euo pipefail
packages=(
  openssl iproute2 util-linux file strace     # crypt checks, netns, unshare/losetup, static check, sync counts
  attr                                        # setfattr/getfattr: security labels kept
  network-manager                             # NetworkManager --print-config reads osconf's DNS file; nmcli --offline reads its keyfiles
  netplan.io ifupdown                         # netplan generate --root-dir and ifquery on what osconf wrote (tests/stack_readers.rs)
  e2fsprogs dosfstools fdisk mtools genisoimage xorriso btrfs-progs xfsprogs  # disk and ISO images for the source tests (btrfs: a QEMU image; xfs: the probe test)
  dpkg-dev rpm                                # .deb and .rpm packaging
  lintian rpmlint man-db                      # the packages checked as Debian and RPM distributions do; the man page
  qemu-system-x86 debootstrap busybox-static cpio kmod gzip perl  # the QEMU suite
  qemu-utils                                  # qemu-img, qemu-io: the disk images of check --image's tests
  xz-utils zstd                               # initramfs fixtures of the image check (xz, zstd streams)
  # aarch64: Debian's cross toolchain (rustup here has only the x86_64 std),
  # qemu-user for the tests and arm64 chroots, qemu-system-arm for the arm64 image
  rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  qemu-user-static qemu-system-arm
)
# The :arm64 packages (and the arm64 kernel and busybox the QEMU suite
# downloads) need arm64 among dpkg's architectures; the apt-get update
# below then fetches its package lists.
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Only their programs are needed: no network service of theirs may start
  # on this machine (invoke-rc.d asks policy-rc.d), nor at its next boot.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=yes
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
  for p in "${missing[@]}"; do
    case $p in
      network-manager) systemctl disable --quiet NetworkManager.service NetworkManager-wait-online.service 2>/dev/null || true ;;
      ifupdown) systemctl disable --quiet networking.service 2>/dev/null || true ;;
    esac
  done
fi
command -v cargo >/dev/null || { echo "cargo (Rust toolchain) is required" >&2; exit 1; }
