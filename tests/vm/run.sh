#!/usr/bin/env bash
# End-to-end: real Debian images with osconf baked in, booted in QEMU by
# systemd or SysV init, configured by drops "the cloud" writes onto their
# first partition between boots. See tests/vm/README.md.
#
# usage (as root): tests/vm/run.sh [--osconf BIN] [--deb PKG] [--only IMAGE]
# Work and cache: $OSCONF_VM_WORK (default /var/tmp/osconf-vm). Everything
# slow (kernel, debootstrap) is built once and reused.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN="" DEB="" ONLY=""
while [ $# -gt 0 ]; do
  case $1 in
    --osconf) BIN=$(realpath "$2"); shift 2 ;;
    --deb) DEB=$(realpath "$2"); shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--osconf BIN] [--deb PKG] [--only IMAGE]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "tests/vm/run.sh must run as root" >&2; exit 2; }
# shellcheck source=tests/vm/lib.sh
. "$HERE/lib.sh"
if [ -z "$BIN" ] && [ -z "$DEB" ]; then
  (cd "$REPO" && cargo build --release --locked -q)
  BIN=$REPO/target/x86_64-unknown-linux-gnu/release/osconf
fi
rootfs systemd --include=systemd-sysv,udev,iproute2,ifupdown,kmod
rootfs sysv --exclude=systemd-sysv --include=sysvinit-core,udev,iproute2,ifupdown,kmod

# --- images: <name> <rootfs> <p1 file system> <mount p1 at /boot?> <kernel args>
PASSWORD='Passw0rd!'
make_image() {
  local name=$1 base=$2 fs=$3 mount_boot=$4 R="img-$1"
  rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "rootfs-$base.tar"
  echo "vm-$name" > "$R/etc/hostname"
  printf '/dev/vda2 / ext4 defaults 0 1\n' > "$R/etc/fstab"
  [ "$mount_boot" = yes ] && printf '/dev/vda1 /boot auto defaults 0 2\n' >> "$R/etc/fstab"
  printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces" 2>/dev/null || true
  echo "$PASSWORD" > "$R/etc/osconf-vm-expected-password"
  install -m 755 "$HERE/guest/osconf-vm-check" "$R/usr/local/sbin/osconf-vm-check"
  if [ -n "$DEB" ]; then
    cp "$DEB" "$R/tmp/osconf.deb"; chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null; rm "$R/tmp/osconf.deb"
  else
    install -m 755 "$BIN" "$R/usr/sbin/osconf"
    if [ "$base" = systemd ]; then
      install -m 644 "$REPO/systemd/osconf.service" "$R/etc/systemd/system/osconf.service"
      ln -sf ../osconf.service "$R/etc/systemd/system/multi-user.target.wants/osconf.service"
    else
      install -m 755 "$REPO/init.d/osconf" "$R/etc/init.d/osconf"
      chroot "$R" update-rc.d osconf defaults >/dev/null
    fi
  fi
  if [ "$base" = systemd ]; then
    install -m 644 "$HERE/guest/osconf-vm-check.service" "$R/etc/systemd/system/"
    ln -sf ../osconf-vm-check.service "$R/etc/systemd/system/multi-user.target.wants/osconf-vm-check.service"
    # No getty: a serial getty on ttyS0 hangs the line up under the report.
    rm -f "$R/etc/systemd/system/getty.target.wants/"*
    ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  else
    install -m 755 "$HERE/guest/osconf-vm-check.init" "$R/etc/init.d/osconf-vm-check"
    chroot "$R" update-rc.d osconf-vm-check defaults >/dev/null
    sed -i 's/^\([1-6]\):/#\1:/' "$R/etc/inittab"
  fi
  if [ "$name" = networkd ]; then
    chroot "$R" dpkg --purge ifupdown >/dev/null 2>&1
    ln -sf /lib/systemd/system/systemd-networkd.service "$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
  fi
  mkdir -p p1-empty/aliyun_custom_image
  bash "$HERE/mkdisk.sh" "$R" p1-empty "$fs" "disk-$name.img"
  rm -rf "$R"
}

