#!/usr/bin/env bash
# The packages really installed, removed and reinstalled into test trees
# (rpm --root, dpkg --root; their scriptlets run chrooted there, with a
# busybox shell): removing keeps /var/lib/osconf, so a drop still present
# (Tencent's CD-ROM stays attached) is not applied again after a reinstall;
# only a .deb purge removes it (issue 13, point 8).
#   bash tests/package_lifecycle.sh DEB RPM     (as root: chroot)
set -euo pipefail
DEB=$(realpath "$1") RPM=$(realpath "$2")
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
ok ".rpm: the first boot applies the drop (record written)" test -s "$T/var/lib/osconf/record.json" -a "$first" != '*'
rpm --root "$T" --dbpath /var/lib/rpm -e --nodeps osconf 2>/dev/null
ok ".rpm removed (binary gone)" test ! -e "$T/usr/sbin/osconf"
ok ".rpm removal keeps /var/lib/osconf" test -s "$T/var/lib/osconf/record.json"
rpm --root "$T" --dbpath /var/lib/rpm -i --nodeps "$RPM" 2>/dev/null
echo 'root:$6$changed$byuser:20000:0:99999:7:::' >"$T/etc/shadow"
log=$(boot "$T")
ok ".rpm reinstalled: the old drop is not applied again ($(grep -o 'applied already' <<<"$log" || echo "$log"))" grep -q 'applied already' <<<"$log"
ok ".rpm reinstalled: the password set since stays" test "$(root_hash "$T")" = '$6$changed$byuser'

# --- .deb
T=$(tree)
mkdir -p "$T/var/lib/dpkg/info" "$T/var/lib/dpkg/updates"
touch "$T/var/lib/dpkg/status" "$T/var/lib/dpkg/available"
dpkg --root="$T" --force-depends -i "$DEB" >/dev/null
ok ".deb installed into the tree" test -x "$T/usr/sbin/osconf"
log=$(boot "$T")
ok ".deb: the first boot applies the drop (record written)" test -s "$T/var/lib/osconf/record.json"
dpkg --root="$T" -r osconf >/dev/null
ok ".deb removed (binary gone)" test ! -e "$T/usr/sbin/osconf"
ok ".deb removal keeps /var/lib/osconf" test -s "$T/var/lib/osconf/record.json"
dpkg --root="$T" --force-depends -i "$DEB" >/dev/null
echo 'root:$6$changed$byuser:20000:0:99999:7:::' >"$T/etc/shadow"
log=$(boot "$T")
ok ".deb reinstalled: the old drop is not applied again" grep -q 'applied already' <<<"$log"
ok ".deb reinstalled: the password set since stays" test "$(root_hash "$T")" = '$6$changed$byuser'
dpkg --root="$T" -P osconf >/dev/null
ok ".deb purge removes /var/lib/osconf" test ! -e "$T/var/lib/osconf"

echo "package lifecycle: $pass passed, $fail failed"
[ "$fail" = 0 ]
