# The QEMU suite's shared parts, sourced by run.sh after lib.sh: the drops
# "the cloud" writes, the first partition seen from the host, building an
# image from a cached root file system, and running a chain of scenarios on
# it with the checks every boot gets. Each image is a file in images/.

PASSWORD='Passw0rd!'
M0=52:54:00:12:34:56 M1=52:54:00:12:34:57

# --- the first partition, seen from the host ("the cloud"): ext4 through a
# loop device at p1's offset; FAT32 (vfat, esp) through mtools (this host's
# kernel may have no vfat); a BIOS boot partition never holds a drop.
# P1_FS and P1_OFFSET describe the image under test.
P1_SIZE=$((64 * 1024 * 1024))
with_p1() { # with_p1 <disk> <command...>: p1 mounted for the command, "{p1}" in its words is the mount point
  local loop mnt; loop=$(losetup -f --show -o "$P1_OFFSET" --sizelimit $P1_SIZE "$1")
  mnt=$(mktemp -d "$W/p1.XXXXXX"); mount "$loop" "$mnt"
  local words=("${@:2}"); words=("${words[@]//\{p1\}/$mnt}")
  local rc=0; "${words[@]}" || rc=$?
  umount "$mnt"; rmdir "$mnt"; losetup -d "$loop"; return $rc
}
p1_put_drop() { # p1_put_drop <disk> <file>
  if [ "$P1_FS" = vfat ] || [ "$P1_FS" = esp ]; then
    MTOOLS_SKIP_CHECK=1 mcopy -o -i "$1@@$P1_OFFSET" "$2" ::/aliyun_custom_image/os.conf
  else
    with_p1 "$1" cp "$2" "{p1}/aliyun_custom_image/os.conf"
  fi
}
p1_has_drop() { # p1_has_drop <disk>
  case $P1_FS in
    vfat|esp) MTOOLS_SKIP_CHECK=1 mdir -b -i "$1@@$P1_OFFSET" ::/aliyun_custom_image 2>/dev/null | grep -qi 'os.conf' ;;
    ext4) with_p1 "$1" test -e "{p1}/aliyun_custom_image/os.conf" ;;
    *) return 1 ;; # no first partition the cloud can write: never a drop there
  esac
}
p1_lacks_drop() { ! p1_has_drop "$1"; }

# --- drops
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

