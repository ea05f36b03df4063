# A FAT32 first partition (not mounted); then Tencent's config-2 medium,
# read-only: applied once, not again at the next boot.
image fat32 --rootfs systemd --p1 vfat --args "net.ifnames=0" --scenarios "vpc reboot tencent tencent_again"
