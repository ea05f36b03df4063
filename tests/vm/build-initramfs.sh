#!/bin/bash
# Builds a busybox-static initramfs holding the virtio, ext4, btrfs, vfat and iso9660
# modules of an extracted Debian linux-image package; its init mounts root= and
# switch_roots into the image.
# usage: build-initramfs.sh <extracted-kernel-root> <init-script> <out.cpio.gz> [<busybox>]
# (busybox: the host's /bin/busybox, or another architecture's, e.g. arm64)
set -euo pipefail
KROOT=$(realpath "$1"); INIT=$2; OUT=$3; BUSYBOX=${4:-/bin/busybox}
K=$(ls "$KROOT/lib/modules" | head -1)
depmod -b "$KROOT" "$K"
ST=$(mktemp -d)
mkdir -p "$ST"/{bin,sbin,dev,proc,sys,mnt,etc,tmp,run,lib/modules/$K}
cp "$BUSYBOX" "$ST/bin/busybox"
for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$ST/bin/$a"; done
ln -sf ../bin/busybox "$ST/sbin/modprobe"
MODS="virtio_pci virtio_blk virtio_net virtio_scsi ext4 vfat nls_cp437 nls_iso8859_1 nls_ascii crc32c_generic isofs btrfs"
for m in $MODS; do
  modprobe -d "$KROOT" -S "$K" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r f; do
  rel=${f#"$KROOT"/}; rel=${rel#./}
  mkdir -p "$ST/$(dirname "$rel")"; cp "$f" "$ST/$rel"
done
cp "$KROOT/lib/modules/$K"/modules.{order,builtin,builtin.modinfo} "$ST/lib/modules/$K/"
n=$(find "$ST/lib/modules" -name "*.ko*" | wc -l); [ "$n" -ge 15 ] || { echo "only $n modules copied" >&2; exit 1; }
depmod -b "$ST" "$K"
install -m755 "$INIT" "$ST/init"
(cd "$ST" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$OUT"
rm -rf "$ST"
ls -la "$OUT"