# --- assertions on the guest's report
PASS=0 FAIL=0 RESULTS=()
check() { # check <description> <condition...>
  if "${@:2}"; then return 0; fi
  echo "    FAIL: $1"; CASE_OK=no
}
# The serial log is text once scenario() cleaned it; -a all the same, so a
# stray byte can never turn a grep into "binary file matches".
has() { grep -aqxF "OSCONF-CHECK $1" "$LOG"; }
lacks() { ! grep -aqF "OSCONF-CHECK $1" "$LOG"; }
value() { sed -n "s/^OSCONF-CHECK $1=//p" "$LOG" | tail -n1; }
osconf_exit() { value osconf_result | grep -o 'exit=[0-9]*'; }
# The record was written for this drop: its HMAC-SHA256 (osconf's drop_key
# module: label, then the drop's bytes) under the guest's key, recomputed here.
keyed_digest() { { printf 'osconf drop v1\0'; cat "$1"; } | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(value drop_key)" | awk '{print $NF}'; }
record_is() { [ -n "$(value record_hmac)" ] && [ "$(value record_hmac)" = "$(keyed_digest "$1")" ]; }
# Nothing the cloud's console or the log shows holds the drop's plain SHA-256.
no_plain_digest() { ! grep -aq "$(sha256sum "$1" | cut -d' ' -f1)" "$LOG"; }
log_private() { [ -z "$(value log_mode)" ] || [ "$(value log_mode)" = 600 ]; } # SysV/OpenRC log: 0600

common_applied() { # the drop in $DROP was applied and deleted
  check "osconf succeeded: $(value osconf_result)" [ "$(osconf_exit)" = exit=0 ]
  check "record holds the drop's keyed digest" record_is "$DROP"
  check "no plain digest of the drop on the console or in the log" no_plain_digest "$DROP"
  check "/var/log/osconf.log is 0600: $(value log_mode)" log_private
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
assert_reboot() { # no drop: everything comes from the persistent files
  check "nothing applied: osconf found no drop" grep -aq 'no settings found' "$LOG"
  check "record unchanged" record_is "$LAST_DROP"
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
  check "osconf refused the drop (exit 2): $(value osconf_result)" [ "$(osconf_exit)" = exit=2 ]
  check "error names the key and line" grep -aq 'line 1: hostname' "$LOG"
  check "record unchanged" record_is "$LAST_DROP"
  check "drop kept on the first partition" p1_has_drop "$DISK"
  check "no injected command ran" [ -z "$(value pwned)" ]
}
assert_tencent() {
  check "osconf succeeded: $(value osconf_result)" [ "$(osconf_exit)" = exit=0 ]
  if [ "$P1_FS" = bios ]; then
    check "warned that partition 1 holds no file system the cloud writes" grep -aq 'first partition /dev/vda1: holds no file system.*FAT32, ext2/3/4 or UFS' "$LOG"
  fi
  check "read from the CD-ROM" grep -aq 'CD-ROM config-2' "$LOG"
  check "record holds the CD-ROM drop's keyed digest" record_is drops/tencent.conf
  check "no plain digest of the drop on the console or in the log" no_plain_digest drops/tencent.conf
  check "hostname from the CD-ROM, '_' as '-' in the kernel" has hostname=VM-10-20-tencent
  check "the same name in /etc/hostname" has etc_hostname=VM-10-20-tencent
  check "the same name in /etc/hosts" has "hosts=10.104.62.201	VM-10-20-tencent	# managed by osconf"
  check "crypt-hashed password written as is, verified" has password_ok=yes
  check "eth0 address /18" has "addr_$M0=10.104.62.201/18"
  check "default route from eth0_gateway" has "route=default via 10.104.0.1 mac $M0"
}
assert_tencent_again() {
  check "the same CD-ROM drop is not applied twice" grep -aq 'applied already' "$LOG"
  check "record unchanged" record_is drops/tencent.conf
}

# Scenarios whose boot applies nothing new: they must end exactly where the
# boot that applied the last drop ended (the persistent files give the same
# addresses, routes with their metrics, rules and NIC names as osconf's live
# changes did). Any other scenario applies a drop and becomes the reference.
NEXT_BOOT_SCENARIOS=" reboot bad tencent_again "
# Checks of every boot: no route twice (e.g. osconf's and the stack's, with
# different metrics), and no failed unit but osconf's own (the bad drop).
every_boot_checks() {
  local dups
  dups=$(sed -n 's/^OSCONF-CHECK route=\([^ ]*\) .*/\1/p' "$LOG" | sort | uniq -d | tr '\n' ' ')
  check "no route twice: ${dups:-none}" [ -z "$dups" ]
  local failed; failed=$(value failed_units | tr ' ' '\n' | grep -v '^osconf.service$' | tr '\n' ' ' || true)
  check "no failed unit: ${failed:-none}" [ -z "${failed// /}" ]
}
state_of() { grep -a '^OSCONF-CHECK state=' "$1" | sort; }
same_as_apply_boot() {
  if [ -z "$LAST_APPLY_LOG" ]; then return 0; fi
  if [ -z "$(state_of "$LOG")" ]; then echo "    | no state reported"; return 1; fi
  if diff -u <(state_of "$LAST_APPLY_LOG") <(state_of "$LOG") > "$LOG.state-diff"; then return 0; fi
  sed 's/^/    | /' "$LOG.state-diff"; return 1
}

scenario() { # scenario <image> <disk> <kernel args> <name> <drop file or -> <assert function>
  local image=$1 disk=$2 args=$3 name=$4 drop=$5 assert=$6
  LOG="$W/serial-$image-$name.log"; CASE_OK=yes
  if [ "$drop" != - ]; then p1_put_drop "$disk" "$drop"; fi
  boot "$disk" "$LOG" "$args"
  # Consoles write CRs and, early in boot, NULs and escape codes: keep text.
  tr -d '\r\000' < "$LOG" > "$LOG.tmp" && mv "$LOG.tmp" "$LOG"
  if has done=1; then
    "$assert"
    every_boot_checks
    case $NEXT_BOOT_SCENARIOS in
      *" $name "*) check "this boot ends where the apply boot ($(basename "$LAST_APPLY_LOG" .log)) ended" same_as_apply_boot ;;
      *) LAST_APPLY_LOG=$LOG ;;
    esac
  else
    echo "    FAIL: the guest never reported (boot failed?)"; tail -n 30 "$LOG" | sed 's/^/    | /'; CASE_OK=no
  fi
  local line; line=$(printf '%-10s %-22s %-5s boot %6ss  osconf %5s ms  (started at %ss)' "$image" "$name" "$CASE_OK" "$BOOT_SECONDS" "$(value osconf_ms)" "$(value osconf_started_s)")
  RESULTS+=("$line"); echo "$line"
  # osconf's steps on this boot (systemd images), as its debug log timed them
  # (a sync's breakdown, "sync N ms = ...", is part of a step: left out).
  local steps; steps=$(grep -av ' ms = ' "$LOG" | sed -n 's/^OSCONF-CHECK log=osconf: debug: time: \([a-z ,()]*\) \([0-9]*\)\.[0-9]* ms.*/\1 \2/p' | paste -sd';' - | sed 's/;/; /g')
  [ -z "$steps" ] || { RESULTS+=("           steps (ms): $steps"); echo "           steps (ms): $steps"; }
  if [ "$CASE_OK" = yes ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); grep -a 'OSCONF-CHECK' "$LOG" | sed 's/^/    | /'; fi
}

