# The OpenStack metadata service with a DHCP network (issue 24): Debian
# with systemd-networkd (the networkd image's root file system and
# customization), osconf-metadata.service enabled, no drop and no config
# drive. SMBIOS says OpenStack Nova, so openstack-metadata (enabled = auto)
# is asked. The first NIC is on QEMU user-mode networking restricted to the
# guest (restrict=on: nothing leaves the VM) whose DHCP server hands out
# 169.0.0.15/8 (a network holding 169.254.169.254, which user-mode
# networking forwards only inside its own network), and where
# 169.254.169.254:80 is forwarded (guestfwd ... -cmd:) to
# tests/vm/metadata-server.py serving /openstack/latest/: no port on the
# host. Restricted, QEMU's DHCP server sends no router and no DNS option
# (libslirp's bootp.c adds them only when not restricted): the lease gives
# an address and its subnet route, no default route. The image's own
# networkd file asks DHCP on that NIC (by MAC), as a cloud image does, so
# the service is reached at the first boot; systemd-networkd-wait-online is
# enabled with networkd, as `systemctl enable systemd-networkd` does (its
# Also=), so that network-online.target waits for the lease.
#
# The service's documents are Huawei-shaped (PLATFORM.md §5): meta_data.json
# with uuid, a `.novalocal` host name, `meta.admin_pass` empty and no
# `admin_pass` (Nova never serves it here), a key pair; network_data.json
# with the first NIC on a `cascading` link as `ipv4_dhcp` (written as DHCP
# in osconf's networkd file: the same lease at the next boot), the second
# static without a gateway and with MTU 1400 (set live, and by networkd at
# the next boot), a DNS service.
#
# The root password comes as Huawei gives it to a password-login Linux
# instance: only in the user data, a script `#!/bin/bash` + `echo
# 'root:$6$…' | chpasswd -e;` (PLATFORM.md §5), served at
# /openstack/latest/user_data and run by osconf-user-data.service (issue
# 26); the script also appends a line to /root/user-data-runs, to count runs.
#
# Chain: applied (host name, hosts, key, eth1's address and MTU, eth0 on its
# DHCP lease; the user data run: root's password works); a reboot (nothing
# re-applied, the user data not run again, the state of the apply boot, MTUs
# included); a new instance (a new uuid, host name and eth1 address):
# applied again, the user data run again.
OSMD_TREE=$W/openstack-metadata-tree.json OSMD_REQUESTS=$W/openstack-metadata-requests.log
OSMD_KEY=""
# osmd_tree <uuid> <hostname> <eth1 IPv4 last byte>
osmd_tree() {
  cat > "$OSMD_TREE" <<EOF
{"openstack": {
 "meta_data.json": {"uuid": "$1", "name": "${2%%.*}", "hostname": "$2",
   "availability_zone": "cn-north-4a", "project_id": "0a7f1a4b6e2f4a7a9c3b1d2e3f405162",
   "launch_index": 0, "public_keys": {"vm-key": "$OSMD_KEY"},
   "meta": {"admin_pass": "", "os_type": "Linux", "charging_mode": "0"}, "devices": []},
 "network_data.json": {
   "links": [
     {"id": "tap68a9272d-71", "type": "cascading", "ethernet_mac_address": "$M0", "mtu": null, "vif_id": "68a9272d"},
     {"id": "tap9c1b2e3f-02", "type": "ovs", "ethernet_mac_address": "$M1", "mtu": 1400, "vif_id": "9c1b2e3f"}],
   "networks": [
     {"id": "network0", "type": "ipv4_dhcp", "link": "tap68a9272d-71", "network_id": "67dc10ce"},
     {"id": "network1", "type": "ipv4", "link": "tap9c1b2e3f-02", "ip_address": "10.20.30.$3",
      "netmask": "255.255.255.0", "routes": [], "network_id": "9e2d"}],
   "services": [{"type": "dns", "address": "xxx.xx.x.x"}, {"type": "dns", "address": "100.125.1.250"}]}
 },
 "user_data": $(printf '#!/bin/bash\necho '"'"'root:%s'"'"' | chpasswd -e;\necho ran >> /root/user-data-runs\n' "$(openssl passwd -6 -salt huaweisalt "$PASSWORD")" | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read()))')
}
EOF
  : > "$OSMD_REQUESTS"
}
prepare_osmd() {
  rm -f "$W/osmd-key" "$W/osmd-key.pub"
  ssh-keygen -q -t ed25519 -N "" -C "openstack-metadata-vm" -f "$W/osmd-key"
  OSMD_KEY=$(cat "$W/osmd-key.pub")
  osmd_tree 3b1c5e7a-9d2f-4e6a-8b0c-1d2e3f4a5b6c ecs-mdmd.novalocal 20
}
prepare_osmd_again() { : > "$OSMD_REQUESTS"; }
prepare_osmd_changed() { osmd_tree 7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f ecs-nwnw.novalocal 21; }

