#!/usr/bin/env bash
# Side by side in one run, two comparisons, each the same Debian image
# (cloud-init installed) booted once with osconf doing the job (cloud-init
# disabled) and once with cloud-init doing it:
# - drop: osconf from an os.conf drop against cloud-init from a NoCloud seed
#   with the same settings: host name, root password, static eth0 address,
#   default route, name servers;
# - metadata: `osconf apply --metadata` (osconf-metadata.service) against
#   cloud-init's AliYun data source, both reading the same mock Alibaba
#   metadata endpoint (tests/vm/metadata-server.py, reachable only from that
#   VM), QEMU's SMBIOS saying "Alibaba Cloud ECS" (how cloud-init tells the
#   platform): host name, root's SSH key, eth0's address, name servers.
# Reports each agent's time on the boot path (its units' run times, as
# systemd-analyze blame counts them) and the time from boot to the network
# being configured, as ratios. Each boot is checked to have applied the
# settings before its times count. Not a test: run it by hand, as root.
#   bash bench/cloudinit.sh [--only drop|metadata] [osconf.deb]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/tests/vm
MODES="drop metadata" DEB=
while [ $# -gt 0 ]; do
  case $1 in
    --only) MODES=$2; shift 2 ;;
    *) DEB=$1; shift ;;
  esac
done
if [ -z "$DEB" ]; then
  (cd "$REPO" && bash packaging/build.sh >/dev/null)
  DEB=$(ls "$REPO"/target/packages/osconf_*_amd64.deb)
fi
DEB=$(realpath "$DEB")
bash "$REPO/tests/install-deps.sh"
# shellcheck source=../tests/vm/lib.sh
. "$HERE/lib.sh"
# debootstrap does not resolve virtual packages: python3-cffi-backend provides
# the cffi API python3-cryptography (a cloud-init dependency) needs.
# cloud-init's ifupdown files need net-tools (routes are `route add`
# commands) and resolvconf (name servers are `dns-nameservers` lines):
# without them it sets neither.
rootfs cloudinit --include=systemd-sysv,udev,iproute2,ifupdown,kmod,cloud-init,python3-cffi-backend,net-tools,resolvconf

# --- drop: an os.conf on the first partition / a NoCloud seed
PW64=$(printf 'Passw0rd!\n' | base64)
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

# --- metadata: the endpoint's tree. No session token required (the
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

# The report: each agent's units and when the network was up, once boot is
# done, and what was set (checked on the host before any time counts).
cat > bench-report <<'EOT'
#!/bin/sh
exec >/dev/ttyS0 2>&1
# Boot is done when no job but this one is left (is-system-running would
# wait for this very unit).
for i in $(seq 1 600); do [ "$(systemctl list-jobs --no-legend | grep -vc bench-report)" = 0 ] && break; sleep 0.5; done
mono() { systemctl show -p "$2" --value "$1"; }
for u in osconf.service osconf-metadata.service cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service; do
  s=$(mono $u ExecMainStartTimestampMonotonic); e=$(mono $u ExecMainExitTimestampMonotonic)
  [ "${s:-0}" -gt 0 ] && echo "BENCH unit $u $(( (e - s) / 1000 )) $(( e / 1000 )) $(mono $u Result)"
