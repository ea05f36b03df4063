# systemd-networkd, predictable NIC names (ens2/ens3), no ifupdown; the
# first partition is not mounted: osconf mounts it itself.
customize_networkd() {
  chroot "$1" dpkg --purge ifupdown >/dev/null 2>&1
  ln -sf /lib/systemd/system/systemd-networkd.service "$1/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
}
image networkd --rootfs systemd --p1 ext4
