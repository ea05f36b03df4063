#!/usr/bin/env bash
# The release artefacts, for x86_64 and aarch64: the binary is static, small
# and for its machine, the .deb and .rpm hold what they must, and lintian and
# rpmlint find nothing beyond the waivers in packaging/ (debian/lintian-overrides,
# rpmlint.toml), each with its reason. Builds them with packaging/build.sh --arch all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/build.sh --arch all >/dev/null
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
RELEASE=$(sed -n '1s/^osconf ([^-]*-\([^)]*\)).*/\1/p' packaging/debian/changelog)
pass=0 fail=0
ok() { if "${@:2}"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi; }
ok "the OpenRC script runs under openrc-run, before the network" sh -c "head -1 openrc/osconf | grep -qx '#!/sbin/openrc-run' && grep -q 'before net' openrc/osconf && grep -q 'localmount' openrc/osconf"
# Debian's OpenRC runs the .deb's SysV script by its LSB header (lsb2rcconf:
# X-Start-Before is "before"), in sysinit, where update-rc.d puts Default-Start S.
ok "the SysV script orders itself before networking, in rcS (OpenRC: sysinit)" sh -c "grep -q '^# X-Start-Before: *networking' init.d/osconf && grep -q '^# Default-Start: *S$' init.d/osconf"
ok "the systemd units, SysV and OpenRC scripts point to man:osconf(8), no made-up URL" \
  sh -c "grep -q '^Documentation=man:osconf(8)$' systemd/osconf.service systemd/osconf-metadata.service systemd/osconf-user-data.service && ! grep -rn 'http' systemd init.d openrc"
ok "the man page renders without a warning (man --warnings) and has a NAME line (lexgrog)" \
  sh -c "[ -z \"\$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z packaging/osconf.8 2>&1 >/dev/null)\" ] && lexgrog packaging/osconf.8 | grep -q 'osconf - '"

