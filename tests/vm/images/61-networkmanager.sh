# NetworkManager (Debian's, keyfile plugin), dbus, predictable names, and a
# DHCP profile of the image's own for the first NIC, as RHEL's "System eth0"
# (bound to its name and MAC). osconf's profiles must be the ones
# NetworkManager activates, on the apply boot as on the next; after classic
# → VPC the freed NIC must get no "Wired connection" (DHCP) that
# NetworkManager-wait-online would wait for. The chain starts with classic:
# a NIC that no drop ever named keeps the image's behaviour (NetworkManager's
# automatic DHCP profile), which this unconnected test network cannot serve.
rootfs networkmanager --include=systemd-sysv,udev,iproute2,kmod,network-manager,dbus,libpam-systemd
customize_networkmanager() {
  local R=$1 f="$1/etc/NetworkManager/system-connections/System eth0.nmconnection"
  mkdir -p "${f%/*}"
  printf '[connection]\nid=System eth0\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\ninterface-name=ens2\n\n[ethernet]\nmac-address=%s\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=ignore\n' "${M0^^}" > "$f"
  chmod 600 "$f"
}
image networkmanager --rootfs networkmanager --p1 ext4 --scenarios "classic reboot changed reboot bad"
