#!/usr/bin/env bash
# Every test osconf has, in one command (as root: network namespaces, loop
# devices and QEMU need it):
#   0. cargo fmt --check and cargo clippy -D warnings;
#   1. cargo test: unit tests, the binary on temp trees, golden files,
#      netlink in network namespaces, media on loop devices, metadata on loopback;
#   2. the release builds and the .deb/.rpm packages, x86_64 and aarch64 (tests/release_check.sh);
#   3. the kernel-free tests again, built for aarch64, under qemu-aarch64-static (tests/aarch64.sh);
#   4. real Debian images booted in QEMU with the .deb installed, one of them
#      arm64 with the arm64 .deb (tests/vm/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "tests/all.sh must run as root (network namespaces, loop devices, QEMU): sudo bash tests/all.sh" >&2
  exit 2
fi
bash tests/install-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
bash tests/release_check.sh
bash tests/aarch64.sh
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
RELEASE=$(sed -n '1s/^osconf ([^-]*-\([^)]*\)).*/\1/p' packaging/debian/changelog)
bash tests/vm/run.sh --deb "target/packages/osconf_${VERSION}-${RELEASE}_amd64.deb" --deb-arm64 "target/packages/osconf_${VERSION}-${RELEASE}_arm64.deb"
