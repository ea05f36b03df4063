#!/usr/bin/env bash
# Builds the static release binary and the .deb and .rpm packages for one
# architecture, or both:
#   bash packaging/build.sh [--arch amd64|arm64|all]   (default amd64)
#   amd64 →  target/packages/osconf_<ver>-<rel>_amd64.deb, osconf-<ver>-<rel>.x86_64.rpm
#   arm64 →  target/packages/osconf_<ver>-<rel>_arm64.deb, osconf-<ver>-<rel>.aarch64.rpm
# The packages' contact and URL come from Cargo.toml (authors, homepage);
# a release sets its own: OSCONF_MAINTAINER="Name <mail>" OSCONF_URL=https://...
# Needs dpkg-deb (dpkg) and rpmbuild (apt-get install rpm); arm64 needs
# Debian's cross toolchain (tests/install-deps.sh installs it).
#
# The .deb is put together with dpkg-deb, the .rpm with rpmbuild, from the
# same staged files; the maintainer scripts are debhelper's own snippets
# (see packaging/debian/). Not debhelper itself: it builds from a source
# package (dpkg-buildpackage, a cross-build setup for arm64) and its
# dh_strip/dh_dwz would rewrite the binary the release checks compare; nor
# cargo-deb or nFPM (not packaged for Debian 12): neither handles the SysV
# script, so the hand-written part would stay the same.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
ARCHES=amd64
case "${1:-}" in
  "") ;;
  --arch) ARCHES=${2:?--arch amd64|arm64|all}; [ "$ARCHES" = all ] && ARCHES="amd64 arm64" ;;
  *) echo "usage: packaging/build.sh [--arch amd64|arm64|all]" >&2; exit 2 ;;
esac
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
# The packaging's own revision (the .deb's -N, the .rpm's Release): the
# first entry of packaging/debian/changelog, which must be for this version.
RELEASE=$(sed -n '1s/^osconf ([^-]*-\([^)]*\)).*/\1/p' packaging/debian/changelog)
MAINTAINER=${OSCONF_MAINTAINER:-$(sed -n 's/^authors = \["\([^"]*\)".*/\1/p' Cargo.toml)}
URL=${OSCONF_URL:-$(sed -n 's/^homepage = "\(.*\)"/\1/p' Cargo.toml)}
: "${MAINTAINER:?no authors in Cargo.toml and no OSCONF_MAINTAINER}" "${URL:?no homepage in Cargo.toml and no OSCONF_URL}"
head -n1 packaging/debian/changelog | grep -qF "osconf ($VERSION-$RELEASE) " || {
  echo "packaging/debian/changelog: its first entry is not for $VERSION; add one" >&2; exit 1; }
OUT=target/packages
mkdir -p "$OUT"

# fill FILE: a packaging template with the contact and URL.
fill() {
  local esc='s/[\\&|]/\\&/g'
  sed "s|@MAINTAINER@|$(sed "$esc" <<<"$MAINTAINER")|g; s|@URL@|$(sed "$esc" <<<"$URL")|g" "$1"
}

# packaging/debian/changelog as the .rpm's %changelog entries.
rpm_changelog() {
  local line ver="" body="" who when
  while IFS= read -r line; do
    case $line in
      "osconf ("*) ver=${line#*(}; ver=${ver%%)*}; body="" ;;
      "  * "*) body+="- ${line#  \* }"$'\n' ;;
      "    "*) body+="  ${line#    }"$'\n' ;;
      " -- "*) who=${line# -- }; who=${who%%>*}">"; when=${line##*>  }
        printf '* %s %s - %s\n%s\n' "$(LC_ALL=C date -u -d "$when" '+%a %b %d %Y')" "$who" "$ver" "$body" ;;
    esac
  done < <(fill packaging/debian/changelog)
}

