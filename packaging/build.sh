#!/usr/bin/env bash
# Builds the static release binary and the .deb and .rpm packages for one
# architecture, or both:
#   bash packaging/build.sh [--arch amd64|arm64|all]   (default amd64)
#   amd64 →  target/packages/osconf_<ver>_amd64.deb, osconf-<ver>-1.x86_64.rpm
#   arm64 →  target/packages/osconf_<ver>_arm64.deb, osconf-<ver>-1.aarch64.rpm
# Needs dpkg-deb (dpkg) and rpmbuild (apt-get install rpm); arm64 needs
# Debian's cross toolchain (tests/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHES=amd64
case "${1:-}" in
  "") ;;
  --arch) ARCHES=${2:?--arch amd64|arm64|all}; [ "$ARCHES" = all ] && ARCHES="amd64 arm64" ;;
  *) echo "usage: packaging/build.sh [--arch amd64|arm64|all]" >&2; exit 2 ;;
esac
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
OUT=target/packages
mkdir -p "$OUT"

# Files common to both packages, staged under a root.
stage() { # stage <dir> <unit dir> <init dir>
  local S=$1
  install -D -m 755 "$BIN" "$S/usr/sbin/osconf"
  install -D -m 644 systemd/osconf.service "$S$2/osconf.service"
  install -D -m 644 systemd/osconf-metadata.service "$S$2/osconf-metadata.service"
  install -D -m 755 init.d/osconf "$S$3/osconf"
  # OpenRC shares /etc/init.d/osconf with SysV: the postinst puts it there where OpenRC is the rc system.
  install -D -m 755 openrc/osconf "$S/usr/lib/osconf/openrc/osconf"
  install -D -m 644 packaging/osconf.conf "$S/etc/osconf/osconf.conf"
  install -D -m 644 README.md "$S/usr/share/doc/osconf/README.md"
}

# build <deb arch>: the binary, then both packages.
build() {
  local DEBARCH=$1 RPMARCH TRIPLE
  case $DEBARCH in
    amd64) RPMARCH=x86_64 TRIPLE=x86_64-unknown-linux-gnu
      cargo build --release --locked -q ;;
    # Debian's rustc carries the aarch64 std (rustup here has only x86_64's);
    # linker and crt-static are in .cargo/config.toml.
    arm64) RPMARCH=aarch64 TRIPLE=aarch64-unknown-linux-gnu
      RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --locked -q --target "$TRIPLE" ;;
    *) echo "unknown architecture $DEBARCH (amd64, arm64)" >&2; exit 2 ;;
  esac
  BIN=target/$TRIPLE/release/osconf
  rm -f "$OUT/osconf_${VERSION}_$DEBARCH.deb" "$OUT/osconf-$VERSION-1.$RPMARCH.rpm"

  # .deb
  local D=$OUT/deb-$DEBARCH
  rm -rf "$D"
  stage "$D" /lib/systemd/system /etc/init.d
  mkdir -p "$D/DEBIAN"
  sed "s/@VERSION@/$VERSION/; s/@ARCH@/$DEBARCH/" packaging/debian/control > "$D/DEBIAN/control"
  echo "Installed-Size: $(du -sk --exclude=DEBIAN "$D" | cut -f1)" >> "$D/DEBIAN/control"
  install -m 644 packaging/debian/conffiles "$D/DEBIAN/conffiles"
  install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$D/DEBIAN/"
  dpkg-deb --root-owner-group -Zxz --build "$D" "$OUT/osconf_${VERSION}_$DEBARCH.deb" >/dev/null

  # .rpm (--target: an aarch64 package built on x86_64, from the staged files)
  local R=$OUT/rpm-$RPMARCH
  rm -rf "$R"
  stage "$R/stage" /usr/lib/systemd/system /etc/rc.d/init.d
  mkdir -p "$R/SPECS"
  sed "s/@VERSION@/$VERSION/" packaging/osconf.spec > "$R/SPECS/osconf.spec"
  rpmbuild -bb --quiet --target "$RPMARCH" --define "_topdir $PWD/$R" --define "_osconf_stage $PWD/$R/stage" \
    --define "__strip /bin/true" --define "_build_id_links none" "$R/SPECS/osconf.spec" >/dev/null
  cp "$R/RPMS/$RPMARCH/osconf-$VERSION-1.$RPMARCH.rpm" "$OUT/"
  rm -rf "$D" "$R"
}

for arch in $ARCHES; do
  build "$arch"
done
ls -l "$OUT"
