#!/usr/bin/env bash
# The packages really installed, removed and reinstalled into test trees
# (rpm --root, dpkg --root; their scriptlets run chrooted there, with a
# busybox shell): removing keeps /var/lib/osconf, so a drop still present
# (Tencent's CD-ROM stays attached) is not applied again after a reinstall;
# only a .deb purge removes it (issue 13, point 8). Both upgrade from the
# previous packages (.deb 0.1.0, .rpm 0.1.0-1, rebuilt from commit PREV's
# packaging around this binary), the .deb without a conffile question, and its scripts call the init systems' own
# helpers (stand-ins that log their arguments) as Debian policy asks.
#   bash tests/package_lifecycle.sh DEB RPM     (as root: chroot)
set -euo pipefail
DEB=$(realpath "$1") RPM=$(realpath "$2")
REPO=$(cd "$(dirname "$0")/.." && pwd)
# The last commit whose .deb was 0.1.0: /etc/init.d/osconf no conffile, the
# OpenRC script put there by its postinst where OpenRC is the rc system.
PREV=ed09a80
prev() { git -C "$REPO" show "$PREV:$1"; } # prev FILE: FILE as it was at PREV
pass=0 fail=0
ok() { if "${@:2}"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi; }
BUSYBOX=$(command -v busybox)
TREES=()
trap 'rm -rf "${TREES[@]}"' EXIT

# A tree with a shell for the scriptlets and an image osconf can configure.
tree() {
  local T; T=$(mktemp -d /tmp/osconf-pkg-XXXXXX); TREES+=("$T")
  mkdir -p "$T/bin" "$T/etc" "$T/tmp" "$T/var/lib"
  cp "$BUSYBOX" "$T/bin/busybox"
  chroot "$T" /bin/busybox --install -s /bin
  mkdir -p "$T/dev"; mknod -m 666 "$T/dev/null" c 1 3
  printf 'root:*:19000:0:99999:7:::\n' >"$T/etc/shadow"; chmod 640 "$T/etc/shadow"
  printf '127.0.0.1\tlocalhost\n' >"$T/etc/hosts"; echo image >"$T/etc/hostname"
  echo "$T"
}
# The drop as the CD-ROM shows it at every boot; osconf as installed in the tree.
boot() { # boot TREE → osconf's log
  mkdir -p "$1/media/cdrom/qcloud_action"; cp examples/tencent.conf "$1/media/cdrom/qcloud_action/os.conf"
  "$1/usr/sbin/osconf" apply --root "$1" --no-live --drop "$1/media/cdrom/qcloud_action/os.conf" --keep-drop 2>&1
}
root_hash() { sed -n 's/^root:\([^:]*\):.*/\1/p' "$1/etc/shadow"; }

# --- .rpm
T=$(tree)
rpm --root "$T" --dbpath /var/lib/rpm --initdb
rpm --root "$T" --dbpath /var/lib/rpm -i --nodeps "$RPM" 2>/dev/null  # Debian's rpm: "use Alien instead" on stderr
ok ".rpm installed into the tree (its database there too)" test -x "$T/usr/sbin/osconf" -a -d "$T/var/lib/rpm"
log=$(boot "$T"); first=$(root_hash "$T")
ok ".rpm: the first boot applies the drop (record written)" test -s "$T/var/lib/osconf/records/tencent-cdrom.json" -a "$first" != '*'
rpm --root "$T" --dbpath /var/lib/rpm -e --nodeps osconf 2>/dev/null
ok ".rpm removed (binary gone)" test ! -e "$T/usr/sbin/osconf"
ok ".rpm removal keeps /var/lib/osconf" test -s "$T/var/lib/osconf/records/tencent-cdrom.json"
rpm --root "$T" --dbpath /var/lib/rpm -i --nodeps "$RPM" 2>/dev/null
echo 'root:$6$changed$byuser:20000:0:99999:7:::' >"$T/etc/shadow"
log=$(boot "$T")
ok ".rpm reinstalled: the old drop is not applied again ($(grep -o 'applied already' <<<"$log" || echo "$log"))" grep -q 'applied already' <<<"$log"
ok ".rpm reinstalled: the password set since stays" test "$(root_hash "$T")" = '$6$changed$byuser'

