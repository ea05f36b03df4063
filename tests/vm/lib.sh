# Shared by tests/vm/run.sh and bench/cloudinit.sh: the work directory,
# Debian's kernel and the initramfs, the accelerator, debootstrapped root
# file systems (cached as tarballs), and booting a disk in QEMU.
# Expects HERE (tests/vm) to be set; changes into $W.
W=${OSCONF_VM_WORK:-/var/tmp/osconf-vm}
mkdir -p "$W" && cd "$W"
t0=$(date +%s)
ts() { echo "[vm +$(( $(date +%s) - t0 ))s] $*"; }
# The Debian mirror this machine's apt uses (only it is reachable here).
MIRROR=${MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -E '^(URIs:|deb) ' | grep -oE 'https?://[^ ]+' | grep -E '/debian/?$' | head -n1 || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

# --- kernel (Debian's package, unpacked, not installed) and initramfs
if [ ! -d kroot/boot ]; then
  ts "kernel: download and unpack"
  KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  rm -rf kpkg kroot && mkdir -p kpkg && (cd kpkg && apt-get download -qq "$KPKG") && dpkg -x kpkg/"$KPKG"_*.deb kroot
fi
KERNEL=$(ls kroot/boot/vmlinuz-*)
bash "$HERE/build-initramfs.sh" kroot "$HERE/guest/init" initrd.gz >/dev/null

# --- accelerator: KVM only where it works (not under PVM), else TCG
ACCEL=tcg
if [ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ]; then ACCEL=kvm; fi
accel_args() { if [ "$ACCEL" = kvm ]; then echo "-accel kvm -cpu host"; else echo "-accel tcg"; fi; }
ts "kernel $(basename "$KERNEL"), accelerator $ACCEL"

# --- root file systems, debootstrapped once and cached as tarballs
rootfs() { # rootfs <name> <debootstrap args...>
  local name=$1; shift
  if [ ! -f "rootfs-$name.tar" ]; then
    ts "debootstrap $name"
    rm -rf "rootfs-$name"; mkdir -p debcache
    debootstrap --variant=minbase --cache-dir="$W/debcache" "$@" bookworm "rootfs-$name" "$MIRROR" >"debootstrap-$name.log" 2>&1 \
      || { tail -n 20 "debootstrap-$name.log"; exit 1; }
    tar -C "rootfs-$name" -cf "rootfs-$name.tar.tmp" . && mv "rootfs-$name.tar.tmp" "rootfs-$name.tar"
    rm -rf "rootfs-$name"
  fi
}
boot() { # boot <disk> <log> <kernel args>
  local s; s=$(date +%s.%N)
  # shellcheck disable=SC2046
  timeout "${BOOT_TIMEOUT:-420}" qemu-system-x86_64 $(accel_args) -m 1024 -smp 2 -nographic -no-reboot -nodefaults \
    -kernel "$KERNEL" -initrd initrd.gz -append "console=ttyS0 panic=-1 root=/dev/vda2 rw quiet $3" \
    -drive file="$1",format=raw,if=virtio \
    ${EXTRA_DRIVE:+-drive file=$EXTRA_DRIVE,format=raw,if=virtio,readonly=on} \
    -netdev hubport,id=n0,hubid=0 -device virtio-net-pci,romfile=,netdev=n0,mac=52:54:00:12:34:56 \
    -netdev hubport,id=n1,hubid=1 -device virtio-net-pci,romfile=,netdev=n1,mac=52:54:00:12:34:57 \
    -serial file:"$2" -monitor none -display none 2>&1 | grep -v 'not connected to host network' || true
  BOOT_SECONDS=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
}