# Files common to both packages, staged under a root.
stage() { # stage <dir> <unit dir> <init dir>
  local S=$1
  install -D -m 755 "$BIN" "$S/usr/sbin/osconf"
  install -D -m 644 systemd/osconf.service "$S$2/osconf.service"
  install -D -m 644 systemd/osconf-metadata.service "$S$2/osconf-metadata.service"
  install -D -m 644 systemd/osconf-user-data.service "$S$2/osconf-user-data.service"
  install -D -m 755 init.d/osconf "$S$3/osconf"
  install -D -m 755 init.d/osconf-user-data "$S$3/osconf-user-data"
  install -D -m 644 packaging/osconf.conf "$S/etc/osconf/osconf.conf"
  install -d "$S/usr/share/man/man8"
  gzip -9n <packaging/osconf.8 >"$S/usr/share/man/man8/osconf.8.gz"
  install -D -m 644 README.md "$S/usr/share/doc/osconf/README.md"
  # The manual README.md links into, at the same relative paths.
  for doc in docs/*.md; do install -D -m 644 "$doc" "$S/usr/share/doc/osconf/$doc"; done
  # For OpenRC systems without LSB support (Alpine, Gentoo: no .deb or .rpm
  # there): Debian's OpenRC runs the SysV script, which update-rc.d adds.
  install -D -m 644 openrc/osconf "$S/usr/share/doc/osconf/examples/openrc/osconf"
  install -D -m 644 openrc/osconf-user-data "$S/usr/share/doc/osconf/examples/openrc/osconf-user-data"
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
  rm -f "$OUT/osconf_${VERSION}-${RELEASE}_$DEBARCH.deb" "$OUT/osconf-$VERSION-$RELEASE.$RPMARCH.rpm"

  # .deb
  local D=$OUT/deb-$DEBARCH DEB=$OUT/osconf_${VERSION}-${RELEASE}_$DEBARCH.deb
  rm -rf "$D"
  stage "$D" /lib/systemd/system /etc/init.d
  fill packaging/debian/copyright >"$D/usr/share/doc/osconf/copyright"
  fill packaging/debian/changelog | gzip -9n >"$D/usr/share/doc/osconf/changelog.Debian.gz"
  install -D -m 644 packaging/debian/lintian-overrides "$D/usr/share/lintian/overrides/osconf"
  mkdir -p "$D/DEBIAN"
  (cd "$D" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum) >"$D/DEBIAN/md5sums"
  fill packaging/debian/control | sed "s|@VERSION@|$VERSION-$RELEASE|; s|@ARCH@|$DEBARCH|; s|@INSTALLED_SIZE@|$(du -sk --exclude=DEBIAN "$D" | cut -f1)|" >"$D/DEBIAN/control"
  install -m 644 packaging/debian/conffiles "$D/DEBIAN/"
  install -m 755 packaging/debian/preinst packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$D/DEBIAN/"
  dpkg-deb --root-owner-group -Zxz --build "$D" "$DEB" >/dev/null

  # .rpm (--target: an aarch64 package built on x86_64, from the staged files)
  local R=$OUT/rpm-$RPMARCH
  rm -rf "$R"
  stage "$R/stage" /usr/lib/systemd/system /etc/rc.d/init.d
  install -D -m 644 LICENSE "$R/stage/usr/share/licenses/osconf/LICENSE"
  mkdir -p "$R/SPECS"
  { fill packaging/osconf.spec | sed "s|@VERSION@|$VERSION|; s|@RELEASE@|$RELEASE|"; rpm_changelog; } >"$R/SPECS/osconf.spec"
  rpmbuild -bb --quiet --target "$RPMARCH" --define "_topdir $PWD/$R" --define "_osconf_stage $PWD/$R/stage" \
    --define "__strip /bin/true" --define "__brp_compress /bin/true" --define "_build_id_links none" "$R/SPECS/osconf.spec" >/dev/null
  cp "$R/RPMS/$RPMARCH/osconf-$VERSION-$RELEASE.$RPMARCH.rpm" "$OUT/"
  rm -rf "$D" "$R"
}

for arch in $ARCHES; do
  build "$arch"
done
ls -l "$OUT"
