# systemd-networkd, predictable NIC names (ens2/ens3), no ifupdown
# (customize_networkd, common.sh); the first partition is not mounted:
# osconf mounts it itself.
image networkd --rootfs systemd --p1 ext4