customize_openstack_metadata() {
  local R=$1
  customize_networkd "$R"
  printf '[Match]\nMACAddress=%s\n\n[Network]\nDHCP=ipv4\n' "$M0" > "$R/etc/systemd/network/50-image-dhcp.network"
  mkdir -p "$R/etc/systemd/system/network-online.target.wants"
  ln -sf /lib/systemd/system/systemd-networkd-wait-online.service "$R/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
  enable_metadata_service "$R"
  enable_user_data_service "$R"
}

# osmd_applied <uuid> <short name> <eth1 IPv4 last byte>
osmd_applied() {
  local n0; n0=$(value "name_$M0")
  check "osconf.service: no drive, the service not reachable yet: $(value osconf_result)" [ "$(osconf_exit)" = exit=0 ]
  check "osconf-metadata.service succeeded: $(value metadata_result)" [ "$(value metadata_result)" = "success exit=0" ]
  check "DMI: OpenStack Nova ($(value dmi))" grep -aq '^OSCONF-CHECK dmi=.*|OpenStack Nova|' "$LOG"
  check "record: instance $1 ($(value osmd_instance))" has "osmd_instance=$1"
  check "host name: the first label" has "hostname=$2"
  check "/etc/hosts: the full name, then the first label" grep -aqP "^OSCONF-CHECK hosts=\\S+\\t$2\\.novalocal $2\\t# managed by osconf$" "$LOG"
  check "root's key in osconf's block, once" [ "$(grep -ac '^OSCONF-CHECK root_key=' "$LOG") $(value root_key)" = "1 $OSMD_KEY" ]
  check "the name server (Huawei's redacted one skipped): $(value dns)" has "dns=100.125.1.250"
  check "eth0 ($n0) by DHCP: its lease" has "addr_$M0=169.0.0.15/8"
  check "the lease's subnet route via eth0" has "route=169.0.0.0/8 mac $M0"
  check "no default route (the restricted DHCP server gives none)" lacks "route=default"
  check "eth1 static address" has "addr_$M1=10.20.30.$3/24"
  check "eth1 MTU 1400: $(value "mtu_$M1")" has "mtu_$M1=1400"
  check "eth0 MTU as the link's: $(value "mtu_$M0")" has "mtu_$M0=1500"
  check "osconf's networkd file asks DHCP for eth0" has "networkd_dhcp_eth0=DHCP=ipv4"
  check "only OpenStack's paths asked: $(sort -u "$OSMD_REQUESTS" | tr '\n' ' ')" [ "$(grep -vc '^GET /openstack/' "$OSMD_REQUESTS")" = 0 ]
  check "osconf-user-data.service succeeded: $(value user_data_result)" [ "$(value user_data_result)" = "success exit=0" ]
  check "root's password from the user data's chpasswd -e, verified with crypt(3)" has password_ok=yes
  check "user data recorded for instance $1 ($(value user_data_instance))" has "user_data_instance=$1"
  check "the user data's log is 0600: $(value user_data_log_mode)" has "user_data_log_mode=600"
}
assert_osmd() {
  osmd_applied 3b1c5e7a-9d2f-4e6a-8b0c-1d2e3f4a5b6c ecs-mdmd 20
  check "applied from the service" grep -aq 'OSCONF-CHECK mlog=.*applied .*169\.254\.169\.254' "$LOG"
  check "the user data ran once: $(value user_data_runs)" has user_data_runs=1
}
assert_osmd_again() {
  osmd_applied 3b1c5e7a-9d2f-4e6a-8b0c-1d2e3f4a5b6c ecs-mdmd 20
  check "not applied again" grep -aq 'OSCONF-CHECK mlog=.*applied already' "$LOG"
  check "the user data not run again: $(value user_data_runs)" has user_data_runs=1
  check "the user data says it ran already" grep -aq 'OSCONF-CHECK ulog=.*ran already for this instance' "$LOG"
}
assert_osmd_changed() {
  osmd_applied 7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f ecs-nwnw 21
  check "applied again for the new instance" grep -aq 'OSCONF-CHECK mlog=.*applied .*169\.254\.169\.254' "$LOG"
  check "the user data ran again for the new instance: $(value user_data_runs)" has user_data_runs=2
}
NEXT_BOOT_SCENARIOS+=" osmd_again "

NET0="user,id=n0,restrict=on,net=169.0.0.0/8,host=169.0.0.1,dhcpstart=169.0.0.15,dns=169.0.0.3,guestfwd=tcp:169.254.169.254:80-cmd:/usr/bin/python3 $HERE/metadata-server.py $OSMD_TREE $OSMD_REQUESTS"
EXTRA_QEMU_ARGV=(-smbios "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova")
image openstack_metadata --rootfs systemd --p1 ext4 --cloud huawei --fstab-uuid --scenarios "osmd osmd_again osmd_changed"
unset NET0 EXTRA_QEMU_ARGV
