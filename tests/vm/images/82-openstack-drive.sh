# The OpenStack config drive (issue 24): Debian with systemd-networkd (the
# networkd image's root file system and customization: predictable names
# ens2/ens3, no ifupdown), no drop on the first partition. The cloud's
# settings come on an ISO 9660 medium labelled config-2 (genisoimage -J -r,
# as Nova writes it), attached as a second, read-only virtio disk: found by
# its label and read without mounting it. Its openstack/latest/ holds
# Huawei-shaped meta_data.json (uuid, hostname ecs-ddd4.novalocal, one
# public key, admin_pass) and a static network_data.json: IPv4 on both NICs,
# the default route on the first, IPv6 with a link-local gateway on the
# first, DNS services at the top level and on a network. The second link's
# MAC is written upper-case, as some clouds serve it (the VM's MACs have no
# letters, so the unit tests prove the matching in any case).
#
# Chain: applied (addresses, routes, host name, hosts, key, password,
# record); the same drive again (nothing re-applied, the state of the apply
# boot); a new instance (a new uuid, host name and addresses): applied
# again. The new instance's drive is vfat (mkfs.vfat -n config-2, as Nova
# writes one with config_drive_format=vfat), found by its FAT label read
# from the boot sector and mounted read-only.
OD_KEY=""
# od_drive <image> <uuid> <hostname> <eth0 IPv4 last byte> <eth1 IPv4 last byte> <eth0 IPv6 last group> [vfat]
od_drive() {
  local iso=$1 uuid=$2 host=$3 a0=$4 a1=$5 a6=$6 format=${7:-iso9660} tree
  tree=$(mktemp -d "$W/od-tree.XXXXXX")
  mkdir -p "$tree/openstack/latest"
  cat > "$tree/openstack/latest/meta_data.json" <<EOF
{"uuid": "$uuid", "name": "$host", "hostname": "$host",
 "availability_zone": "cn-north-4a", "project_id": "0a7f1a4b6e2f4a7a9c3b1d2e3f405162",
 "launch_index": 0, "public_keys": {"vm-key": "$OD_KEY"}, "keys": [{"name": "vm-key", "type": "ssh", "data": "$OD_KEY"}],
 "admin_pass": "$PASSWORD", "meta": {"admin_pass": ""}, "devices": []}
EOF
  cat > "$tree/openstack/latest/network_data.json" <<EOF
{"links": [
  {"id": "tap0", "type": "cascading", "ethernet_mac_address": "$M0", "mtu": null, "vif_id": "a1"},
  {"id": "tap1", "type": "ovs", "ethernet_mac_address": "${M1^^}", "mtu": 1500, "vif_id": "b2"}],
 "networks": [
  {"id": "network0", "type": "ipv4", "link": "tap0", "ip_address": "192.0.2.$a0", "netmask": "255.255.255.0",
   "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.0.2.1"}],
   "services": [{"type": "dns", "address": "192.0.2.53"}], "network_id": "n0"},
  {"id": "network1", "type": "ipv6", "link": "tap0", "ip_address": "2001:db8:1::$a6",
   "netmask": "ffff:ffff:ffff:ffff:0000:0000:0000:0000",
   "routes": [{"network": "::", "netmask": "::", "gateway": "fe80::1"}], "network_id": "n0"},
  {"id": "network2", "type": "ipv4", "link": "tap1", "ip_address": "10.20.30.$a1", "netmask": "255.255.255.0",
   "routes": [{"network": "203.0.113.0", "netmask": "255.255.255.0", "gateway": "10.20.30.1"}], "network_id": "n1"}],
 "services": [{"type": "dns", "address": "198.51.100.53"}]}
EOF
  if [ "$format" = vfat ]; then
    rm -f "$iso"; truncate -s 4M "$iso"
    mkfs.vfat -n config-2 "$iso" >/dev/null 2>&1
    MTOOLS_SKIP_CHECK=1 mcopy -s -i "$iso" "$tree/openstack" ::/
  else
    genisoimage -quiet -J -r -V config-2 -o "$iso" "$tree"
  fi
  rm -rf "$tree"
  sha256sum "$iso" | cut -d' ' -f1 > "$iso.sha256"
}
prepare_os_drive() {
  rm -f "$W/od-key" "$W/od-key.pub"
  ssh-keygen -q -t ed25519 -N "" -C "openstack-vm" -f "$W/od-key"
  OD_KEY=$(cat "$W/od-key.pub")
  od_drive "$W/openstack-drive.iso" 6f1a2b3c-4d5e-4f60-8a1b-2c3d4e5f6071 ecs-ddd4.novalocal 10 20 10
  EXTRA_DRIVE=$W/openstack-drive.iso
}
prepare_os_drive_again() { EXTRA_DRIVE=$W/openstack-drive.iso; }
prepare_os_drive_changed() {
  od_drive "$W/openstack-drive-changed.img" 0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f ecs-eeee.novalocal 11 21 11 vfat
  EXTRA_DRIVE=$W/openstack-drive-changed.img
}
prepare_os_drive_changed_again() { EXTRA_DRIVE=$W/openstack-drive-changed.img; }