# --- the first partition, seen from the host ("the cloud"): ext4 through a
# loop device at p1's offset; FAT32 through mtools (this host's kernel may
# have no vfat). P1_FS is the file system of the image under test.
P1_OFFSET=$((1024 * 1024)); P1_SIZE=$((64 * 1024 * 1024))
with_p1() { # with_p1 <disk> <command...>: p1 mounted at $W/p1 for the command
  local loop; loop=$(losetup -f --show -o $P1_OFFSET --sizelimit $P1_SIZE "$1")
  mkdir -p p1; mount "$loop" p1
  local rc=0; "${@:2}" || rc=$?
  umount p1; losetup -d "$loop"; return $rc
}
p1_put_drop() { # p1_put_drop <disk> <file>
  if [ "$P1_FS" = vfat ]; then
    MTOOLS_SKIP_CHECK=1 mcopy -o -i "$1@@$P1_OFFSET" "$2" ::/aliyun_custom_image/os.conf
  else
    with_p1 "$1" cp "$2" p1/aliyun_custom_image/os.conf
  fi
}
p1_has_drop() { # p1_has_drop <disk>
  if [ "$P1_FS" = vfat ]; then
    MTOOLS_SKIP_CHECK=1 mdir -b -i "$1@@$P1_OFFSET" ::/aliyun_custom_image 2>/dev/null | grep -qi 'os.conf'
  else
    with_p1 "$1" test -e p1/aliyun_custom_image/os.conf
  fi
}
p1_lacks_drop() { ! p1_has_drop "$1"; }

# --- drops
M0=52:54:00:12:34:56 M1=52:54:00:12:34:57
PW64=$(printf '%s\n' "$PASSWORD" | base64)
mkdir -p drops
cat > drops/vpc.conf <<EOF
hostname=vpc-host
password=$PW64
eth0_ip_addr=192.168.50.10
eth0_mac_addr=$M0
eth0_netmask=255.255.255.0
eth0_gateway=192.168.50.1
eth0_route="0.0.0.0/0 192.168.50.1"
dns_nameserver="192.168.50.2 192.168.50.3"
EOF
cat > drops/classic.conf <<EOF
hostname=classic-host
password=$PW64
eth0_ip_addr=10.171.254.123
eth0_mac_addr=$M0
eth0_netmask=255.255.255.0
eth0_gateway=10.171.254.1
eth0_route="10.0.0.0/8 10.171.254.1;172.16.0.0/12 10.171.254.1"
eth1_ip_addr=192.0.2.105
eth1_mac_addr=$M1
eth1_netmask=255.255.255.0
eth1_gateway=192.0.2.1
eth1_route="0.0.0.0/0 192.0.2.1"
dns_nameserver="198.51.100.53 198.51.100.54"
EOF
cat > drops/changed.conf <<EOF
hostname=changed-host
eth0_ip_addr=10.171.254.124
eth0_mac_addr=$M0
eth0_netmask=255.255.255.0
eth0_gateway=10.171.254.1
dns_nameserver="198.51.100.53"
EOF
cat > drops/bad.conf <<EOF
hostname=\$(touch /pwned)
eth0_ip_addr=10.0.0.300
eth0_mac_addr=$M0
eth0_netmask=255.255.255.0
EOF
# Tencent's drop comes on an ISO 9660 medium labelled config-2 (attached as a
# second virtio disk: found by its label, as on the real CD-ROM), with a
# crypt-hashed password.
rm -rf iso && mkdir -p iso/qcloud_action
cat > drops/tencent.conf <<EOF
hostname=VM_10_20_tencent
password=$(openssl passwd -6 -salt tencentsalt "$PASSWORD")
eth0_ip_addr=10.104.62.201
eth0_mac_addr=$M0
eth0_netmask=255.255.192.0
eth0_gateway=10.104.0.1
dns_nameserver="10.138.224.65 10.182.20.26"
EOF
cp drops/tencent.conf iso/qcloud_action/os.conf
genisoimage -quiet -V config-2 -r -J -o tencent.iso iso
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- assertions on the guest's report
PASS=0 FAIL=0 RESULTS=()
check() { # check <description> <condition...>
  if "${@:2}"; then return 0; fi
  echo "    FAIL: $1"; CASE_OK=no
}
has() { grep -qxF "OSCONF-CHECK $1" "$LOG"; }
lacks() { ! grep -qF "OSCONF-CHECK $1" "$LOG"; }
value() { sed -n "s/^OSCONF-CHECK $1=//p" "$LOG" | tail -n1; }

