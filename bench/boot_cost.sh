#!/usr/bin/env bash
# What a first-boot agent costs a boot (issue 28), on every source osconf
# reads: the same Debian 12 image (cloud-init and openssh-server installed)
# booted in QEMU in three variants,
# - none: no first-boot agent (cloud-init disabled by
#   /etc/cloud/cloud-init.disabled, osconf not installed), the same disk and
#   QEMU devices otherwise (the drive or endpoint is there, nobody reads it).
#   Its eth0 is configured as the agents leave it, by the image's own files,
#   as a builder without an agent would bake it: the static address,
#   default route and name servers (resolvconf's dns-nameservers, as
#   osconf's stanza has them) for drop and os-drive, DHCP for the two
#   endpoints; so
#   osconf/none is what the agent adds, not the cost of a NIC configured;
# - osconf: osconf installed from its .deb, cloud-init disabled the same way;
# - cloudinit: Debian's cloud-init (22.4) doing the job;
# for four sources:
# - drop: Alibaba's os.conf on the first partition (osconf.service) against
#   a NoCloud seed with the same settings for cloud-init: host name, root
#   password, static eth0 address, default route, name servers;
# - metadata: the mock Alibaba metadata endpoint
#   (tests/vm/metadata-server.py, reachable only from that VM; `osconf apply
#   --metadata`, osconf-metadata.service) against cloud-init's AliYun
#   source, QEMU's SMBIOS saying "Alibaba Cloud ECS": host name, root's SSH
#   key, eth0's address, default route, name servers;
# - os-drive: an OpenStack config drive (ISO 9660 labelled config-2, a
#   second virtio disk; osconf.service's openstack-drive source, enabled by
#   default) against cloud-init's ConfigDrive source: host name, root's SSH
#   key, static eth0 address, default route, name server;
# - os-metadata: the OpenStack metadata service at 169.254.169.254 (the same
#   mock serving its "openstack" tree, as tests/vm/images/83 does; SMBIOS
#   "OpenStack Nova"; osconf-metadata.service) against cloud-init's
#   OpenStack source: host name, root's SSH key, eth0's DHCP address (the
#   lease and network_data.json agree), name servers (osconf's).
# For every boot, in milliseconds of the guest's CLOCK_MONOTONIC (systemd's
# *TimestampMonotonic, counted from the kernel's start):
# (a) settings applied: osconf: the exit of the unit that applied them
#     (osconf.service for drop and os-drive, osconf-metadata.service for the
#     two endpoints); cloud-init: the latest of cloud-init.service's exit
#     (host name, keys), cloud-config.service's (the password, drop only)
#     and networking.service active (ifupdown brings up cloud-init's network
#     files); none: nothing to apply;
# (b) network-online.target reached (the report unit pulls it in, in every
#     variant);
# (c) sshd accepting connections: ssh.service active. Debian 12's
#     ssh.service is Type=notify and Debian's sshd (its systemd-readiness
#     patch) sends READY=1 once its listening sockets are bound, so the
#     unit's active time is when sshd accepts; the script checks the unit's
#     Type in the root file system and stops if it is not notify. Each
#     report also reads sshd's "SSH-2.0" banner from 127.0.0.1:22.
# and the agent's time on the boot path (its units' run times, as
# systemd-analyze blame counts them: osconf.service, osconf-metadata.service
# where enabled and osconf-user-data.service, which the .deb enables; or
# cloud-init's four) and the boot's wall time.
# Every osconf and cloud-init boot is checked to have applied the settings
# before its times count; every none boot to have applied none of them
# (the host name and key not set) and to have sshd answering.
#
# Scheduling: one boot at a time (each is CPU-bound under TCG with -smp 2),
# a source's three variants back to back (none, osconf, cloudinit, and
# again for each of --runs N), so that the three a ratio compares ran under
# about the same load; with N runs the table shows medians (TCG boots vary
# by seconds). Not a test: run it by hand, as root.
#   bash bench/boot_cost.sh [--only "drop metadata os-drive os-metadata"] [--runs N] [osconf.deb]
# Without a .deb: target/packages/osconf_*_amd64.deb, built by
# packaging/build.sh when there is none (rebuild it for a current one).
# (This script was bench/cloudinit.sh: osconf against cloud-init, drop and
# metadata only.)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/tests/vm
SOURCES="drop metadata os-drive os-metadata" RUNS=1 DEB=
while [ $# -gt 0 ]; do
  case $1 in
    --only) SOURCES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    *) DEB=$1; shift ;;
  esac
