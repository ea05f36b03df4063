# Debian with ifupdown under systemd, classic eth0/eth1 names; the first
# partition is /boot (mounted: osconf reads the drop where it is).
image ifupdown --rootfs systemd --p1 ext4 --mount-boot --args "net.ifnames=0"
