# Shared by tests/vm/run.sh and bench/: the cache and work directories,
# Debian's kernel and the initramfs, the accelerator, debootstrapped root
# file systems (cached as tarballs), and booting a disk in QEMU.
# Expects HERE (tests/vm) to be set; changes into $W.
#
# Two directories:
# - the cache ($OSCONF_VM_CACHE, default /var/tmp/osconf-vm-cache): the
#   kernel package and the root file systems, each built once and shared by
#   every run (several runs may share it at once: each item is built under
#   its own flock, and a root file system's name carries a hash of the
#   arguments that built it, so changing a package list builds a new one);
# - the work directory ($OSCONF_VM_WORK, default /var/tmp/osconf-vm): this
#   run's initramfs, disks and serial logs.
W=${OSCONF_VM_WORK:-/var/tmp/osconf-vm}
CACHE=${OSCONF_VM_CACHE:-/var/tmp/osconf-vm-cache}
mkdir -p "$W" "$CACHE" && cd "$W"
t0=$(date +%s)
ts() { echo "[vm +$(( $(date +%s) - t0 ))s] $*"; }
# The Debian mirror this machine's apt uses (only it is reachable here).
MIRROR=${MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -E '^(URIs:|deb) ' | grep -oE 'https?://[^ ]+' | grep -E '/debian/?$' | head -n1 || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}

# with_cache_lock <name> <command...>: one builder of a cache item at a time.
with_cache_lock() {
  local fd rc=0
  exec {fd}>"$CACHE/.$1.lock"
  flock "$fd"
  "${@:2}" || rc=$?
  exec {fd}>&-
  return $rc
}

