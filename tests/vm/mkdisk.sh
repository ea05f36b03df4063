#!/bin/bash
# mkdisk.sh <rootfs-dir> <p1-content-dir> <p1: ext4|vfat|esp|bios> <out.img> [<root: ext4|btrfs>]
# p1 = the "first partition", p2 = / (rootfs size + 256 MiB). ext4 and
# vfat: an MBR disk, p1 64 MiB holding the p1 content. esp: a GPT disk whose
# p1 is the EFI system partition (FAT32, 64 MiB, with the p1 content). bios:
# a GPT disk whose p1 is a 1 MiB BIOS boot partition (no file system: code,
# like GRUB's core.img). Built with mke2fs -d, mkfs.btrfs --rootdir, mtools
# and dd: no loop device or mount needed. ROOT_UUID (environment): /'s file
# system UUID (fstab by UUID); / is ext4 without the 64bit feature, as
# Alibaba's image_check asks.
set -euo pipefail
ROOTFS=$1; P1SRC=$2; FS=$3; OUT=$4; ROOTFS_TYPE=${5:-ext4}
P1_MB=64
ROOT_MB=$(( $(du -sm "$ROOTFS" | cut -f1) + 256 ))
LABEL=dos
T=$(mktemp -d)
fat32() { mkfs.vfat -F 32 -n "$1" "$T/p1" >/dev/null; MTOOLS_SKIP_CHECK=1 mcopy -s -i "$T/p1" "$P1SRC"/* ::/; }
case $FS in
  ext4) truncate -s ${P1_MB}M "$T/p1"; mkfs.ext4 -q -F -L boot -d "$P1SRC" "$T/p1"; TYPE=83 ;;
  vfat) truncate -s ${P1_MB}M "$T/p1"; fat32 BOOT; TYPE=c ;;
  esp) truncate -s ${P1_MB}M "$T/p1"; fat32 EFI; TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B; LABEL=gpt ;;
  bios) P1_MB=1; { head -c 32768 /dev/urandom; head -c $((1024 * 1024 - 32768)) /dev/zero; } > "$T/p1"; TYPE=21686148-6449-6E6F-744E-656564454649; LABEL=gpt ;;
  *) echo "unknown first partition $FS" >&2; exit 2 ;;
esac
case $ROOTFS_TYPE in
  ext4) truncate -s ${ROOT_MB}M "$T/p2"; mkfs.ext4 -q -F -O ^64bit -L root ${ROOT_UUID:+-U "$ROOT_UUID"} -d "$ROOTFS" "$T/p2" ;;
  # btrfs keeps metadata twice: room for it; mkfs grows the file if it needs more.
  btrfs) ROOT_MB=$(( ROOT_MB * 2 )); truncate -s ${ROOT_MB}M "$T/p2"; mkfs.btrfs -q -f -L root ${ROOT_UUID:+-U "$ROOT_UUID"} --rootdir "$ROOTFS" "$T/p2" >/dev/null ;;
  *) echo "unknown root file system $ROOTFS_TYPE" >&2; exit 2 ;;
esac
ROOT_MB=$(( ($(stat -c %s "$T/p2") + 1048575) / 1048576 ))
ROOT_TYPE=83; [ $LABEL = gpt ] && ROOT_TYPE=0FC63DAF-8483-4772-8E79-3D69D8477DE4
# GPT keeps a backup header in the last MiB.
rm -f "$OUT"; truncate -s $((1 + P1_MB + ROOT_MB + 1))M "$OUT"
sfdisk -q "$OUT" <<EOT
label: $LABEL
start=1MiB, size=${P1_MB}MiB, type=$TYPE
start=$((1 + P1_MB))MiB, size=${ROOT_MB}MiB, type=$ROOT_TYPE
EOT
dd if="$T/p1" of="$OUT" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$T/p2" of="$OUT" bs=1M seek=$((1 + P1_MB)) conv=notrunc,sparse status=none
rm -rf "$T"
