# GPT, partition 1 a BIOS boot partition (no file system: Fedora, Rocky,
# openSUSE layouts). No Alibaba drop can be there: osconf warns naming it,
# reads Tencent's config-2 CD-ROM, and the boot does not fail.
image gpt-bios --rootfs systemd --p1 bios --cloud huawei --fstab-uuid --args "net.ifnames=0" --scenarios "tencent tencent_again"
