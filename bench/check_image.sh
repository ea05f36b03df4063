#!/usr/bin/env bash
# Benchmark (not a test) of `osconf check --image` beside `qemu-img info` on
# the same file: a 10 GiB sparse raw disk and its qcow2, built here without
# debootstrap and without mounting (sfdisk, `mke2fs -d`, `qemu-img convert`,
# as tests/check_image.rs does), then timed with hyperfine. Prints rows in
# bench/run.sh's table style, the ratios, and the peak RSS of a check of the
# qcow2. bench/run.sh calls it; alone, as root:
#   bash bench/check_image.sh [RUNS]      (OSCONF_BIN=path: another build)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200}
[ "$(id -u)" = 0 ] || { echo "bench/check_image.sh must run as root (the rootfs tar holds device nodes and root-owned files)" >&2; exit 2; }
for tool in hyperfine qemu-img sfdisk mke2fs cpio; do
  command -v "$tool" >/dev/null || { echo "bench/check_image.sh needs $tool" >&2; exit 2; }
done
if [ -n "${OSCONF_BIN:-}" ]; then BIN=$(realpath "$OSCONF_BIN"); else
  cargo build --release --locked -q
  BIN=$PWD/target/x86_64-unknown-linux-gnu/release/osconf
fi
# The images and trees are in memory by default (like bench/run.sh's
# backing file), so the host disk, shared with other work, stays out of
# the figures; OSCONF_BENCH_BACKING=/var/tmp puts them on the disk. Either
# way both tools read the files from the page cache after the warm-up runs.
D=$(mktemp -d -p "${OSCONF_BENCH_BACKING:-/dev/shm}" osconf-bench-img.XXXXXX)
trap 'rm -rf "$D"' EXIT
RAW=$D/disk.raw QCOW2=$D/disk.qcow2
ROOT_UUID=6a1f3c2e-9b1d-4c55-8d2a-1f0e6b7c8d90 BOOT_UUID=0d2c4b6a-1e3f-4a5b-9c8d-7e6f5a4b3c2d
KERNEL=6.1.0-27-amd64

# /: a real Debian root file system when the QEMU suite has cached one
# (tests/vm), so the check walks a real /etc, real program and unit names;
# else a synthetic tree of ~20 000 files of the same shape.
mkdir -p "$D/root" "$D/boot"
tar=$(find /var/tmp/osconf-vm-cache -maxdepth 1 -name 'rootfs-systemd-*.tar' 2>/dev/null | sort | head -1)
if [ -n "$tar" ]; then
  tar -xf "$tar" -C "$D/root" --numeric-owner
  ROOTFS="$(basename "$tar") ($(find "$D/root" | wc -l) files)"
else
  mkdir -p "$D/root/etc" "$D/root/usr/bin" "$D/root/usr/lib/systemd/system" "$D/root/usr/share/doc"
  for ((d = 0; d < 200; d++)); do
    mkdir -p "$D/root/usr/share/doc/pkg$d" "$D/root/etc/conf$d"
    for ((f = 0; f < 90; f++)); do echo "file $f of $d" > "$D/root/usr/share/doc/pkg$d/f$f"; done
    for ((f = 0; f < 10; f++)); do echo "key$f=value" > "$D/root/etc/conf$d/c$f.conf"; done
  done
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n' > "$D/root/etc/os-release"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$D/root/etc/passwd"
  printf 'root:*:19000:0:99999:7:::\n' > "$D/root/etc/shadow"
  ROOTFS="synthetic ($(find "$D/root" | wc -l) files)"
fi
# What makes it an image prepared for osconf (tests/check_image.rs's ready
# tree): fstab by UUID, osconf enabled; the drop directory on /boot.
printf 'UUID=%s / ext4 defaults 0 1\nUUID=%s /boot ext4 defaults 0 2\n' "$ROOT_UUID" "$BOOT_UUID" > "$D/root/etc/fstab"
mkdir -p "$D/root/usr/lib/systemd/system" "$D/root/etc/systemd/system/multi-user.target.wants" "$D/root/boot"
printf '[Unit]\n' > "$D/root/usr/lib/systemd/system/osconf.service"
ln -sfn /lib/systemd/system/osconf.service "$D/root/etc/systemd/system/multi-user.target.wants/osconf.service"
rm -rf "${D:?}/root/boot/"*
# /boot: a kernel config and a Debian-style initramfs (an early microcode
# cpio, then a gzip cpio holding virtio_scsi), as the test's ready tree.
mkdir -p "$D/boot/aliyun_custom_image" "$D/cpio/early/kernel/x86/microcode" "$D/cpio/main/usr/lib/modules/$KERNEL/kernel/drivers/scsi"
printf 'CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_SCSI_VIRTIO=m\n' > "$D/boot/config-$KERNEL"
echo kernel > "$D/boot/vmlinuz-$KERNEL"
echo microcode > "$D/cpio/early/kernel/x86/microcode/GenuineIntel.bin"
echo module > "$D/cpio/main/usr/lib/modules/$KERNEL/kernel/drivers/scsi/virtio_scsi.ko.xz"
{ (cd "$D/cpio/early" && find kernel | cpio -o -H newc --quiet)
  (cd "$D/cpio/main" && find usr | cpio -o -H newc --quiet | gzip -c); } > "$D/boot/initrd.img-$KERNEL"