done
for s in $SOURCES; do
  case $s in drop|metadata|os-drive|os-metadata) ;; *) echo "unknown source $s (drop, metadata, os-drive, os-metadata)" >&2; exit 2 ;; esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs takes a positive number" >&2; exit 2; }
if [ -z "$DEB" ]; then
  DEB=$(find "$REPO/target/packages" -maxdepth 1 -name "osconf_*_amd64.deb" 2>/dev/null | sort | tail -n1)
  if [ -z "$DEB" ]; then
    (cd "$REPO" && bash packaging/build.sh >/dev/null)
    DEB=$(find "$REPO/target/packages" -maxdepth 1 -name "osconf_*_amd64.deb" | sort | tail -n1)
  fi
fi
DEB=$(realpath "$DEB")
bash "$REPO/tests/install-deps.sh"
# shellcheck source=../tests/vm/lib.sh disable=SC1091
. "$HERE/lib.sh"
# debootstrap does not resolve virtual packages: python3-cffi-backend provides
# the cffi API python3-cryptography (a cloud-init dependency) needs.
# cloud-init's ifupdown files need net-tools (routes are `route add`
# commands) and resolvconf (name servers are `dns-nameservers` lines):
# without them it sets neither. openssh-server: sshd, whose readiness is
# time (c) (its host keys are made when it is installed, so they are in
# every variant's image).
rootfs bootcost --include=systemd-sysv,udev,iproute2,ifupdown,kmod,cloud-init,python3-cffi-backend,net-tools,resolvconf,openssh-server
ROOTFS_TAR=$(rootfs_tar bootcost)
tar -xOf "$ROOTFS_TAR" ./usr/lib/systemd/system/ssh.service | grep -qx 'Type=notify' \
  || { echo "ssh.service in the image is not Type=notify: its active time is not when sshd listens; measure with a probe instead" >&2; exit 1; }

# --- drop: an os.conf on the first partition / a NoCloud seed (both on the
# disk and attached in every variant of this source)
PW64=$(printf 'Passw0rd!\n' | base64)
rm -rf bench-p1 bench-p1-empty bench-seed
mkdir -p bench-p1/aliyun_custom_image bench-p1-empty/aliyun_custom_image bench-seed
cat > bench-p1/aliyun_custom_image/os.conf <<EOT
hostname=vpc-host
password=$PW64
eth0_ip_addr=192.168.50.10
eth0_mac_addr=52:54:00:12:34:56
eth0_netmask=255.255.255.0
eth0_gateway=192.168.50.1
eth0_route="0.0.0.0/0 192.168.50.1"
dns_nameserver="192.168.50.2 192.168.50.3"
EOT
printf 'instance-id: iid-osconf-bench\nlocal-hostname: vpc-host\n' > bench-seed/meta-data
cat > bench-seed/user-data <<'EOT'
#cloud-config
hostname: vpc-host
manage_etc_hosts: true
chpasswd:
  expire: false
  users:
    - {name: root, password: "Passw0rd!", type: text}
EOT
cat > bench-seed/network-config <<'EOT'
version: 2
ethernets:
  nic0:
    match: {macaddress: "52:54:00:12:34:56"}
    addresses: [192.168.50.10/24]
    routes: [{to: 0.0.0.0/0, via: 192.168.50.1}]
    nameservers: {addresses: [192.168.50.2, 192.168.50.3]}
EOT
genisoimage -quiet -V cidata -r -J -o bench-seed.iso bench-seed