# check <deb arch> <rpm arch> <rust target> <what file(1) calls the machine> [runner]
check() {
  local DEBARCH=$1 RPMARCH=$2 BIN=target/$3/release/osconf MACHINE=$4 RUN=${5:-}
  local DEB=target/packages/osconf_${VERSION}-${RELEASE}_$DEBARCH.deb RPM=target/packages/osconf-$VERSION-$RELEASE.$RPMARCH.rpm
  local size deb_files rpm_files f report etc_files
  size=$(stat -c %s "$BIN")
  ok "$DEBARCH: binary is statically linked ($(file -b "$BIN" | grep -o 'static-pie linked\|statically linked'))" sh -c "file -b '$BIN' | grep -q 'static-pie linked\|statically linked'"
  ok "$DEBARCH: binary is for $MACHINE" sh -c "file -b '$BIN' | grep -q '$MACHINE'"
  # 3.5 MiB since check --image (issue 27: disk formats, partitions, LVM,
  # ext/XFS/FAT readers, xz and zstd): issue 28 owns the way back to 3 MiB.
  ok "$DEBARCH: binary is under 3.5 MiB ($size bytes)" [ "$size" -lt $((7 * 512 * 1024)) ]
  ok "$DEBARCH: binary runs${RUN:+ (under $RUN)}" sh -c "$RUN '$BIN' --version | grep -q 'osconf $VERSION'"
  ok "$DEBARCH: .deb is for $DEBARCH" sh -c "dpkg-deb -f '$DEB' Architecture | grep -qx '$DEBARCH'"
  ok "$DEBARCH: .deb and .rpm carry this binary" sh -c "dpkg-deb --fsys-tarfile '$DEB' | tar -xO ./usr/sbin/osconf | cmp -s - '$BIN' && rpm2cpio '$RPM' | cpio -i --quiet --to-stdout ./usr/sbin/osconf | cmp -s - '$BIN'"
  deb_files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
  for f in ./usr/sbin/osconf ./lib/systemd/system/osconf.service ./lib/systemd/system/osconf-metadata.service ./lib/systemd/system/osconf-user-data.service ./etc/init.d/osconf ./etc/init.d/osconf-user-data ./etc/osconf/osconf.conf ./usr/share/man/man8/osconf.8.gz ./usr/share/doc/osconf/README.md ./usr/share/doc/osconf/docs/guarantees.md ./usr/share/doc/osconf/copyright ./usr/share/doc/osconf/changelog.Debian.gz ./usr/share/doc/osconf/examples/openrc/osconf; do
    ok "$DEBARCH: .deb holds $f" grep -qxF "$f" <<<"$deb_files"
  done
  etc_files=$(grep '^\./etc/.*[^/]$' <<<"$deb_files" | sed 's/^\.//' | sort)
  ok "$DEBARCH: .deb marks every file under /etc as a conffile ($(tr '\n' ' ' <<<"$etc_files"))" \
    [ "$etc_files" = "$(dpkg-deb -I "$DEB" conffiles | sort)" ]
  ok "$DEBARCH: .deb's maintainer is a contact, from Cargo.toml ($(dpkg-deb -f "$DEB" Maintainer))" \
    sh -c "dpkg-deb -f '$DEB' Maintainer | grep -qxF \"\$(sed -n 's/^authors = \[\"\([^\"]*\)\".*/\1/p' Cargo.toml)\""
  ok "$DEBARCH: .deb postinst enables the service (update-rc.d, deb-systemd-helper)" \
    sh -c "dpkg-deb -I '$DEB' postinst | grep -q 'update-rc.d osconf defaults' && dpkg-deb -I '$DEB' postinst | grep -q 'deb-systemd-helper enable osconf.service'"
  ok "$DEBARCH: .deb postrm removes the boot links on purge" sh -c "dpkg-deb -I '$DEB' postrm | grep -q 'update-rc.d osconf remove'"
  report=$(lintian --fail-on error,warning "$DEB" 2>&1) && f=yes || f=no
  report=$(grep -v 'running with root privileges' <<<"$report" || true)
  ok "$DEBARCH: lintian: no error, no warning${report:+ ($(tr '\n' ';' <<<"$report"))}" [ "$f" = yes ]
  ok "$RPMARCH: .rpm is for $RPMARCH" sh -c "rpm -qp --qf '%{ARCH}' '$RPM' 2>/dev/null | grep -qx '$RPMARCH'"
  rpm_files=$(rpm -qlp "$RPM" 2>/dev/null)
  for f in /usr/sbin/osconf /usr/lib/systemd/system/osconf.service /usr/lib/systemd/system/osconf-metadata.service /usr/lib/systemd/system/osconf-user-data.service /etc/rc.d/init.d/osconf /etc/rc.d/init.d/osconf-user-data /etc/osconf/osconf.conf /usr/share/man/man8/osconf.8.gz /usr/share/doc/osconf/README.md /usr/share/doc/osconf/docs/guarantees.md /usr/share/doc/osconf/examples/openrc/osconf; do
    ok "$RPMARCH: .rpm holds $f" grep -qxF "$f" <<<"$rpm_files"
  done
  ok "$RPMARCH: .rpm marks osconf.conf as config" sh -c "rpm -qcp '$RPM' 2>/dev/null | grep -qx /etc/osconf/osconf.conf"
  ok "$RPMARCH: .rpm %post enables the service" sh -c "rpm -qp --scripts '$RPM' 2>/dev/null | grep -q 'chkconfig --add osconf'"
  ok "$RPMARCH: .rpm names its packager, URL and group, and has a changelog" \
    sh -c "rpm -qp --qf '%{PACKAGER}|%{URL}|%{GROUP}|%{CHANGELOGNAME}\n' '$RPM' 2>/dev/null | grep -qv '(none)'"
  report=$(rpmlint -c packaging/rpmlint.toml "$RPM" 2>&1 | grep -E '^[^ ]+: [EW]: ' || true)
  ok "$RPMARCH: rpmlint: no error, no warning${report:+ ($(tr '\n' ';' <<<"$report"))}" [ -z "$report" ]
}
check amd64 x86_64 x86_64-unknown-linux-gnu x86-64
check arm64 aarch64 aarch64-unknown-linux-gnu 'ARM aarch64' qemu-aarch64-static

# The x86_64 packages (this machine runs their binary natively).
ok "packages install, upgrade (.deb), remove (record kept), reinstall, purge (.deb) in test trees" bash tests/package_lifecycle.sh "target/packages/osconf_${VERSION}-${RELEASE}_amd64.deb" "target/packages/osconf-$VERSION-$RELEASE.x86_64.rpm"
# Installing, enabling and removing the .deb in real images: tests/vm/run.sh --deb.
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