# --- images
# install_osconf <tree> <init: systemd|sysv>: from the .deb, or the binary
# and the init system's script.
install_osconf() {
  local R=$1 init=$2
  if [ -n "$DEB" ]; then
    cp "$DEB" "$R/tmp/osconf.deb"; chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null; rm "$R/tmp/osconf.deb"
    return
  fi
  install -m 755 "$BIN" "$R/usr/sbin/osconf"
  case $init in
    systemd)
      install -m 644 "$REPO/systemd/osconf.service" "$R/etc/systemd/system/osconf.service"
      ln -sf ../osconf.service "$R/etc/systemd/system/multi-user.target.wants/osconf.service" ;;
    sysv)
      install -m 755 "$REPO/init.d/osconf" "$R/etc/init.d/osconf"
      chroot "$R" update-rc.d osconf defaults >/dev/null ;;
    openrc) # the OpenRC script, in sysinit as networking is on Debian (the .deb's SysV script is added there too)
      install -m 755 "$REPO/openrc/osconf" "$R/etc/init.d/osconf"
      chroot "$R" rc-update add osconf sysinit >/dev/null ;;
  esac
}
# enable_metadata_service <tree>: osconf-metadata.service enabled (from the
# .deb, else installed from systemd/), and the guest's reporter after it.
enable_metadata_service() {
  local R=$1 unit
  unit=$(ls "$R"/lib/systemd/system/osconf-metadata.service "$R"/usr/lib/systemd/system/osconf-metadata.service 2>/dev/null | head -n1 || true)
  if [ -z "$unit" ]; then
    install -m 644 "$REPO/systemd/osconf-metadata.service" "$R/etc/systemd/system/osconf-metadata.service"
    unit=$R/etc/systemd/system/osconf-metadata.service
  fi
  ln -sf "${unit#"$R"}" "$R/etc/systemd/system/multi-user.target.wants/osconf-metadata.service"
  mkdir -p "$R/etc/systemd/system/osconf-vm-check.service.d"
  printf '[Unit]\nAfter=osconf-metadata.service\n' > "$R/etc/systemd/system/osconf-vm-check.service.d/metadata.conf"
}
# enable_user_data_service <tree>: osconf-user-data.service enabled (the
# .deb enables it; else installed from systemd/), the reporter after it.
enable_user_data_service() {
  local R=$1 unit
  unit=$(ls "$R"/lib/systemd/system/osconf-user-data.service "$R"/usr/lib/systemd/system/osconf-user-data.service 2>/dev/null | head -n1 || true)
  if [ -z "$unit" ]; then
    install -m 644 "$REPO/systemd/osconf-user-data.service" "$R/etc/systemd/system/osconf-user-data.service"
    unit=$R/etc/systemd/system/osconf-user-data.service
  fi
  ln -sf "${unit#"$R"}" "$R/etc/systemd/system/multi-user.target.wants/osconf-user-data.service"
  mkdir -p "$R/etc/systemd/system/osconf-vm-check.service.d"
  printf '[Unit]\nAfter=osconf-user-data.service\n' > "$R/etc/systemd/system/osconf-vm-check.service.d/user-data.conf"
}
# install_checker <tree> <init>: the guest's reporter, run once boot is done.
install_checker() {
  local R=$1 init=$2
  install -m 755 "$HERE/guest/osconf-vm-check" "$R/usr/local/sbin/osconf-vm-check"
  case $init in
    systemd)
      install -m 644 "$HERE/guest/osconf-vm-check.service" "$R/etc/systemd/system/"
      ln -sf ../osconf-vm-check.service "$R/etc/systemd/system/multi-user.target.wants/osconf-vm-check.service"
      # No getty: a serial getty on ttyS0 hangs the line up under the report.
      rm -f "$R/etc/systemd/system/getty.target.wants/"*
      ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
      ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyAMA0.service" # arm64's console
      # osconf logs each step's time at debug level: every boot's result
      # says where osconf's time went (a "steps" line, scenario()).
      mkdir -p "$R/etc/systemd/system/osconf.service.d"
      printf '[Service]\nEnvironment=OSCONF_LOG=debug\n' > "$R/etc/systemd/system/osconf.service.d/steps.conf" ;;
    sysv)
      install -m 755 "$HERE/guest/osconf-vm-check.init" "$R/etc/init.d/osconf-vm-check"
      chroot "$R" update-rc.d osconf-vm-check defaults >/dev/null
      sed -i 's/^\([1-6]\):/#\1:/' "$R/etc/inittab" ;;
    openrc) # last of all, as OpenRC orders it
      printf '#!/sbin/openrc-run\ndepend() { after *; }\nstart() { /usr/local/sbin/osconf-vm-check; }\n' > "$R/etc/init.d/osconf-vm-check"
      chmod 755 "$R/etc/init.d/osconf-vm-check"
      chroot "$R" rc-update add osconf-vm-check default >/dev/null
      sed -i 's/^\([1-6]\):/#\1:/' "$R/etc/inittab" ;;
  esac
}