# --- metadata: the Alibaba endpoint's tree. No session token required (the
# endpoint's normal mode: osconf takes the token it offers, cloud-init's
# AliYun source reads without one); meta-data/all served (osconf reads it in
# one request, cloud-init crawls /2016-01-01/meta-data/ item by item).
# eth0's address is also what QEMU's DHCP hands out (dhcpstart), as on an
# instance, where DHCP and the endpoint agree.
MD_TREE=$W/bench-md-tree.json MD_REQUESTS=$W/bench-md-requests.log MD_GATEWAY=100.100.1.253
rm -f bench-md-key bench-md-key.pub && ssh-keygen -q -t ed25519 -N "" -C bench-md-key -f bench-md-key
MD_KEY=$(cat bench-md-key.pub)
cat > "$MD_TREE" <<EOT
{"token": "offered", "all": true, "items": {
  "hostname": "md-bench-host", "instance-id": "i-bench0001", "mac": "52:54:00:12:34:56",
  "private-ipv4": "100.100.1.10", "region-id": "cn-hangzhou", "zone-id": "cn-hangzhou-i",
  "public-keys/0/openssh-key": "$MD_KEY",
  "network/interfaces/macs/52:54:00:12:34:56/primary-ip-address": "100.100.1.10",
  "network/interfaces/macs/52:54:00:12:34:56/netmask": "255.255.255.0",
  "network/interfaces/macs/52:54:00:12:34:56/gateway": "$MD_GATEWAY",
  "network/interfaces/macs/52:54:00:12:34:56/private-ipv4s": "[\"100.100.1.10\"]",
  "network/interfaces/macs/52:54:00:12:34:56/vswitch-cidr-block": "100.100.1.0/24",
  "dns-conf/nameservers": "100.100.2.136\n100.100.2.138"
}}
EOT
MD_NET0="user,id=n0,restrict=on,net=100.100.0.0/16,host=$MD_GATEWAY,dhcpstart=100.100.1.10,dns=100.100.2.136,guestfwd=tcp:100.100.100.200:80-cmd:/usr/bin/python3 $HERE/metadata-server.py $MD_TREE $MD_REQUESTS"

# --- os-drive: an OpenStack config drive, as tests/vm/images/82's od_drive
# builds one (ISO 9660, label config-2, openstack/latest/): uuid, host name,
# a key pair, eth0 static with its default route and a DNS service (at the
# top level: cloud-init 22.4 ignores a network's own "services"). No
# admin_pass: the settings compared are those both agents apply.
rm -f bench-os-key bench-os-key.pub && ssh-keygen -q -t ed25519 -N "" -C bench-os-key -f bench-os-key
OS_KEY=$(cat bench-os-key.pub)
rm -rf bench-od && mkdir -p bench-od/openstack/latest
cat > bench-od/openstack/latest/meta_data.json <<EOT
{"uuid": "6f1a2b3c-4d5e-4f60-8a1b-2c3d4e5f6071", "name": "ecs-ddd4", "hostname": "ecs-ddd4.novalocal",
 "availability_zone": "cn-north-4a", "project_id": "0a7f1a4b6e2f4a7a9c3b1d2e3f405162",
 "launch_index": 0, "public_keys": {"vm-key": "$OS_KEY"}, "keys": [{"name": "vm-key", "type": "ssh", "data": "$OS_KEY"}],
 "meta": {}, "devices": []}
EOT
cat > bench-od/openstack/latest/network_data.json <<'EOT'
{"links": [{"id": "tap0", "type": "ovs", "ethernet_mac_address": "52:54:00:12:34:56", "mtu": null, "vif_id": "a1"}],
 "networks": [{"id": "network0", "type": "ipv4", "link": "tap0", "ip_address": "192.0.2.10", "netmask": "255.255.255.0",
   "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.0.2.1"}], "network_id": "n0"}],
 "services": [{"type": "dns", "address": "192.0.2.53"}]}
EOT
genisoimage -quiet -J -r -V config-2 -o bench-od.iso bench-od

