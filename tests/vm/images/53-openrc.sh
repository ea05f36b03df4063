# Debian with OpenRC (Debian's openrc package in place of sysv-rc, under
# sysvinit-core) and ifupdown: osconf's OpenRC script, in the sysinit
# runlevel where Debian's networking script is, before it.
rootfs openrc --exclude=systemd-sysv,sysv-rc --include=sysvinit-core,openrc,udev,iproute2,ifupdown,kmod
image openrc --rootfs openrc --init openrc --p1 ext4 --args "net.ifnames=0" --scenarios "vpc reboot classic reboot changed reboot"
