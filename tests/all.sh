#!/usr/bin/env bash
# Every test osconf has, in one command (as root: network namespaces, loop
# devices and QEMU need it). Unit and integration tests first, then the
# release build checks and packages, then real images booted in QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "tests/all.sh must run as root (network namespaces, loop devices, QEMU): sudo bash tests/all.sh" >&2
  exit 2
fi
bash tests/install-deps.sh
cargo test --locked