# --- os-metadata: the OpenStack metadata service, as tests/vm/images/83
# serves it: QEMU's user networking restricted to the guest, its DHCP
# handing 169.0.0.15/8 (a network holding 169.254.169.254; no router, no
# name server under restrict=on), 169.254.169.254:80 forwarded to the mock.
# network_data.json gives eth0 as ipv4_dhcp (the lease is the address), and
# a DNS service. The EC2-style tree Nova also serves (/latest/meta-data/,
# which cloud-init's OpenStack source reads after openstack/latest/) is in
# "items", so cloud-init does not wait out retries on a 404; osconf reads
# only /openstack/latest/.
OSMD_TREE=$W/bench-osmd-tree.json OSMD_REQUESTS=$W/bench-osmd-requests.log
cat > "$OSMD_TREE" <<EOT
{"openstack": {
 "meta_data.json": {"uuid": "3b1c5e7a-9d2f-4e6a-8b0c-1d2e3f4a5b6c", "name": "ecs-mdmd", "hostname": "ecs-mdmd.novalocal",
   "availability_zone": "cn-north-4a", "project_id": "0a7f1a4b6e2f4a7a9c3b1d2e3f405162",
   "launch_index": 0, "public_keys": {"vm-key": "$OS_KEY"},
   "meta": {"os_type": "Linux"}, "devices": []},
 "network_data.json": {
   "links": [{"id": "tap68a9272d-71", "type": "ovs", "ethernet_mac_address": "52:54:00:12:34:56", "mtu": null, "vif_id": "68a9272d"}],
   "networks": [{"id": "network0", "type": "ipv4_dhcp", "link": "tap68a9272d-71", "network_id": "67dc10ce"}],
   "services": [{"type": "dns", "address": "100.125.1.250"}]}},
 "items": {"instance-id": "i-0000a1b2", "hostname": "ecs-mdmd.novalocal", "local-hostname": "ecs-mdmd.novalocal",
   "local-ipv4": "169.0.0.15", "placement/availability-zone": "cn-north-4a",
   "public-keys/0/openssh-key": "$OS_KEY"}
}
EOT
OSMD_NET0="user,id=n0,restrict=on,net=169.0.0.0/8,host=169.0.0.1,dhcpstart=169.0.0.15,dns=169.0.0.3,guestfwd=tcp:169.254.169.254:80-cmd:/usr/bin/python3 $HERE/metadata-server.py $OSMD_TREE $OSMD_REQUESTS"

# The report, identical in every variant: once boot is done, each agent's
# units, the three times, and what was set (checked on the host before any
# time counts). Its unit wants network-online.target and runs after it and
# after ssh.service.
cat > bench-report <<'EOT'
#!/bin/sh
exec >/dev/ttyS0 2>&1
# Boot is done when no job but this one is left (is-system-running would
# wait for this very unit).
for i in $(seq 1 600); do [ "$(systemctl list-jobs --no-legend | grep -vc bench-report)" = 0 ] && break; sleep 0.5; done
mono() { systemctl show -p "$2" --value "$1"; }
for u in osconf.service osconf-metadata.service osconf-user-data.service cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service; do
  s=$(mono $u ExecMainStartTimestampMonotonic); e=$(mono $u ExecMainExitTimestampMonotonic)
  [ "${s:-0}" -gt 0 ] && echo "BENCH unit $u $(( (e - s) / 1000 )) $(( e / 1000 )) $(mono $u Result)"
