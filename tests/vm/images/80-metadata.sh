# The metadata endpoint (issue 15): Debian with ifupdown under systemd and
# osconf-metadata.service enabled, no drop at all. Its first NIC is on QEMU
# user-mode networking restricted to the guest (restrict=on: nothing leaves
# the VM), where 100.100.100.200:80 is forwarded (guestfwd ... -cmd:) to
# tests/vm/metadata-server.py, run by QEMU for each connection with the
# connection on its stdin/stdout: no port on the host, only this VM reaches
# it. The image's own static eth0 gets it there at the first boot, as an
# instance's DHCP would. The second NIC stays on its unconnected hub port.
#
# Chain: the endpoint's settings applied (token flow, the one-request
# meta-data/all document); a reboot (nothing re-applied, same state); the
# settings changed (plain reads, item by item, from a server that is slow
# at first, keeps connections open and sends chunks); a reboot.
#
# What only the endpoint carries (issue 16): a key pair for root (made here
# by ssh-keygen), a secondary private IPv4 and an IPv6 address on eth0, an
# IPv6 name server, and eth1 with a secondary address and a gateway of its
# own (so its own table and a rule for each address, compared boot to boot
# like every route). The change serves another key pair, no secondary
# address on eth0 and other addresses on eth1: the old key and addresses go.
MD_TREE=$W/metadata-tree.json MD_REQUESTS=$W/metadata-requests.log
MD_NET=100.100.0.0/16 MD_GATEWAY=100.100.1.253 MD_IPV6=2001:db8:77::10
md_key() { # md_key <name>: a fresh key pair's public line
  rm -f "$W/md-key-$1" "$W/md-key-$1.pub"
  ssh-keygen -q -t ed25519 -N "" -C "metadata-vm-$1" -f "$W/md-key-$1"
  cat "$W/md-key-$1.pub"
}
metadata_tree() { # metadata_tree <token true|false> <all true|false> <hostname> <eth1 address> <eth0's private-ipv4s> <key> <eth1's private-ipv4s> [more server options]
  MD_KEY=$6
  cat > "$MD_TREE" <<EOF
{"token": $1, "all": $2, ${8:-} "items": {
  "hostname": "$3", "instance-id": "i-vmtest0001", "mac": "$M0", "private-ipv4": "100.100.1.10",
  "public-keys/0/openssh-key": "$6",
  "network/interfaces/macs/$M0/private-ipv4s": "$5",
  "network/interfaces/macs/$M0/ipv6s": "[\"$MD_IPV6\"]",
  "network/interfaces/macs/$M0/ipv6-gateway": "2001:db8:77::1",
  "network/interfaces/macs/$M0/vswitch-ipv6-cidr-block": "2001:db8:77::/64",
  "network/interfaces/macs/$M1/primary-ip-address": "$4",
  "network/interfaces/macs/$M1/private-ipv4s": "$7",
  "network/interfaces/macs/$M1/netmask": "255.255.255.0",
  "network/interfaces/macs/$M1/gateway": "192.168.77.1",
  "network/interfaces/macs/$M0/primary-ip-address": "100.100.1.10",
  "network/interfaces/macs/$M0/netmask": "255.255.255.0",
  "network/interfaces/macs/$M0/gateway": "$MD_GATEWAY",
  "network/interfaces/macs/$M0/vpc-cidr-block": "172.16.0.0/12",
  "network/interfaces/macs/$M0/vswitch-cidr-block": "100.100.1.0/24",
  "dns-conf/nameservers": "100.100.2.136\n100.100.2.138\n2001:db8:77::53"
}}
EOF
  : > "$MD_REQUESTS"
}
prepare_metadata() { metadata_tree true true meta-vm-host 192.168.77.20 '[\"100.100.1.10\",\"100.100.1.11\"]' "$(md_key first)" '[\"192.168.77.20\",\"192.168.77.30\"]'; }
# A server as real ones may be: slow to answer right after boot, keeping
# connections open, chunked replies.
prepare_metadata_changed() {
  MD_OLD_KEY=$MD_KEY
  metadata_tree false false meta-vm-changed 192.168.77.21 '[\"100.100.1.10\"]' "$(md_key second)" '[\"192.168.77.21\",\"192.168.77.31\"]' '"keep_alive": true, "chunked": true, "slow_first_ms": 2500,'
}
prepare_metadata_again() { : > "$MD_REQUESTS"; }

