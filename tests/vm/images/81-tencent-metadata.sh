# Tencent Cloud's metadata service (issue 25): Debian with ifupdown under
# systemd, osconf-metadata.service enabled as shipped, no drop and no
# CD-ROM. SMBIOS says what a CVM's firmware says (manufacturer "Tencent
# Cloud"), so tencent-metadata (enabled = auto) is asked and
# alibaba-metadata is not, though the unit runs `apply --metadata`. Its
# first NIC is on QEMU user-mode networking restricted to the guest
# (restrict=on: nothing leaves the VM), where 169.254.0.23:80 is forwarded
# (guestfwd ... -cmd:) to tests/vm/metadata-server.py (plain reads, no
# token), run by QEMU per connection on stdin/stdout: no port on the host.
# The image's own static eth0 reaches it at the first boot, as an
# instance's DHCP would. The second NIC stays on its unconnected hub port.
#
# The tree is Tencent's (PLATFORM.md §6): MACs upper-cased as Tencent serves
# them (the VM's MACs have no letters, so the unit tests prove the matching
# in any case), one directory per private address under local-ipv4s/ with
# its subnet-mask and gateway, a key pair in public-keys/, no DNS item. The
# early osconf.service asks the service too (DMI says Tencent) before the
# network is up: unreachable at once, no settings. Chain: applied (eth0's address,
# a secondary one and the default route; eth1 with its own table; root's
# key; the host name; resolv.conf untouched); a reboot (nothing
# re-applied, the same state).
TM_TREE=$W/tencent-metadata-tree.json TM_REQUESTS=$W/tencent-metadata-requests.log
TM_GATEWAY=169.255.0.1
prepare_tcmeta() {
  local u0=${M0^^} u1=${M1^^}
  rm -f "$W/tm-key" "$W/tm-key.pub"
  ssh-keygen -q -t ed25519 -N "" -C "tencent-vm" -f "$W/tm-key"
  TM_KEY=$(cat "$W/tm-key.pub")
  cat > "$TM_TREE" <<EOF
{"token": false, "all": false, "items": {
  "instance-id": "ins-vmtest01", "uuid": "cfac763a-7094-446b-a8a9-b995e638471a",
  "hostname": "VM-0-10-debian", "mac": "$u0", "local-ipv4": "169.255.0.10",
  "placement/region": "ap-guangzhou",
  "public-keys/0/openssh-key": "$TM_KEY",
  "network/interfaces/macs/$u0/mac": "$u0",
  "network/interfaces/macs/$u0/primary-local-ipv4": "169.255.0.10",
  "network/interfaces/macs/$u0/local-ipv4s/169.255.0.10/subnet-mask": "255.255.0.0",
  "network/interfaces/macs/$u0/local-ipv4s/169.255.0.10/gateway": "$TM_GATEWAY",
  "network/interfaces/macs/$u0/local-ipv4s/169.255.0.11/subnet-mask": "255.255.0.0",
  "network/interfaces/macs/$u0/local-ipv4s/169.255.0.11/gateway": "$TM_GATEWAY",
  "network/interfaces/macs/$u1/mac": "$u1",
  "network/interfaces/macs/$u1/primary-local-ipv4": "192.168.88.20",
  "network/interfaces/macs/$u1/local-ipv4s/192.168.88.20/subnet-mask": "255.255.255.0",
  "network/interfaces/macs/$u1/local-ipv4s/192.168.88.20/gateway": "192.168.88.1"
}}
EOF
  : > "$TM_REQUESTS"
}
prepare_tcmeta_again() { : > "$TM_REQUESTS"; }

customize_tencent_metadata() {
  local R=$1
  printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 169.255.0.10/16\n    gateway %s\n\nsource /etc/network/interfaces.d/*\n' "$TM_GATEWAY" > "$R/etc/network/interfaces"
  enable_metadata_service "$R"
  printf 'nameserver 192.0.2.53\n' > "$R/etc/resolv.conf"
}

tcmeta_common() {
  check "the early osconf.service: the service not reachable yet, no settings" grep -aq 'OSCONF-CHECK log=.*metadata endpoint http://169.254.0.23 not reachable.*no settings from it' "$LOG"
  check "osconf.service at once: $(value osconf_ms) ms" [ "$(value osconf_ms)" -lt 5000 ]
  check "osconf-metadata.service succeeded: $(value metadata_result)" [ "$(value metadata_result)" = "success exit=0" ]
  check "instance id recorded: $(value metadata_instance)" has metadata_instance=ins-vmtest01
  check "the service has no DNS: resolv.conf as the image had it" has "dns=192.0.2.53"
  check "root's key in osconf's block, and only it" [ "$(grep -ac '^OSCONF-CHECK root_key=' "$LOG") $(value root_key)" = "1 $TM_KEY" ]
  check "default route via eth0" has "route=default via $TM_GATEWAY mac $M0"
  check "no default route via eth1" lacks "route=default via 192.168.88.1"
  check "eth0 address and its secondary one" has "addr_$M0=169.255.0.10/16 169.255.0.11/16"
  check "eth1 address" has "addr_$M1=192.168.88.20/24"
  check "host name" has hostname=VM-0-10-debian
  check "alibaba-metadata was not asked (DMI says Tencent)" grep -aq 'OSCONF-CHECK mlog=.*alibaba-metadata: not asked' "$LOG"
  # The meta-data items, and the user data (osconf-user-data.service, which the package enables).
  check "plain GETs only, no token request: $(grep -c . "$TM_REQUESTS") requests" [ "$(grep -vc '^GET /latest/\(meta-data/\|user-data \)' "$TM_REQUESTS")" = 0 ]
}
assert_tcmeta() {
  tcmeta_common
  check "applied from the endpoint" grep -aq 'OSCONF-CHECK mlog=.*applied metadata endpoint' "$LOG"
  check "eth1 routes its own replies (table 1001)" grep -aqE '^OSCONF-CHECK state=rule 1001:\s+from 192\.168\.88\.20 lookup 1001( |$)' "$LOG"
  check "eth0's address items requested under its listed MAC" grep -q "^GET /latest/meta-data/network/interfaces/macs/${M0^^}/local-ipv4s/169.255.0.10/subnet-mask" "$TM_REQUESTS"
}
assert_tcmeta_again() {
  tcmeta_common
  check "not applied again" grep -aq 'OSCONF-CHECK mlog=.*was applied already' "$LOG"
}
NEXT_BOOT_SCENARIOS+=" tcmeta_again "

NET0="user,id=n0,restrict=on,net=169.254.0.0/15,host=$TM_GATEWAY,dns=169.255.0.3,guestfwd=tcp:169.254.0.23:80-cmd:/usr/bin/python3 $HERE/metadata-server.py $TM_TREE $TM_REQUESTS"
EXTRA_QEMU_ARGV=(-smbios "type=1,manufacturer=Tencent Cloud,product=CVM")
image tencent_metadata --rootfs systemd --p1 ext4 --cloud tencent --args "net.ifnames=0" --scenarios "tcmeta tcmeta_again"
unset NET0 EXTRA_QEMU_ARGV