done
# ifupdown's networking.service brings up what the image or either agent
# wrote (osconf set it live even before).
echo "BENCH networking_ms $(( $(mono networking.service ActiveEnterTimestampMonotonic) / 1000 ))"
echo "BENCH online_ms $(( $(mono network-online.target ActiveEnterTimestampMonotonic) / 1000 ))"
echo "BENCH ssh_ms $(( $(mono ssh.service ActiveEnterTimestampMonotonic) / 1000 )) $(mono ssh.service Type) $(mono ssh.service ActiveState)"
echo "BENCH ssh_banner $(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22 && head -n1 <&3' 2>/dev/null | tr -d '\r')"
echo "BENCH address $(ip -4 -o addr show dev eth0 | awk '{print $4}' | tr '\n' ' ')"
echo "BENCH route $(ip -4 route show default | head -n1)"
echo "BENCH hostname $(hostname)"
echo "BENCH nameservers $(awk '$1=="nameserver"{print $2}' /etc/resolv.conf | tr '\n' ' ')"
echo "BENCH resolvconf_base $(awk '$1=="nameserver"{print $2}' /etc/resolvconf/resolv.conf.d/base 2>/dev/null | tr '\n' ' ')"
echo "BENCH root_keys $(grep -o 'AAAA[A-Za-z0-9+/=]*' /root/.ssh/authorized_keys 2>/dev/null | tr '\n' ' ')"
echo "BENCH root_password $(awk -F: '$1=="root"{print (substr($2, 1, 1) == "$") ? "set" : "unset"}' /etc/shadow)"
for f in /etc/network/interfaces /etc/network/interfaces.d/*; do
  [ -f "$f" ] && grep -v '^\s*#' "$f" | grep . | sed "s|^|BENCH eni $f: |"
done
[ -f /var/log/cloud-init.log ] && grep -E '\[(WARNING|ERROR|CRITICAL)\]' /var/log/cloud-init.log | cut -c1-200 | sed 's/^/BENCH cloud-init-log /'
echo "BENCH boot_done_ms $(awk '{printf "%d", $1 * 1000}' /proc/uptime)"
echo "BENCH done"
sync; sleep 2; systemctl poweroff --force --force
EOT
bench_image() { # bench_image <source> <none|osconf|cloudinit> <disk>
  local src=$1 var=$2 R=img-bench-$1-$2 p1=bench-p1-empty
  rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "$ROOTFS_TAR"
  printf '/dev/vda2 / ext4 defaults 0 1\n/dev/vda1 /boot auto defaults 0 2\n' > "$R/etc/fstab"
  install -m 755 bench-report "$R/usr/local/sbin/bench-report"
  printf '[Unit]\nWants=network-online.target\nAfter=multi-user.target cloud-final.service network-online.target ssh.service\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/bench-report\n[Install]\nWantedBy=multi-user.target\n' > "$R/etc/systemd/system/bench-report.service"
  ln -sf ../bench-report.service "$R/etc/systemd/system/multi-user.target.wants/bench-report.service"
  rm -f "$R/etc/systemd/system/getty.target.wants/"*
  ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  # Nothing answers DNS in these VMs (no network, or restrict=on: nothing
  # leaves it), where an instance's name server answers at once: names are
  # looked up in /etc/hosts only, so lookups fail at once (cloud-init's
  # is_resolvable looks up three names that must not exist) instead of
  # timing out.
  sed -i 's/^hosts:.*/hosts: files/' "$R/etc/nsswitch.conf"
  case $src in
    drop|os-drive)
      printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces"
      # No agent: the static eth0 the agents set, baked into the image.
      if [ "$var" = none ]; then
        case $src in
          drop) set -- "$1" "$2" "$3" 192.168.50.10/24 192.168.50.1 "192.168.50.2 192.168.50.3" ;;
          os-drive) set -- "$1" "$2" "$3" 192.0.2.10/24 192.0.2.1 192.0.2.53 ;;
        esac
        printf '\nauto eth0\niface eth0 inet static\n    address %s\n    gateway %s\n    dns-nameservers %s\n' "$4" "$5" "$6" >> "$R/etc/network/interfaces"
      fi ;;
    metadata|os-metadata)
      # The image brings eth0 up with DHCP itself, in every variant.
      printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces" ;;
  esac
  [ "$src" = drop ] && p1=bench-p1
  if [ "$src" = metadata ]; then
    # QEMU's DHCP under restrict=on sends neither a router nor name servers,
    # and the /16 of its whole network: the image's DHCP client takes what
    # an instance's DHCP sends instead (the vswitch's /24, its gateway, the
    # cloud's name servers) where the server sends nothing else.
    printf 'supersede subnet-mask 255.255.255.0;\ndefault routers %s;\ndefault domain-name-servers 100.100.2.136, 100.100.2.138;\n' "$MD_GATEWAY" >> "$R/etc/dhcp/dhclient.conf"
  fi
  case $var in
    none) touch "$R/etc/cloud/cloud-init.disabled" ;;
    osconf)
      cp "$DEB" "$R/tmp/osconf.deb" && chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null && rm "$R/tmp/osconf.deb"
      touch "$R/etc/cloud/cloud-init.disabled"
      case $src in metadata|os-metadata)
        ln -sf /lib/systemd/system/osconf-metadata.service "$R/etc/systemd/system/multi-user.target.wants/osconf-metadata.service" ;;
      esac ;;
    cloudinit)
      # One source each (drop: the NoCloud seed, found by ds-identify as
      # in cloudinit.sh); root's key for root, as the clouds' own images
      # set it (Debian's default, disable_root, would make it a "log in as
      # debian" stub).
      case $src in
        metadata) printf 'datasource_list: [ AliYun ]\ndisable_root: false\n' ;;
        os-drive) printf 'datasource_list: [ ConfigDrive ]\ndisable_root: false\n' ;;
        os-metadata) printf 'datasource_list: [ OpenStack ]\ndisable_root: false\n' ;;
        drop) printf 'disable_root: false\n' ;;
      esac > "$R/etc/cloud/cloud.cfg.d/99-bench.cfg" ;;
  esac
  bash "$HERE/mkdisk.sh" "$R" "$p1" ext4 "$3"
  rm -rf "$R"
}
# has <pattern>: the boot's report has that line, or the bench stops (a bench
# of an agent that failed proves nothing); lacks <pattern>: it has not.
has() { grep -q "^BENCH $1" "$log.txt" || { echo "the $src $var boot failed its checks: no 'BENCH $1' in $W/$log.txt"; exit 1; }; }
lacks() { ! grep -q "^BENCH $1" "$log.txt" || { echo "the $src $var boot failed its checks: 'BENCH $1' in $W/$log.txt (nothing may apply it)"; exit 1; }; }
key_of() { awk '{print $2}' "$1"; }
check_boot() { # what this source's agent set; nothing of it in a none boot
  has "done"
  has 'ssh_banner SSH-2.0-'
  has 'ssh_ms [0-9]* notify active'
  local host key=
  case $src in
    drop) host=vpc-host ;;
    metadata) host=md-bench-host key=$(key_of bench-md-key.pub) ;;
    os-drive) host=ecs-ddd4 key=$(key_of bench-os-key.pub) ;;
    os-metadata) host=ecs-mdmd key=$(key_of bench-os-key.pub) ;;
  esac
  if [ "$var" = none ]; then
    lacks "hostname $host\$"
    if [ -n "$key" ]; then lacks "root_keys .*$key"; fi
    # Its eth0 is the image's own (static, or DHCP): the same address.
    case $src in
      drop) has 'address 192.168.50.10/24'; lacks 'root_password set' ;;
      os-drive) has 'address 192.0.2.10/24' ;;
    esac
    return 0
  fi
  has "hostname $host\$"
  if [ -n "$key" ]; then has "root_keys .*$key"; fi
  case $src in
    drop)
      has 'address 192.168.50.10/24'
      has 'route default via 192.168.50.1 '
      has 'nameservers 192.168.50.2 192.168.50.3'
      has 'root_password set' ;;
    metadata)
      has 'address 100.100.1.10/24'
      has 'route default via 100.100.1.253 '
      has 'nameservers 100.100.2.136 100.100.2.138' ;;
    os-drive)
      has 'address 192.0.2.10/24'
      has 'route default via 192.0.2.1 '
      has 'nameservers 192.0.2.53' ;;
    os-metadata)
      has 'address 169.0.0.15/8'
      # osconf applies the DNS service after the image's DHCP brought eth0
      # up: into resolvconf's base file (and its eth0 stanza), which
      # resolv.conf takes at the next regeneration (the next ifup or boot),
      # not live: checked there. Reported for cloud-init.
      if [ "$var" = osconf ]; then has 'resolvconf_base 100.125.1.250'; fi ;;
  esac
  if [ "$var" = osconf ]; then
    case $src in
      drop|os-drive) has 'unit osconf.service .* success$' ;;
      *) has 'unit osconf-metadata.service .* success$' ;;
    esac
  else
    has 'unit cloud-init.service .* success$'
  fi
}
unit_exit() { awk -v u="$1" '$2=="unit" && $3==u {print $5}' "$log.txt"; }
field() { awk -v k="$1" '$2==k {print $3}' "$log.txt"; }
declare -A VALS
add() { VALS["$src $var $1"]+=" $2"; }
median() { # median of the values added for "<source> <variant> <metric>", or —
  local -a v; read -ra v <<< "${VALS["$1"]:-}"
  printf '%s\n' "${v[@]}" | awk 'NF {a[++n]=$1} END {
    if (!n) { print "—"; exit }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    if (m == int(m)) printf "%d\n", m; else printf "%.1f\n", m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "—" || b == "—" || b + 0 == 0) print "—"; else printf "%.2fx", a / b }'; }
