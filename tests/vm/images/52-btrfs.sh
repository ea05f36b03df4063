# / on btrfs (openSUSE, Fedora): stat("/") gives an anonymous device number;
# osconf finds / 's disk through mountinfo and /sys/fs/btrfs, and mounts
# partition 1 (ext4, not mounted) itself.
image btrfs --rootfs systemd --root-fs btrfs --p1 ext4 --cloud tencent --args "net.ifnames=0" --scenarios "vpc reboot"
