#!/bin/bash
# mkdisk.sh <rootfs-dir> <p1-content-dir> <ext4|vfat> <out.img>
# MBR disk: p1 = the "first partition" (64 MiB, ext4 or FAT32) holding the
# p1 content, p2 = / (ext4, rootfs size + 256 MiB). Built with mke2fs -d,
# mtools and dd: no loop device or mount needed.
set -euo pipefail
ROOTFS=$1; P1SRC=$2; FS=$3; OUT=$4
P1_MB=64
ROOT_MB=$(( $(du -sm "$ROOTFS" | cut -f1) + 256 ))
T=$(mktemp -d)
truncate -s ${P1_MB}M "$T/p1"; truncate -s ${ROOT_MB}M "$T/p2"
case $FS in
  ext4) mkfs.ext4 -q -F -L boot -d "$P1SRC" "$T/p1"; TYPE=83 ;;
  vfat) mkfs.vfat -F 32 -n BOOT "$T/p1" >/dev/null; MTOOLS_SKIP_CHECK=1 mcopy -s -i "$T/p1" "$P1SRC"/* ::/; TYPE=c ;;
  *) echo "unknown file system $FS" >&2; exit 2 ;;
esac
mkfs.ext4 -q -F -L root -d "$ROOTFS" "$T/p2"
rm -f "$OUT"; truncate -s $((1 + P1_MB + ROOT_MB))M "$OUT"
sfdisk -q "$OUT" <<EOT
label: dos
start=1MiB, size=${P1_MB}MiB, type=$TYPE
start=$((1 + P1_MB))MiB, size=${ROOT_MB}MiB, type=83
EOT
dd if="$T/p1" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$T/p2" of="$OUT" bs=1M seek=$((1 + P1_MB)) conv=notrunc,sparse status=none
rm -rf "$T"