row() { # row <label> <metric>
  local n o c
  n=$(median "$src none $2") o=$(median "$src osconf $2") c=$(median "$src cloudinit $2")
  printf '%-44s %10s %10s %10s %11s %16s\n' "$1" "$n" "$o" "$c" "$(ratio "$o" "$n")" "$(ratio "$c" "$o")"
}
declare -A TABLE
for src in $SOURCES; do
  for var in none osconf cloudinit; do
    ts "bench image: $src, $var"
    bench_image "$src" "$var" "disk-bench-$src-$var.orig"
  done
  for run in $(seq 1 "$RUNS"); do
    for var in none osconf cloudinit; do
      EXTRA_DRIVE="" NET0="" EXTRA_QEMU_ARGV=()
      # shellcheck disable=SC2034 # EXTRA_DRIVE, NET0, EXTRA_QEMU_ARGV: read by lib.sh's boot
      case $src in
        drop) EXTRA_DRIVE=$W/bench-seed.iso ;;
        metadata) NET0=$MD_NET0 EXTRA_QEMU_ARGV=(-smbios "type=1,manufacturer=Alibaba Cloud,product=Alibaba Cloud ECS"); : > "$MD_REQUESTS" ;;
        os-drive) EXTRA_DRIVE=$W/bench-od.iso EXTRA_QEMU_ARGV=(-smbios "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova") ;;
        os-metadata) NET0=$OSMD_NET0 EXTRA_QEMU_ARGV=(-smbios "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova"); : > "$OSMD_REQUESTS" ;;
      esac
      log=bench-$src-$var-$run
      cp --sparse=always "disk-bench-$src-$var.orig" "disk-bench-$src-$var.img"
      ts "boot: $src, $var, run $run"
      BOOT_TIMEOUT=900 boot "disk-bench-$src-$var.img" "$log.log" "net.ifnames=0"
      rm -f "disk-bench-$src-$var.img"
      tr -d '\r' < "$log.log" > "$log.txt"
      grep '^BENCH' "$log.txt" | sed "s/^/  [$src $var $run] /"
      case $src in metadata|os-metadata)
        if [ "$src" = metadata ]; then cp "$MD_REQUESTS" "$log.requests"; else cp "$OSMD_REQUESTS" "$log.requests"; fi
        echo "  [$src $var $run] $(wc -l < "$log.requests") requests to the endpoint: $(sort "$log.requests" | uniq -c | sort -rn | awk '{printf "%s×%s %s; ", $1, $2, $3}')" ;;
      esac
      check_boot
      case $var in
        none) add agent 0 ;; # (a): nothing to apply, "—"
        osconf)
          case $src in drop|os-drive) add applied "$(unit_exit osconf.service)" ;; *) add applied "$(unit_exit osconf-metadata.service)" ;; esac ;;
        cloudinit)
          add applied "$(printf '%s\n' "$(unit_exit cloud-init.service)" "$(field networking_ms)" \
            "$([ "$src" = drop ] && unit_exit cloud-config.service)" | sort -n | tail -n1)" ;;
      esac
      [ "$var" = none ] || add agent "$(awk '$1=="BENCH" && $2=="unit" {t += $4} END {print t+0}' "$log.txt")"
      add online "$(field online_ms)"
      add ssh "$(field ssh_ms)"
      add boot_done "$(field boot_done_ms)"
      add wall "$BOOT_SECONDS"
    done
  done
  rm -f "disk-bench-$src-"*.orig
  TABLE[$src]=$(
    printf '%-44s %10s %10s %10s %11s %16s\n' "" none osconf cloud-init osconf/none cloud-init/osconf
    row "(a) settings applied (ms)" applied
    row "(b) network-online.target reached (ms)" online
    row "(c) sshd accepting (ssh.service active, ms)" ssh
    row "agent time on the boot path (ms)" agent
    row "boot until no job is left (ms)" boot_done
    row "wall time of the whole boot (s)" wall
  )
done
echo
echo "Same image, $RUNS run(s) per variant, medians ($ACCEL, emulated CPU: absolute times are slow, ratios are what compare;"
echo "times in ms of the guest's CLOCK_MONOTONIC, from the kernel's start). Target: osconf/none <= 1.02x at (b) and (c)."
for src in $SOURCES; do
  echo
  case $src in
    drop) echo "drop: os.conf on the first partition (osconf.service) / a NoCloud seed with the same settings (cloud-init):" ;;
    metadata) echo "metadata: the Alibaba endpoint, osconf apply --metadata / cloud-init's AliYun source:" ;;
    os-drive) echo "os-drive: an OpenStack config drive, osconf.service / cloud-init's ConfigDrive source:" ;;
    os-metadata) echo "os-metadata: the OpenStack metadata service, osconf-metadata.service / cloud-init's OpenStack source:" ;;
  esac
  echo "${TABLE[$src]}"
done