customize_metadata() {
  local R=$1
  printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 100.100.1.10/24\n    gateway %s\n\nsource /etc/network/interfaces.d/*\n' "$MD_GATEWAY" > "$R/etc/network/interfaces"
  enable_metadata_service "$R"
}

metadata_common() { # settings from the endpoint, live: host name, addresses, routes
  check "osconf.service found no drop" grep -q 'OSCONF-CHECK log=.*no settings found' "$LOG"
  check "osconf-metadata.service succeeded: $(value metadata_result)" [ "$(value metadata_result)" = "success exit=0" ]
  check "instance id recorded" has metadata_instance=i-vmtest0001
  check "name servers, the IPv6 one too" has "dns=100.100.2.136 100.100.2.138 2001:db8:77::53"
  check "eth0 IPv6 address" grep -aqE "^OSCONF-CHECK addr6_$M0=(.* )?$MD_IPV6/64( |\$)" "$LOG"
  check "root's key in osconf's block, and only it" [ "$(grep -ac '^OSCONF-CHECK root_key=' "$LOG") $(value root_key)" = "1 $MD_KEY" ]
  check "authorized_keys 600 root's" has "root_keys_mode=600 0"
  check "default route via eth0" has "route=default via $MD_GATEWAY mac $M0"
  check "VPC route via eth0" has "route=172.16.0.0/12 via $MD_GATEWAY mac $M0"
  check "no default route via eth1" lacks "route=default via 192.168.77.1"
  check "a reply from each of eth1's addresses leaves by eth1: $(value "reply_devs_$M1")" has "reply_devs_$M1=eth1 eth1"
  check "a reply from each of eth0's addresses leaves by eth0: $(value "reply_devs_$M0")" grep -aqE "^OSCONF-CHECK reply_devs_$M0=eth0( eth0)*\$" "$LOG"
}
assert_metadata() {
  metadata_common
  check "applied from the endpoint" grep -q 'OSCONF-CHECK mlog=.*applied metadata endpoint' "$LOG"
  check "host name" has hostname=meta-vm-host
  check "eth1 address and its secondary one" has "addr_$M1=192.168.77.20/24 192.168.77.30/24"
  check "eth0 address and its secondary one" has "addr_$M0=100.100.1.10/24 100.100.1.11/24"
  check "eth1 routes its own replies (table 1001), from both its addresses" [ "$(grep -acE '^OSCONF-CHECK state=rule 1001:\s+from 192\.168\.77\.(20|30) lookup 1001( |$)' "$LOG")" = 2 ]
  check "eth0's IPv6 default route, in the compared state" grep -aqE "^OSCONF-CHECK state=route6 default via 2001:db8:77::1 dev eth0( |\$)" "$LOG"
  check "token flow, then the one-request document: $(tr '\n' '|' < "$MD_REQUESTS")" \
    [ "$(tr '\n' '|' < "$MD_REQUESTS")" = "PUT /latest/api/token HTTP/1.1|GET /latest/meta-data/all HTTP/1.1|" ]
  MD_LAST_SHA=$(value metadata_record_hmac)
}
assert_metadata_changed() {
  metadata_common
  check "applied from the endpoint" grep -q 'OSCONF-CHECK mlog=.*applied metadata endpoint' "$LOG"
  check "host name changed" has hostname=meta-vm-changed
  check "eth1 new addresses only" has "addr_$M1=192.168.77.21/24 192.168.77.31/24"
  check "eth1's rules are for its new addresses only" [ "$(grep -aE '^OSCONF-CHECK state=rule 1001:' "$LOG" | grep -aoE 'from [0-9.]+' | sort | tr '\n' ' ')" = "from 192.168.77.21 from 192.168.77.31 " ]
  check "eth0 without the secondary address the endpoint no longer lists" has "addr_$M0=100.100.1.10/24"
  check "the old key is gone" lacks "root_key=$MD_OLD_KEY"
  check "read item by item" grep -qx 'GET /latest/meta-data/network/interfaces/macs/ HTTP/1.1' "$MD_REQUESTS"
  check "the slow first reply was asked for again" [ "$(grep -c '^PUT /latest/api/token' "$MD_REQUESTS")" -ge 2 ]
  check "record changed" [ "$(value metadata_record_hmac)" != "$MD_LAST_SHA" ]
  MD_LAST_SHA=$(value metadata_record_hmac)
}
assert_metadata_again() {
  metadata_common
  check "not applied again" grep -q 'OSCONF-CHECK mlog=.*was applied already' "$LOG"
  check "eth0's addresses as applied" [ "$(value "addr_$M0")" = "$(sed -n "s/^OSCONF-CHECK addr_$M0=//p" "$LAST_APPLY_LOG" | tail -n1)" ]
  check "record unchanged" [ "$(value metadata_record_hmac)" = "$MD_LAST_SHA" ]
}
NEXT_BOOT_SCENARIOS+=" metadata_again "

NET0="user,id=n0,restrict=on,net=$MD_NET,host=$MD_GATEWAY,dns=100.100.2.136,guestfwd=tcp:100.100.100.200:80-cmd:/usr/bin/python3 $HERE/metadata-server.py $MD_TREE $MD_REQUESTS"
image metadata --rootfs systemd --p1 ext4 --args "net.ifnames=0" --scenarios "metadata metadata_again metadata_changed metadata_again"
unset NET0