# The previous .rpm, 0.1.0-1: PREV's spec around this binary.
prev_rpm() { # prev_rpm OUT
  local R S A
  R=$(mktemp -d /tmp/osconf-prev-XXXXXX); TREES+=("$R"); S=$R/stage
  A=$(rpm -qp --qf '%{ARCH}' "$RPM" 2>/dev/null)
  mkdir -p "$S/usr/lib/systemd/system" "$S/etc/rc.d/init.d" "$S/usr/lib/osconf/openrc" "$S/etc/osconf" "$S/usr/share/doc/osconf" "$R/SPECS"
  rpm2cpio "$RPM" | (cd "$S" && cpio -i --quiet --make-directories ./usr/sbin/osconf)
  prev systemd/osconf.service >"$S/usr/lib/systemd/system/osconf.service"
  prev systemd/osconf-metadata.service >"$S/usr/lib/systemd/system/osconf-metadata.service"
  prev init.d/osconf >"$S/etc/rc.d/init.d/osconf"
  prev openrc/osconf >"$S/usr/lib/osconf/openrc/osconf"
  prev packaging/osconf.conf >"$S/etc/osconf/osconf.conf"
  prev README.md >"$S/usr/share/doc/osconf/README.md"
  chmod 755 "$S/etc/rc.d/init.d/osconf" "$S/usr/lib/osconf/openrc/osconf"
  prev packaging/osconf.spec | sed "s/@VERSION@/0.1.0/" >"$R/SPECS/osconf.spec"
  rpmbuild -bb --quiet --target "$A" --define "_topdir $R" --define "_osconf_stage $S" \
    --define "__strip /bin/true" --define "_build_id_links none" "$R/SPECS/osconf.spec" >/dev/null 2>&1
  cp "$R/RPMS/$A/osconf-0.1.0-1.$A.rpm" "$1"
}
PREV_RPM=$(mktemp -d /tmp/osconf-prev-XXXXXX)/osconf-0.1.0-1.rpm; TREES+=("$(dirname "$PREV_RPM")")
prev_rpm "$PREV_RPM"
T=$(tree)
rpm --root "$T" --dbpath /var/lib/rpm --initdb
rpm --root "$T" --dbpath /var/lib/rpm -i --nodeps "$PREV_RPM" 2>/dev/null
boot "$T" >/dev/null
ok ".rpm upgrades 0.1.0-1 (rpm -U)" sh -c "rpm --root '$T' --dbpath /var/lib/rpm -U --nodeps '$RPM' 2>/dev/null"
ok ".rpm upgraded: $(rpm -qp "$RPM" 2>/dev/null) installed" \
  sh -c "[ \"\$(rpm --root '$T' --dbpath /var/lib/rpm -q osconf 2>/dev/null)\" = \"\$(rpm -qp '$RPM' 2>/dev/null)\" ]"
# (0.1.0-1 owned no directory: the empty /usr/lib/osconf/openrc stays.)
ok ".rpm upgraded: 0.1.0-1's OpenRC script is gone, the man page is there" \
  test ! -e "$T/usr/lib/osconf/openrc/osconf" -a -s "$T/usr/share/man/man8/osconf.8.gz"
log=$(boot "$T")
ok ".rpm upgraded: the record is kept, the drop not applied again" grep -q 'applied already' <<<"$log"