# The disk: 10 GiB sparse, MBR, partition 1 (256 MiB) /boot, partition 2
# (the rest, ~9.7 GiB) /. Each file system is made in place at its
# partition's offset (mke2fs -E offset), so the file stays sparse and
# nothing is copied; ^64bit, since Alibaba refuses ext4 with 64bit.
truncate -s 10G "$RAW"
printf 'label: dos\nstart=1MiB, size=256MiB, type=L\nstart=257MiB, type=L\n' | sfdisk -q "$RAW"
p2_kib=$(( (10 * 1024 - 257) * 1024 ))
mke2fs -q -F -t ext4 -O ^64bit -U "$BOOT_UUID" -L boot -E offset=$((1 << 20)),nodiscard -d "$D/boot" "$RAW" 256M
mke2fs -q -F -t ext4 -O ^64bit -U "$ROOT_UUID" -L root -E offset=$((257 << 20)),nodiscard -d "$D/root" "$RAW" "${p2_kib}k"
rm -rf "${D:?}/root" "${D:?}/boot" "${D:?}/cpio"
qemu-img convert -O qcow2 "$RAW" "$QCOW2"
alloc() { du -k "$1" | cut -f1; }
echo "image: 10 GiB raw ($(alloc "$RAW") KiB allocated) and its qcow2 ($(alloc "$QCOW2") KiB); / from $ROOTFS"

# check --image copies what its items read (/etc, /boot's kernel configs
# and initramfs, program and unit names: ~600 files and links here) into a
# private directory under $TMPDIR. On this machine's shared disk creating
# them is most of the time and swings with the neighbours' I/O (0.05-1 s);
# so that directory is with the images, in memory unless
# OSCONF_BENCH_BACKING says otherwise, as bench/run.sh does for its trees.
export TMPDIR=$D

# One untimed check of each: it must read the whole image (exit 0 ready
# or 1 not ready, JSON out); exit 2 would mean it stopped at an error, and
# its time would not be a check's.
for img in "$RAW" "$QCOW2"; do
  rc=0; "$BIN" check --image "$img" --cloud all --json > "$D/report.json" 2>"$D/err" || rc=$?
  [ "$rc" -le 1 ] || { echo "check --image $img: exit $rc: $(cat "$D/err")" >&2; exit 1; }
  python3 -c "
import json,sys;r=json.load(open('$D/report.json'))
s=[i['status'] for i in r['items']]
print(f'check --image {sys.argv[1]}: exit $rc, {len(s)} items, {s.count(\"FAILED\")} FAILED, {s.count(\"WARNING\")} WARNING')" "$(basename "$img")"
done

printf '%-30s %12s %12s %10s\n' "case" "median ms" "min ms" "vs qemu-img"
declare -A MEDIAN MIN
# row <name> <command...>: hyperfine, no shell; -i because a not-ready
# image exits 1 (checked above that it is not 2).
row() {
  local name=$1; shift
  hyperfine -N -i -w 5 -r "$RUNS" --export-json "$D/$name.json" "$*" >/dev/null 2>&1
  read -r "MEDIAN[$name]" "MIN[$name]" < <(python3 -c "import json;r=json.load(open('$D/$name.json'))['results'][0];print(f\"{r['median']*1000:.2f} {r['min']*1000:.2f}\")")
}
row info-raw qemu-img info "$RAW"
row info-qcow2 qemu-img info "$QCOW2"
row check-raw "$BIN" check --image "$RAW" --cloud all --json
row check-qcow2 "$BIN" check --image "$QCOW2" --cloud all --json
line() { printf '%-30s %12s %12s %9.2fx\n' "$1" "${MEDIAN[$2]}" "${MIN[$2]}" "$(python3 -c "print(${MEDIAN[$2]}/${MEDIAN[$3]})")"; }
line "qemu-img info (raw)" info-raw info-raw
line "qemu-img info (qcow2)" info-qcow2 info-qcow2
line "check --image (raw)" check-raw info-raw
line "check --image (qcow2)" check-qcow2 info-qcow2
echo
# Ratios of medians and of minimums, as bench/run.sh gives them.
ratio() { python3 -c "print(f'{${MEDIAN[$1]}/${MEDIAN[$2]}:.1f}x (minimums {${MIN[$1]}/${MIN[$2]}:.1f}x)')"; }
printf 'check --image / qemu-img info, raw: %s\n' "$(ratio check-raw info-raw)"
printf 'check --image / qemu-img info, qcow2: %s\n' "$(ratio check-qcow2 info-qcow2)"
rss=$(/usr/bin/time -f %M "$BIN" check --image "$QCOW2" --cloud all --json 2>&1 >/dev/null | tail -1)
printf 'peak RSS of check --image (qcow2): %s KiB (%.2f MiB)\n' "$rss" "$(python3 -c "print($rss/1024)")"
