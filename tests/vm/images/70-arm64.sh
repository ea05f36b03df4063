# Debian arm64 (the Alibaba Yitian, Tencent and Huawei Kunpeng instances'
# architecture): qemu-system-aarch64 -M virt, Debian's arm64 kernel, TCG, the
# arm64 .deb installed; ifupdown under systemd, classic eth0/eth1 names, the
# first partition mounted at /boot. An emulated CPU on an x86_64 host is
# slow, so one chain: VPC applied, then classic (a second NIC, its default
# route moved), then a boot with no drop that must end where classic's ended.
rootfs arm64 --arch=arm64 --include=systemd-sysv,udev,iproute2,ifupdown,kmod
image arm64 --arch arm64 --rootfs arm64 --p1 ext4 --mount-boot --args "net.ifnames=0" --scenarios "vpc classic reboot"