# customize_networkd <tree>: systemd-networkd instead of ifupdown (the
# networkd image's, and the OpenStack config drive image's).
customize_networkd() {
  chroot "$1" dpkg --purge ifupdown >/dev/null 2>&1
  ln -sf /lib/systemd/system/systemd-networkd.service "$1/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
}

# The x86_64 osconf that runs here (check --image): the binary given, or the
# one in the .deb.
if [ -n "$BIN" ]; then
  HOST_OSCONF=$BIN
else
  rm -rf "$W/host-osconf" && dpkg-deb -x "$DEB" "$W/host-osconf" && HOST_OSCONF=$W/host-osconf/usr/sbin/osconf
fi

# image_check <image> <disk> <cloud>: the image the suite boots passes the
# check a builder runs before upload, for the cloud it models (as root: a
# btrfs / is read through a private read-only loop mount).
image_check() {
  local line ok=yes out
  out=$("$HOST_OSCONF" check --image "$2" --cloud "$3" 2>&1) || ok=no
  line=$(printf '%-10s %-22s %-5s check --image --cloud %s' "$1" "image-check" "$ok" "$3")
  RESULTS+=("$line"); echo "$line"
  if [ "$ok" = yes ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); echo "$out" | sed 's/^/    | /'; fi
}

# image <name> [options]: builds the image from a cached root file system,
# then runs its scenarios, one boot each, chained on the same disk.
#   --rootfs NAME      a root file system declared with `rootfs` (required)
#   --arch amd64|arm64 (default amd64; arm64: qemu-system-aarch64 -M virt
#                      under TCG, the arm64 .deb or binary, see arm64_setup)
#   --init systemd|sysv|openrc  (default systemd)
#   --p1 ext4|vfat|esp|bios  the first partition (default ext4; esp and
#                      bios make a GPT disk, see mkdisk.sh)
#   --root-fs ext4|btrfs  the file system of / (default ext4)
#   --mount-boot       fstab mounts the first partition at /boot
#   --mount-p1 DIR     fstab mounts the first partition at DIR (e.g. /boot/efi)
#   --args "..."       kernel command line additions
#   --scenarios "..."  (default: vpc reboot classic reboot changed bad)
#   --cloud NAME       the cloud the image models: before the first boot,
#                      `osconf check --image --cloud NAME` must find it ready
#                      (default alibaba)
#   --fstab-uuid       fstab names / by its UUID (Huawei's rule), not /dev/vda2
# A function prepare_<name> <tree>, if defined, changes the tree before
# osconf is installed (another rc system: what the .deb's postinst sees).
# A function customize_<name> <tree>, if defined, changes the tree before
# the disk is made (remove packages, enable units, add the image's own
# network definitions). Skipped unless --only names it (or no --only).
image() {
  local name=$1; shift
  local arch=amd64 base="" init=systemd fs=ext4 root_fs=ext4 mount_p1="" args="" scenarios="vpc reboot classic reboot changed bad"
  local cloud=alibaba root_uuid=""
  while [ $# -gt 0 ]; do
    case $1 in
      --arch) arch=$2; shift 2 ;;
      --rootfs) base=$2; shift 2 ;;
      --init) init=$2; shift 2 ;;
      --p1) fs=$2; shift 2 ;;
      --root-fs) root_fs=$2; shift 2 ;;
      --mount-boot) mount_p1=/boot; shift ;;
      --mount-p1) mount_p1=$2; shift 2 ;;
      --args) args=$2; shift 2 ;;
      --scenarios) scenarios=$2; shift 2 ;;
      --cloud) cloud=$2; shift 2 ;;
      --fstab-uuid) root_uuid=$(cat /proc/sys/kernel/random/uuid); shift ;;
      *) echo "image $name: unknown option $1" >&2; exit 2 ;;
    esac
  done
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  VM_ARCH=$arch
  if [ "$arch" = arm64 ]; then arm64_setup; fi
  ts "image $name: build"
  local R="img-$name"
  rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "$(rootfs_tar "$base")"
  echo "vm-$name" > "$R/etc/hostname"
  printf '%s / %s defaults 0 %s\n' "${root_uuid:+UUID=$root_uuid}" "$root_fs" "$([ "$root_fs" = ext4 ] && echo 1 || echo 0)" > "$R/etc/fstab"
  [ -n "$root_uuid" ] || sed -i 's|^ / |/dev/vda2 / |' "$R/etc/fstab"
  if [ -n "$mount_p1" ]; then
    mkdir -p "$R$mount_p1"
    printf '/dev/vda1 %s auto defaults 0 %s\n' "$mount_p1" "$([ "$fs" = ext4 ] && echo 2 || echo 0)" >> "$R/etc/fstab"
  fi
  if [ -d "$R/etc/network" ]; then
    printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces"
  fi
  echo "$PASSWORD" > "$R/etc/osconf-vm-expected-password"
  if declare -F "prepare_$name" >/dev/null; then "prepare_$name" "$R"; fi
  if [ "$arch" = arm64 ]; then DEB=$DEB_ARM64 BIN=$BIN_ARM64 install_osconf "$R" "$init"; else install_osconf "$R" "$init"; fi
  install_checker "$R" "$init"
  if declare -F "customize_$name" >/dev/null; then "customize_$name" "$R"; fi
  # The kernel that boots the image, as an installed one leaves it in /boot:
  # its config and initramfs (what check --image reads for virtio).
  local p1src="p1-$name" kroot=$KROOT initrd=initrd.gz
  if [ "$arch" = arm64 ]; then kroot=$CACHE/kroot-arm64 initrd=initrd-arm64.gz; fi
  rm -rf "$p1src" && mkdir -p "$p1src/aliyun_custom_image"
  local boot="$R/boot" kver; kver=$(ls "$kroot/lib/modules" | head -1)
  [ "$mount_p1" = /boot ] && boot=$p1src
  mkdir -p "$boot" && cp "$kroot/boot/config-$kver" "$boot/" && cp "$initrd" "$boot/initrd.img-$kver"
  ROOT_UUID=$root_uuid bash "$HERE/mkdisk.sh" "$R" "$p1src" "$fs" "disk-$name.img" "$root_fs"
  rm -rf "$R" "$p1src"
  image_check "$name" "disk-$name.img" "$cloud"
  P1_FS=$fs P1_OFFSET=$((1024 * 1024)) DISK="disk-$name.img" LAST_APPLY_LOG="" LAST_DROP=""
  local s
  for s in $scenarios; do
    DROP=drops/$s.conf EXTRA_DRIVE=
    [ -f "$DROP" ] || DROP=- # a scenario without a drop (e.g. the metadata endpoint's)
    if declare -F "prepare_$s" >/dev/null; then "prepare_$s"; fi
    case $s in
      reboot) DROP=- ;;
      tencent|tencent_again) DROP=- EXTRA_DRIVE=$W/tencent.iso ;;
    esac
    scenario "$name" "$DISK" "$args" "$s" "$DROP" "assert_$s"
    case $s in vpc|classic|changed) LAST_DROP=$DROP ;; esac
  done
  rm -f "$DISK"
}
