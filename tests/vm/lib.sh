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
fetch_kernel() {
  [ -d "$CACHE/kroot/boot" ] && return 0
  ts "kernel: download and unpack"
  local pkg; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  rm -rf "$CACHE/kpkg" "$CACHE/kroot.tmp" && mkdir -p "$CACHE/kpkg"
  (cd "$CACHE/kpkg" && apt-get download -qq "$pkg") && dpkg -x "$CACHE"/kpkg/"$pkg"_*.deb "$CACHE/kroot.tmp"
  mv "$CACHE/kroot.tmp" "$CACHE/kroot"
}
with_cache_lock kernel fetch_kernel
KROOT=$CACHE/kroot
KERNEL=$(ls "$KROOT"/boot/vmlinuz-*)
bash "$HERE/build-initramfs.sh" "$KROOT" "$HERE/guest/init" initrd.gz >/dev/null

# --- accelerator: KVM only where it works (not under PVM), else TCG
ACCEL=tcg
if [ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ]; then ACCEL=kvm; fi
accel_args() { if [ "$ACCEL" = kvm ]; then echo "-accel kvm -cpu host"; else echo "-accel tcg"; fi; }
ts "kernel $(basename "$KERNEL"), accelerator $ACCEL"

# --- root file systems, debootstrapped once and cached as tarballs
# rootfs <name> <debootstrap args...>: builds it unless cached, and sets
# ROOTFS_<name> to its tarball (rootfs_tar <name> prints it).
rootfs() {
  local name=$1; shift
  local key; key=$(printf '%s\n' "$SUITE" "$MIRROR" "$@" | sha256sum | cut -c1-12)
  local tar="$CACHE/rootfs-$name-$key.tar"
  printf -v "ROOTFS_${name//-/_}" '%s' "$tar"
  [ -f "$tar" ] && return 0
  with_cache_lock "rootfs-$name-$key" debootstrap_into "$tar" "$name" "$@"
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
rootfs_tar() { local v="ROOTFS_${1//-/_}"; echo "${!v:?rootfs $1 was not declared}"; }

boot() { # boot <disk> <log> <kernel args>
  local s; s=$(date +%s.%N)
  # shellcheck disable=SC2046
  timeout "${BOOT_TIMEOUT:-420}" qemu-system-x86_64 $(accel_args) -m 1024 -smp 2 -nographic -no-reboot -nodefaults \
    -kernel "$KERNEL" -initrd initrd.gz -append "console=ttyS0 panic=-1 root=/dev/vda2 rw quiet $3" \
    -drive file="$1",format=raw,if=virtio \
    ${EXTRA_DRIVE:+-drive file=$EXTRA_DRIVE,format=raw,if=virtio,readonly=on} \
    -netdev hubport,id=n0,hubid=0 -device virtio-net-pci,romfile=,netdev=n0,mac=52:54:00:12:34:56 \
    -netdev hubport,id=n1,hubid=1 -device virtio-net-pci,romfile=,netdev=n1,mac=52:54:00:12:34:57 \
    ${EXTRA_QEMU_ARGS:-} \
    -serial file:"$2" -monitor none -display none 2>&1 | grep -v 'not connected to host network' || true
  BOOT_SECONDS=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
}