done
# ifupdown's networking.service brings up what the image or either agent
# wrote (osconf set it live even before).
echo "BENCH networking_ms $(( $(mono networking.service ActiveEnterTimestampMonotonic) / 1000 ))"
echo "BENCH address $(ip -4 -o addr show | awk '$2!="lo"{print $4}' | tr '\n' ' ')"
echo "BENCH route $(ip -4 route show default | head -n1)"
echo "BENCH hostname $(hostname)"
echo "BENCH nameservers $(awk '$1=="nameserver"{print $2}' /etc/resolv.conf | tr '\n' ' ')"
echo "BENCH root_keys $(grep -o 'AAAA[A-Za-z0-9+/=]*' /root/.ssh/authorized_keys 2>/dev/null | tr '\n' ' ')"
for f in /etc/network/interfaces /etc/network/interfaces.d/*; do
  [ -f "$f" ] && grep -v '^\s*#' "$f" | grep . | sed "s|^|BENCH eni $f: |"
done
[ -f /var/log/cloud-init.log ] && grep -E '\[(WARNING|ERROR|CRITICAL)\]' /var/log/cloud-init.log | cut -c1-200 | sed 's/^/BENCH cloud-init-log /'
echo "BENCH boot_done_ms $(awk '{printf "%d", $1 * 1000}' /proc/uptime)"
echo "BENCH done"
sync; sleep 2; systemctl poweroff --force --force
EOT
bench_image() { # bench_image <osconf|cloudinit> <drop|metadata>
  local R=img-bench-$1 p1=bench-p1-empty
  rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "$(rootfs_tar cloudinit)"
  printf '/dev/vda2 / ext4 defaults 0 1\n/dev/vda1 /boot auto defaults 0 2\n' > "$R/etc/fstab"
  install -m 755 bench-report "$R/usr/local/sbin/bench-report"
  printf '[Unit]\nAfter=multi-user.target cloud-final.service\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/bench-report\n[Install]\nWantedBy=multi-user.target\n' > "$R/etc/systemd/system/bench-report.service"
  ln -sf ../bench-report.service "$R/etc/systemd/system/multi-user.target.wants/bench-report.service"
  rm -f "$R/etc/systemd/system/getty.target.wants/"*
  ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  if [ "$2" = drop ]; then
    printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces"
  else
    # The image brings eth0 up with DHCP itself, for both agents.
    printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces"
    # Only the AliYun source; root's key for root, as Alibaba's own images
    # set it (Debian's default, disable_root, would make it a "log in as
    # debian" stub).
    printf 'datasource_list: [ AliYun ]\ndisable_root: false\n' > "$R/etc/cloud/cloud.cfg.d/99-bench-aliyun.cfg"
    # Nothing answers DNS in this VM (restrict=on: nothing leaves it), where
    # an instance's name server answers at once: names are looked up in
    # /etc/hosts only, so lookups fail at once (cloud-init's is_resolvable
    # looks up three names that must not exist) instead of timing out.
    sed -i 's/^hosts:.*/hosts: files/' "$R/etc/nsswitch.conf"
    # QEMU's DHCP under restrict=on sends neither a router nor name servers,
    # and the /16 of its whole network: the image's DHCP client takes what
    # an instance's DHCP sends instead (the vswitch's /24, its gateway, the
    # cloud's name servers) where the server sends nothing else.
    printf 'supersede subnet-mask 255.255.255.0;\ndefault routers %s;\ndefault domain-name-servers 100.100.2.136, 100.100.2.138;\n' "$MD_GATEWAY" >> "$R/etc/dhcp/dhclient.conf"
  fi
  if [ "$1" = osconf ]; then
    cp "$DEB" "$R/tmp/osconf.deb" && chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null && rm "$R/tmp/osconf.deb"
    touch "$R/etc/cloud/cloud-init.disabled"
    if [ "$2" = drop ]; then
      p1=bench-p1
    else
      ln -sf /lib/systemd/system/osconf-metadata.service "$R/etc/systemd/system/multi-user.target.wants/osconf-metadata.service"
    fi
  fi
  bash "$HERE/mkdisk.sh" "$R" "$p1" ext4 "disk-bench-$1.img"
  rm -rf "$R"
}
# has <pattern>: the boot's report has that line, or the bench stops (a bench
# of an agent that failed proves nothing).
has() { grep -q "^BENCH $1" "$log.txt" || { echo "the $mode $agent boot failed: no 'BENCH $1' in $W/$log.txt"; exit 1; }; }
ratio() { awk -v a="$2" -v b="$1" 'BEGIN{printf "%.1fx", a/b}'; }
row() { printf '%-48s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
declare -A NET AGENT BOOT DONE APPLIED TABLE
for mode in $MODES; do
  for agent in osconf cloudinit; do
    ts "bench image: $mode, $agent"
    bench_image $agent $mode
    EXTRA_DRIVE= NET0= EXTRA_QEMU_ARGV=()
    if [ $mode = drop ]; then
      [ $agent = cloudinit ] && EXTRA_DRIVE=$W/bench-seed.iso
    else
      NET0=$MD_NET0 EXTRA_QEMU_ARGV=(-smbios "type=1,manufacturer=Alibaba Cloud,product=Alibaba Cloud ECS")
      : > "$MD_REQUESTS"
    fi
    log=bench-$mode-$agent
    BOOT_TIMEOUT=900 boot "disk-bench-$agent.img" "$log.log" "net.ifnames=0"
    tr -d '\r' < "$log.log" > "$log.txt"
    grep '^BENCH' "$log.txt" | sed "s/^/  [$mode $agent] /"
    has done
    if [ $mode = drop ]; then
      has 'address 192.168.50.10/24'
      has 'route default via 192.168.50.1 '
      has 'hostname vpc-host$'
      has 'nameservers 192.168.50.2 192.168.50.3'
    else
      cp "$MD_REQUESTS" "$log.requests"
      echo "  [$mode $agent] $(wc -l < "$log.requests") requests to the endpoint: $(sort "$log.requests" | uniq -c | sort -rn | head -n 3 | awk '{printf "%s×%s %s; ", $1, $2, $3}')..."
      has 'address 100.100.1.10/24'
      has 'route default via 100.100.1.253 '
      has 'hostname md-bench-host$'
      has "root_keys .*$(awk '{print $2}' bench-md-key.pub)"
      has 'nameservers 100.100.2.136 100.100.2.138'
      if [ $agent = osconf ]; then has 'unit osconf-metadata.service .* success$'; else has 'unit cloud-init.service .* success$'; fi
    fi
    AGENT[$agent]=$(awk '$1=="BENCH" && $2=="unit" {t += $4} END {print t+0}' "$log.txt")
    # When the agent had applied the settings (eth0's among them).
    APPLIED[$agent]=$(awk -v u="$([ $agent = osconf ] && echo osconf-metadata.service || echo cloud-init.service)" '$2=="unit" && $3==u {print $5}' "$log.txt")
    NET[$agent]=$(awk '$2=="networking_ms" {print $3}' "$log.txt")
    DONE[$agent]=$(awk '$2=="boot_done_ms" {print $3}' "$log.txt")
    BOOT[$agent]=$BOOT_SECONDS
    rm -f "disk-bench-$agent.img"
  done
  TABLE[$mode]=$(
    printf '%-48s %12s %12s %8s\n' "" "osconf" "cloud-init" "ratio"
    row "agent time on the boot path (ms)" "${AGENT[osconf]}" "${AGENT[cloudinit]}"
    [ $mode = metadata ] && row "boot to the metadata's settings applied (ms)" "${APPLIED[osconf]}" "${APPLIED[cloudinit]}"
    row "boot to networking.service up (ms)" "${NET[osconf]}" "${NET[cloudinit]}"
    row "boot until no job is left (ms)" "${DONE[osconf]}" "${DONE[cloudinit]}"
    row "wall time of the whole boot (s)" "${BOOT[osconf]}" "${BOOT[cloudinit]}"
  )
done
echo
echo "Same image, one run ($ACCEL, emulated CPU: absolute times are slow, ratios are what compare)."
for mode in $MODES; do
  case $mode in
    drop) echo "os.conf drop against a NoCloud seed, the same settings:" ;;
    metadata) echo "the metadata endpoint: osconf apply --metadata against cloud-init's AliYun source:" ;;
  esac
  echo "${TABLE[$mode]}"
done