# --- .deb
T=$(tree)
dpkg_tree() { # dpkg_tree TREE: an empty dpkg database
  mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates"
  touch "$1/var/lib/dpkg/status" "$1/var/lib/dpkg/available"
}
dpkg_tree "$T"
dpkg --root="$T" --force-depends -i "$DEB" >/dev/null
ok ".deb installed into the tree" test -x "$T/usr/sbin/osconf"
log=$(boot "$T")
ok ".deb: the first boot applies the drop (record written)" test -s "$T/var/lib/osconf/records/tencent-cdrom.json"
dpkg --root="$T" -r osconf >/dev/null
ok ".deb removed (binary gone)" test ! -e "$T/usr/sbin/osconf"
ok ".deb removal keeps /var/lib/osconf" test -s "$T/var/lib/osconf/records/tencent-cdrom.json"
ok ".deb removal keeps the conffile /etc/init.d/osconf, which then does nothing" \
  sh -c "chroot '$T' /etc/init.d/osconf start && test ! -e '$T/var/log/osconf.log'"
dpkg --root="$T" --force-depends -i "$DEB" >/dev/null
echo 'root:$6$changed$byuser:20000:0:99999:7:::' >"$T/etc/shadow"
log=$(boot "$T")
ok ".deb reinstalled: the old drop is not applied again" grep -q 'applied already' <<<"$log"
ok ".deb reinstalled: the password set since stays" test "$(root_hash "$T")" = '$6$changed$byuser'
dpkg --root="$T" -P osconf >/dev/null 2>&1
ok ".deb purge removes /var/lib/osconf" test ! -e "$T/var/lib/osconf"
ok ".deb purge removes /etc/init.d/osconf and /etc/osconf" test ! -e "$T/etc/init.d/osconf" -a ! -e "$T/etc/osconf"

# The maintainer scripts, with stand-ins for the helpers that log their
# arguments: enabled at install (never started), stopped on removal, the
# boot links gone only on purge.
T=$(tree)
dpkg_tree "$T"
for helper in update-rc.d deb-systemd-helper deb-systemd-invoke invoke-rc.d; do
  # deb-systemd-helper debian-installed: false, as on a first install.
  printf '#!/bin/sh\necho "%s $*" >>/calls\n[ "$1" != debian-installed ]\n' "$helper" >"$T/bin/$helper"
  chmod 755 "$T/bin/$helper"
done
CALLS=$T/calls
no() { ! "$@"; }
dpkg --root="$T" --force-depends -i "$DEB" >/dev/null
ok ".deb postinst: update-rc.d osconf defaults" grep -qx 'update-rc.d osconf defaults' "$CALLS"
ok ".deb postinst: deb-systemd-helper enable osconf.service" grep -qx 'deb-systemd-helper enable osconf.service' "$CALLS"
ok ".deb postinst: update-rc.d osconf-user-data defaults" grep -qx 'update-rc.d osconf-user-data defaults' "$CALLS"
ok ".deb postinst: deb-systemd-helper enable osconf-user-data.service" grep -qx 'deb-systemd-helper enable osconf-user-data.service' "$CALLS"
ok ".deb postinst: osconf-metadata.service not enabled" no grep -q 'enable osconf-metadata' "$CALLS"
ok ".deb postinst starts nothing" no grep -q 'invoke\|start' "$CALLS"
: >"$CALLS"
dpkg --root="$T" -r osconf >/dev/null
ok ".deb prerm: invoke-rc.d osconf stop" grep -qx 'invoke-rc.d osconf stop' "$CALLS"
ok ".deb postrm on removal: units masked" grep -qx 'deb-systemd-helper mask osconf.service osconf-metadata.service osconf-user-data.service' "$CALLS"
ok ".deb postrm on removal: boot links kept (no update-rc.d)" no grep -q 'update-rc.d' "$CALLS"
: >"$CALLS"
dpkg --root="$T" -P osconf >/dev/null 2>&1
ok ".deb postrm on purge: update-rc.d osconf remove" grep -qx 'update-rc.d osconf remove' "$CALLS"
ok ".deb postrm on purge: update-rc.d osconf-user-data remove" grep -qx 'update-rc.d osconf-user-data remove' "$CALLS"
ok ".deb postrm on purge: deb-systemd-helper purge" grep -qx 'deb-systemd-helper purge osconf.service osconf-metadata.service osconf-user-data.service' "$CALLS"

