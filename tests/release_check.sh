#!/usr/bin/env bash
# The release artefacts: the binary is static and small, and the .deb and
# .rpm hold what they must. Builds them with packaging/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/build.sh >/dev/null
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
BIN=target/x86_64-unknown-linux-gnu/release/osconf
DEB=target/packages/osconf_${VERSION}_amd64.deb
RPM=target/packages/osconf-${VERSION}-1.x86_64.rpm
pass=0 fail=0
ok() { if "${@:2}"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi; }
size=$(stat -c %s "$BIN")
ok "binary is statically linked ($(file -b "$BIN" | grep -o 'static-pie linked\|statically linked'))" sh -c "file -b '$BIN' | grep -q 'static-pie linked\|statically linked'"
ok "binary is under 3 MiB ($size bytes)" [ "$size" -lt $((3 * 1024 * 1024)) ]
ok "binary runs" sh -c "'$BIN' --version | grep -q 'osconf $VERSION'"
deb_files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/osconf ./lib/systemd/system/osconf.service ./lib/systemd/system/osconf-metadata.service ./etc/init.d/osconf ./usr/lib/osconf/openrc/osconf ./etc/osconf/osconf.conf ./usr/share/doc/osconf/README.md; do
  ok ".deb holds $f" grep -qxF "$f" <<<"$deb_files"
done
ok ".deb marks osconf.conf as a conffile" sh -c "dpkg-deb -I '$DEB' conffiles | grep -qx /etc/osconf/osconf.conf"
ok ".deb postinst enables the service" sh -c "dpkg-deb -I '$DEB' postinst | grep -q 'update-rc.d osconf defaults'"
ok ".deb postinst enables the OpenRC script where OpenRC is the rc system" sh -c "dpkg-deb -I '$DEB' postinst | grep -q 'rc-update add osconf'"
ok "the OpenRC script runs under openrc-run, before the network" sh -c "head -1 openrc/osconf | grep -qx '#!/sbin/openrc-run' && grep -q 'before net' openrc/osconf && grep -q 'localmount' openrc/osconf"
rpm_files=$(rpm -qlp "$RPM" 2>/dev/null)
for f in /usr/sbin/osconf /usr/lib/systemd/system/osconf.service /usr/lib/systemd/system/osconf-metadata.service /etc/rc.d/init.d/osconf /usr/lib/osconf/openrc/osconf /etc/osconf/osconf.conf; do
  ok ".rpm holds $f" grep -qxF "$f" <<<"$rpm_files"
done
ok ".rpm marks osconf.conf as config" sh -c "rpm -qcp '$RPM' 2>/dev/null | grep -qx /etc/osconf/osconf.conf"
ok ".rpm %post enables the service" sh -c "rpm -qp --scripts '$RPM' 2>/dev/null | grep -q 'chkconfig --add osconf'"

ok "packages install, remove (record kept), reinstall, purge (.deb) in test trees" bash tests/package_lifecycle.sh "$DEB" "$RPM"
# Installing, enabling and removing the .deb in real images: tests/vm/run.sh --deb.
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