# --- kernel (Debian's package, unpacked, not installed) and initramfs
# fetch_unpacked <package> <dir>: a Debian package downloaded and unpacked
# into dir (cached: done once).
fetch_unpacked() {
  local pkg=$1 dir=$2
  [ -d "$dir" ] && return 0
  ts "$pkg: download and unpack"
  rm -rf "$dir.pkg" "$dir.tmp" && mkdir -p "$dir.pkg"
  (cd "$dir.pkg" && apt-get download -qq "$pkg") && dpkg -x "$dir.pkg"/*.deb "$dir.tmp"
  mv "$dir.tmp" "$dir" && rm -rf "$dir.pkg"
}
kernel_package() { apt-cache depends "linux-image-$1:$1" | awk '/Depends: linux-image-/{print $2; exit}'; }
with_cache_lock kernel fetch_unpacked "$(kernel_package amd64)" "$CACHE/kroot"
KROOT=$CACHE/kroot
KERNEL=$(ls "$KROOT"/boot/vmlinuz-*)
bash "$HERE/build-initramfs.sh" "$KROOT" "$HERE/guest/init" initrd.gz >/dev/null

# arm64 guests (image --arch arm64): qemu-system-aarch64 -M virt under TCG
# with Debian's arm64 kernel and an initramfs of arm64 busybox, set up by the
# first arm64 image. Its chroots (debootstrap's second stage, dpkg -i) run
# arm64 programs: qemu-aarch64-static through binfmt_misc, registered here
# from qemu-user-static's own entry when the host has not done it.
arm64_setup() {
  [ -n "${KERNEL_ARM64:-}" ] && return 0
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
  with_cache_lock kernel-arm64 fetch_unpacked "$(kernel_package arm64)" "$CACHE/kroot-arm64"
  with_cache_lock busybox-arm64 fetch_unpacked busybox-static:arm64 "$CACHE/busybox-arm64"
  KERNEL_ARM64=$(ls "$CACHE"/kroot-arm64/boot/vmlinuz-*)
  if [ "${BUILD_ARM64:-}" = yes ]; then # run.sh without --deb-arm64/--osconf-arm64: the cross build
    (cd "$REPO" && RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --locked -q --target aarch64-unknown-linux-gnu)
  fi
  bash "$HERE/build-initramfs.sh" "$CACHE/kroot-arm64" "$HERE/guest/init" initrd-arm64.gz "$CACHE/busybox-arm64/bin/busybox" >/dev/null
  ts "arm64: kernel $(basename "$KERNEL_ARM64"), TCG"
}

# --- accelerator: KVM only where it works (not under PVM), else TCG
ACCEL=tcg
if [ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ]; then ACCEL=kvm; fi
accel_args() { if [ "$ACCEL" = kvm ]; then echo "-accel kvm -cpu host"; else echo "-accel tcg"; fi; }
ts "kernel $(basename "$KERNEL"), accelerator $ACCEL"

# --- root file systems, debootstrapped once and cached as tarballs
# rootfs <name> <debootstrap args...>: declares one; rootfs_tar <name>
# builds it unless cached (on first use: an image skipped by --only costs
# nothing) and prints its tarball.
declare -A ROOTFS_ARGS
rootfs() { local name=$1; shift; ROOTFS_ARGS[$name]=$(printf '%q ' "$@"); }
rootfs_tar() {
  local name=$1
  [ -n "${ROOTFS_ARGS[$name]+set}" ] || { echo "rootfs $name was not declared" >&2; return 1; }
  local -a args; eval "args=(${ROOTFS_ARGS[$name]})"
  local key; key=$(printf '%s\n' "$SUITE" "$MIRROR" "${args[@]}" | sha256sum | cut -c1-12)
  local tar="$CACHE/rootfs-$name-$key.tar"
  [ -f "$tar" ] || with_cache_lock "rootfs-$name-$key" debootstrap_into "$tar" "$name" "${args[@]}" >&2 || return 1
  echo "$tar"
}
debootstrap_into() { # debootstrap_into <tar> <name> <debootstrap args...>
  local tar=$1 name=$2; shift 2
  [ -f "$tar" ] && return 0
  ts "debootstrap $name"
  local dir="$CACHE/build-$name-$$"
  rm -rf "$dir"; mkdir -p "$CACHE/debcache"
  debootstrap --variant=minbase --cache-dir="$CACHE/debcache" "$@" "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap-$name.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap-$name.log"; rm -rf "$dir"; return 1; }
  tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  rm -rf "$dir"
  ts "debootstrap $name: done"
}

boot() { # boot <disk> <log> <kernel args>; VM_ARCH=arm64: the arm64 machine (arm64_setup)
  # EXTRA_QEMU_ARGS: words added to QEMU's command line; the array
  # EXTRA_QEMU_ARGV: arguments that hold spaces (an SMBIOS product name).
  local s; s=$(date +%s.%N)
  # shellcheck disable=SC2046
  local -a vm=(qemu-system-x86_64 $(accel_args)); local kernel=$KERNEL initrd=initrd.gz console=ttyS0
  if [ "${VM_ARCH:-amd64}" = arm64 ]; then
    vm=(qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg) kernel=$KERNEL_ARM64 initrd=initrd-arm64.gz console=ttyAMA0
  fi
  timeout "${BOOT_TIMEOUT:-420}" "${vm[@]}" -m 1024 -smp 2 -nographic -no-reboot -nodefaults \
    -kernel "$kernel" -initrd "$initrd" -append "console=$console panic=-1 root=/dev/vda2 rw quiet $3" \
    -drive file="$1",format=raw,if=virtio \
    ${EXTRA_DRIVE:+-drive file=$EXTRA_DRIVE,format=raw,if=virtio,readonly=on} \
    -netdev "${NET0:-hubport,id=n0,hubid=0}" -device virtio-net-pci,romfile=,netdev=n0,mac=52:54:00:12:34:56 \
    -netdev hubport,id=n1,hubid=1 -device virtio-net-pci,romfile=,netdev=n1,mac=52:54:00:12:34:57 \
    ${EXTRA_QEMU_ARGS:-} ${EXTRA_QEMU_ARGV[@]+"${EXTRA_QEMU_ARGV[@]}"} \
    -serial file:"$2" -monitor none -display none 2>&1 | grep -v 'not connected to host network' || true
  BOOT_SECONDS=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
}