scenario() { # scenario <image> <disk> <kernel args> <name> <drop file or -> <assert function>
  local image=$1 disk=$2 args=$3 name=$4 drop=$5 assert=$6
  LOG="$W/serial-$image-$name.log"; CASE_OK=yes
  if [ "$drop" != - ]; then p1_put_drop "$disk" "$drop"; fi
  boot "$disk" "$LOG" "$args"
  tr -d '\r' < "$LOG" > "$LOG.tmp" && mv "$LOG.tmp" "$LOG"
  if has done=1; then "$assert"; else echo "    FAIL: the guest never reported (boot failed?)"; tail -n 30 "$LOG" | sed 's/^/    | /'; CASE_OK=no; fi
  local line; line=$(printf '%-10s %-22s %-5s boot %6ss  osconf %5s ms  (started at %ss)' "$image" "$name" "$CASE_OK" "$BOOT_SECONDS" "$(value osconf_ms)" "$(value osconf_started_s)")
  RESULTS+=("$line"); echo "$line"
  if [ "$CASE_OK" = yes ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); grep 'OSCONF-CHECK' "$LOG" | sed 's/^/    | /'; fi
}

common_applied() { # the drop in $DROP was applied and deleted
  check "osconf succeeded: $(value osconf_result)" [ "$(value osconf_result | grep -o 'exit=[0-9]*')" = exit=0 ]
  check "record holds the drop's hash" [ "$(value record_sha)" = "$(sha "$DROP")" ]
  check "drop deleted from the first partition" p1_lacks_drop "$DISK"
  check "no injected command ran" [ -z "$(value pwned)" ]
}
assert_vpc() {
  common_applied
  check "hostname vpc-host" has hostname=vpc-host
  check "root password verified with crypt(3)" has password_ok=yes
  check "password not expired" [ "$(value shadow_lastchg)" -gt 19000 ]
  check "name servers" has "dns=192.168.50.2 192.168.50.3"
  check "eth0 address" has "addr_$M0=192.168.50.10/24"
  check "default route via eth0" has "route=default via 192.168.50.1 mac $M0"
}
assert_classic() {
  common_applied
  check "hostname classic-host" has hostname=classic-host
  check "eth0 address (VPC address replaced)" has "addr_$M0=10.171.254.123/24"
  check "eth1 address" has "addr_$M1=192.0.2.105/24"
  check "eth0 intranet route 10/8" has "route=10.0.0.0/8 via 10.171.254.1 mac $M0"
  check "eth0 intranet route 172.16/12" has "route=172.16.0.0/12 via 10.171.254.1 mac $M0"
  check "default route via eth1" has "route=default via 192.0.2.1 mac $M1"
  check "no default route via eth0" lacks "route=default via 192.168.50.1"
}
assert_reboot() {
  check "nothing applied: osconf found no drop" grep -q 'no settings found' "$LOG"
  check "record unchanged" [ "$(value record_sha)" = "$(sha drops/classic.conf)" ]
  check "hostname kept" has hostname=classic-host
  check "eth0 address from the persistent files" has "addr_$M0=10.171.254.123/24"
  check "eth1 address from the persistent files" has "addr_$M1=192.0.2.105/24"
  check "eth0 intranet route from the persistent files" has "route=10.0.0.0/8 via 10.171.254.1 mac $M0"
  check "default route via eth1 from the persistent files" has "route=default via 192.0.2.1 mac $M1"
}
assert_changed() {
  common_applied
  check "hostname changed-host" has hostname=changed-host
  check "eth0 new address only" has "addr_$M0=10.171.254.124/24"
  check "eth1 has no address any more" has "addr_$M1="
  check "default route now via eth0" has "route=default via 10.171.254.1 mac $M0"
  check "no route via eth1 any more" lacks "mac $M1"
  check "intranet routes gone" lacks "route=10.0.0.0/8"
}
assert_bad() {
  check "osconf refused the drop (exit 2): $(value osconf_result)" [ "$(value osconf_result | grep -o 'exit=[0-9]*')" = exit=2 ]
  check "error names the key and line" grep -q 'line 1: hostname' "$LOG"
  check "boot continued, nothing changed: hostname" has hostname=changed-host
  check "nothing changed: address" has "addr_$M0=10.171.254.124/24"
  check "record unchanged" [ "$(value record_sha)" = "$(sha drops/changed.conf)" ]
  check "drop kept on the first partition" p1_has_drop "$DISK"
  check "no injected command ran" [ -z "$(value pwned)" ]
}