customize_openstack_drive() { customize_networkd "$1"; }

# DMI says Huawei Cloud (OpenStack), as its firmware does: the drive is
# asked before any metadata service, and found, so none is tried.
od_drive_first() {
  check "DMI: Huawei's chassis asset tag ($(value dmi))" grep -aq '^OSCONF-CHECK dmi=.*|HUAWEICLOUD|$' "$LOG"
  check "no metadata service asked" no_metadata_asked
}
no_metadata_asked() { ! grep -aqE '^OSCONF-CHECK log=.*(-metadata|metadata endpoint|169\.254\.)' "$LOG"; }
drive_untouched() { [ "$(sha256sum "$EXTRA_DRIVE" | cut -d' ' -f1)" = "$(cat "$EXTRA_DRIVE.sha256")" ]; }
# od_applied <uuid> <short name> <eth0 IPv4 last byte> <eth1 IPv4 last byte> <eth0 IPv6 last group>
od_applied() {
  local uuid=$1 short=$2 a0=$3 a1=$4 a6=$5 n0; n0=$(value "name_$M0")
  check "osconf succeeded: $(value osconf_result)" [ "$(osconf_exit)" = exit=0 ]
  od_drive_first
  check "read from the config drive" grep -aq 'OSCONF-CHECK log=.*(config drive): openstack/latest' "$LOG"
  check "record: instance $uuid ($(value drive_instance))" has "drive_instance=$uuid"
  check "host name: the first label" has "hostname=$short"
  check "/etc/hostname: the first label" has "etc_hostname=$short"
  check "/etc/hosts: the full name, then the first label" grep -aqP "^OSCONF-CHECK hosts=\\S+\\t$short\\.novalocal $short\\t# managed by osconf$" "$LOG"
  check "root password from admin_pass verified with crypt(3)" has password_ok=yes
  check "root's key in osconf's block, once" [ "$(grep -ac '^OSCONF-CHECK root_key=' "$LOG") $(value root_key)" = "1 $OD_KEY" ]
  check "authorized_keys 0600 root's" has "root_keys_mode=600 0"
  check "name servers of the network and the top level: $(value dns)" [ "$(value dns | tr ' ' '\n' | sort | tr '\n' ' ')" = "192.0.2.53 198.51.100.53 " ]
  check "eth0 ($n0) IPv4 address" has "addr_$M0=192.0.2.$a0/24"
  check "eth1 IPv4 address (MAC upper-case in the JSON)" has "addr_$M1=10.20.30.$a1/24"
  check "eth0 IPv6 address" has "addr6_$M0=2001:db8:1::$a6/64"
  check "eth1 no IPv6 address" has "addr6_$M1="
  check "default route via eth0" has "route=default via 192.0.2.1 mac $M0"
  check "eth1's route to 203.0.113.0/24" has "route=203.0.113.0/24 via 10.20.30.1 mac $M1"
  check "one IPv4 default route" [ "$(grep -ac '^OSCONF-CHECK route=default' "$LOG")" = 1 ]
  check "IPv6 default route via fe80::1 on eth0" grep -aqE "^OSCONF-CHECK state=route6 default via fe80::1 dev $n0( |$)" "$LOG"
  check "the drive untouched" drive_untouched
}
assert_os_drive() {
  od_applied 6f1a2b3c-4d5e-4f60-8a1b-2c3d4e5f6071 ecs-ddd4 10 20 10
}
od_again() { # od_again <uuid>
  check "osconf succeeded: $(value osconf_result)" [ "$(osconf_exit)" = exit=0 ]
  od_drive_first
  check "the same drive is not applied again" grep -aq 'OSCONF-CHECK log=.*applied already' "$LOG"
  check "record unchanged" has "drive_instance=$1"
  check "the drive untouched" drive_untouched
}
assert_os_drive_again() { od_again 6f1a2b3c-4d5e-4f60-8a1b-2c3d4e5f6071; }
assert_os_drive_changed_again() { od_again 0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f; }
assert_os_drive_changed() { # the exact address lists: the old instance's addresses are gone
  od_applied 0c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f ecs-eeee 11 21 11
}
NEXT_BOOT_SCENARIOS+=" os_drive_again os_drive_changed_again "

EXTRA_QEMU_ARGV=(-smbios "type=3,manufacturer=QEMU,asset=HUAWEICLOUD")
image openstack_drive --rootfs systemd --p1 ext4 --cloud ctyun --fstab-uuid --scenarios "os_drive os_drive_again os_drive_changed os_drive_changed_again"
unset EXTRA_QEMU_ARGV