# The previous package, 0.1.0: PREV's packaging around this binary.
prev_deb() { # prev_deb OUT
  local S; S=$(mktemp -d /tmp/osconf-prev-XXXXXX); TREES+=("$S")
  mkdir -p "$S/DEBIAN" "$S/lib/systemd/system" "$S/etc/init.d" "$S/etc/osconf" "$S/usr/lib/osconf/openrc" "$S/usr/share/doc/osconf"
  dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$S" ./usr/sbin/osconf
  prev systemd/osconf.service >"$S/lib/systemd/system/osconf.service"
  prev systemd/osconf-metadata.service >"$S/lib/systemd/system/osconf-metadata.service"
  prev init.d/osconf >"$S/etc/init.d/osconf"
  prev openrc/osconf >"$S/usr/lib/osconf/openrc/osconf"
  prev packaging/osconf.conf >"$S/etc/osconf/osconf.conf"
  prev README.md >"$S/usr/share/doc/osconf/README.md"
  chmod 755 "$S/etc/init.d/osconf" "$S/usr/lib/osconf/openrc/osconf"
  prev packaging/debian/control | sed "s/@VERSION@/0.1.0/; s/@ARCH@/$(dpkg-deb -f "$DEB" Architecture)/" >"$S/DEBIAN/control"
  prev packaging/debian/conffiles >"$S/DEBIAN/conffiles"
  for f in postinst prerm postrm; do prev "packaging/debian/$f" >"$S/DEBIAN/$f"; chmod 755 "$S/DEBIAN/$f"; done
  dpkg-deb --root-owner-group --build "$S" "$1" >/dev/null
}
PREV_DEB=$(mktemp -d /tmp/osconf-prev-XXXXXX)/osconf_0.1.0.deb; TREES+=("$(dirname "$PREV_DEB")")
prev_deb "$PREV_DEB"
# upgrade TREE SHEBANG: 0.1.0 installed (its /etc/init.d/osconf starting with
# SHEBANG) and applied once, then this .deb over it with no terminal: a
# conffile question would fail it.
upgrade() {
  dpkg_tree "$1"
  dpkg --root="$1" --force-depends -i "$PREV_DEB" >/dev/null &&
    head -n1 "$1/etc/init.d/osconf" | grep -qxF "$2" &&
    boot "$1" >/dev/null &&
    dpkg --root="$1" --force-depends -i "$DEB" </dev/null >/dev/null
}
for rc in sysv openrc; do
  T=$(tree) shebang='#!/bin/sh'
  if [ $rc = openrc ]; then # 0.1.0's postinst puts its OpenRC script in /etc/init.d there
    shebang='#!/sbin/openrc-run'
    mkdir -p "$T/sbin"; printf '#!/bin/sh\n' >"$T/sbin/openrc-run"; printf '#!/bin/sh\n' >"$T/bin/rc-update"
    printf '#!/bin/sh\n# install -m MODE SRC DST\ncp "$3" "$4" && chmod "$2" "$4"\n' >"$T/bin/install"
    chmod 755 "$T/sbin/openrc-run" "$T/bin/rc-update" "$T/bin/install"
  fi
  ok ".deb upgrades 0.1.0 ($rc) without a conffile question" upgrade "$T" "$shebang"
  ok ".deb upgraded ($rc): version $(dpkg-deb -f "$DEB" Version)" \
    sh -c "dpkg --root='$T' -s osconf | grep -qx 'Version: $(dpkg-deb -f "$DEB" Version)'"
  ok ".deb upgraded ($rc): /etc/init.d/osconf is this version's conffile" cmp -s "$T/etc/init.d/osconf" "$REPO/init.d/osconf"
  ok ".deb upgraded ($rc): 0.1.0's /usr/lib/osconf is gone" test ! -e "$T/usr/lib/osconf"
  log=$(boot "$T")
  ok ".deb upgraded ($rc): the record is kept, the drop not applied again" grep -q 'applied already' <<<"$log"
done

echo "package lifecycle: $pass passed, $fail failed"
[ "$fail" = 0 ]