assert_tencent() {
  check "osconf succeeded: $(value osconf_result)" [ "$(value osconf_result | grep -o 'exit=[0-9]*')" = exit=0 ]
  check "read from the CD-ROM" grep -q 'CD-ROM config-2' "$LOG"
  check "record holds the CD-ROM drop's hash" [ "$(value record_sha)" = "$(sha drops/tencent.conf)" ]
  check "hostname from the CD-ROM" has hostname=VM_10_20_tencent
  check "crypt-hashed password written as is, verified" has password_ok=yes
  check "eth0 address /18" has "addr_$M0=10.104.62.201/18"
  check "default route from eth0_gateway" has "route=default via 10.104.0.1 mac $M0"
}
assert_tencent_again() {
  check "the same CD-ROM drop is not applied twice" grep -q 'applied already' "$LOG"
  check "record unchanged" [ "$(value record_sha)" = "$(sha drops/tencent.conf)" ]
  check "state kept" has "addr_$M0=10.104.62.201/18"
}

run_image() { # run_image <name> <rootfs> <p1 fs> <mount /boot?> <kernel args> <scenarios...>
  local name=$1 base=$2 fs=$3 mount_boot=$4 args=$5; shift 5
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && return 0
  P1_FS=$fs
  ts "image $name: build"
  make_image "$name" "$base" "$fs" "$mount_boot"
  DISK="disk-$name.img"
  for s in "$@"; do
    DROP=drops/$s.conf EXTRA_DRIVE=
    case $s in
      reboot) DROP=- ;;
      tencent|tencent_again) DROP=- EXTRA_DRIVE=$W/tencent.iso ;;
    esac
    scenario "$name" "$DISK" "$args" "$s" "$DROP" "assert_$s"
  done
  rm -f "$DISK"
}


# --- the .deb itself: installing enables osconf, removing disables it and
# leaves the system's network files alone (in a chroot, no boot needed)
package_check() {
  [ -n "$DEB" ] || return 0
  local R=pkg-root ok=yes base
  for base in systemd sysv; do
    rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "rootfs-$base.tar"
    echo "auto eth0" > "$R/etc/network/interfaces.d/image-own"
    cp "$DEB" "$R/tmp/osconf.deb"
    chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null 2>&1 || ok=no
    if [ "$base" = systemd ]; then
      [ -L "$R/etc/systemd/system/multi-user.target.wants/osconf.service" ] || { echo "    FAIL: $base: not enabled after install"; ok=no; }
    else
      ls "$R"/etc/rcS.d/S*osconf >/dev/null 2>&1 || { echo "    FAIL: $base: no rcS.d link after install"; ok=no; }
    fi
    chroot "$R" osconf --version >/dev/null || ok=no
    chroot "$R" dpkg -r osconf >/dev/null 2>&1 || ok=no
    [ ! -e "$R/etc/systemd/system/multi-user.target.wants/osconf.service" ] || { echo "    FAIL: $base: still enabled after remove"; ok=no; }
    ! ls "$R"/etc/rc?.d/*osconf >/dev/null 2>&1 || { echo "    FAIL: $base: rc links left after remove"; ok=no; }
    [ -f "$R/etc/network/interfaces.d/image-own" ] || { echo "    FAIL: $base: network files touched"; ok=no; }
    rm -rf "$R"
  done
  local line; line=$(printf '%-10s %-22s %-5s' package "install/remove (.deb)" "$ok")
  RESULTS+=("$line"); echo "$line"
  if [ "$ok" = yes ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
}

ALL="vpc classic reboot changed bad"
package_check
run_image ifupdown systemd ext4 yes "net.ifnames=0" $ALL
run_image networkd systemd ext4 no "" $ALL
run_image sysv sysv ext4 no "net.ifnames=0" $ALL
run_image fat32 systemd vfat no "net.ifnames=0" vpc tencent tencent_again

echo
echo "osconf in QEMU ($ACCEL), $(( $(date +%s) - t0 ))s in all:"
printf '%s\n' "${RESULTS[@]}"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
