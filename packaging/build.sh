#!/usr/bin/env bash
# Builds the static release binary and the .deb and .rpm packages:
#   bash packaging/build.sh      →  target/packages/osconf_<ver>_amd64.deb, osconf-<ver>-1.x86_64.rpm
# Needs dpkg-deb (dpkg) and rpmbuild (apt-get install rpm).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cargo build --release --locked -q
BIN=target/x86_64-unknown-linux-gnu/release/osconf
OUT=target/packages
rm -rf "$OUT" && mkdir -p "$OUT"

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

# .deb
D=$OUT/deb
stage "$D" /lib/systemd/system /etc/init.d
mkdir -p "$D/DEBIAN"
sed "s/@VERSION@/$VERSION/" packaging/debian/control > "$D/DEBIAN/control"
echo "Installed-Size: $(du -sk --exclude=DEBIAN "$D" | cut -f1)" >> "$D/DEBIAN/control"
install -m 644 packaging/debian/conffiles "$D/DEBIAN/conffiles"
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$D/DEBIAN/"
dpkg-deb --root-owner-group -Zxz --build "$D" "$OUT/osconf_${VERSION}_amd64.deb" >/dev/null

# .rpm
R=$OUT/rpm
stage "$R/stage" /usr/lib/systemd/system /etc/rc.d/init.d
mkdir -p "$R/SPECS"
sed "s/@VERSION@/$VERSION/" packaging/osconf.spec > "$R/SPECS/osconf.spec"
rpmbuild -bb --quiet --define "_topdir $PWD/$R" --define "_osconf_stage $PWD/$R/stage" \
  --define "__strip /bin/true" --define "_build_id_links none" "$R/SPECS/osconf.spec" >/dev/null
cp "$R"/RPMS/x86_64/osconf-"$VERSION"-1.x86_64.rpm "$OUT/"

rm -rf "$D" "$R"
ls -l "$OUT"
