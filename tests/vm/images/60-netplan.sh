# Ubuntu-style netplan: netplan.io rendering for systemd-networkd,
# systemd-resolved with its stub resolv.conf, no ifupdown, predictable names
# (ens2/ens3), and cloud-init's own 50-cloud-init.yaml giving the first NIC
# DHCP (matched by MAC, set-name). osconf must cut that definition out and
# regenerate on the apply boot, so that boot ends where the next one does.
rootfs netplan --include=systemd-sysv,udev,iproute2,kmod,netplan.io,systemd-resolved,dbus
customize_netplan() {
  local R=$1
  mkdir -p "$R/etc/netplan"
  cat > "$R/etc/netplan/50-cloud-init.yaml" <<YAML
# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.
network:
    ethernets:
        ens2:
            dhcp4: true
            match:
                macaddress: $M0
            set-name: ens2
    version: 2
YAML
  chmod 600 "$R/etc/netplan/50-cloud-init.yaml"
  ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
  chroot "$R" systemctl enable systemd-resolved.service >/dev/null 2>&1
}
# On each apply boot the image's YAML (cloud-init's, then osconf's) had
# made netplan's run at boot enable networkd and its wait-online: osconf ran
# the generator as systemd runs it (no systemctl starts), and the boot still
# ends where the next one does (checked on every reboot).
generated_as_systemd_does() { grep -aq 'OSCONF-CHECK log=.*ran /lib/systemd/system-generators/netplan as systemd does' "$LOG"; }
for a in vpc classic changed; do
  eval "netplan_base_$(declare -f "assert_$a")"
  eval "assert_$a() { netplan_base_assert_$a; check \"netplan's generator run as systemd runs it\" generated_as_systemd_does; }"
done
image netplan --rootfs netplan --p1 ext4
