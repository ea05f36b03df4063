#!/usr/bin/env bash
# Side by side in one run: the same Debian image (cloud-init installed)
# booted once with osconf doing the job (cloud-init disabled) and once with
# cloud-init doing it from a NoCloud seed with the same settings: host
# name, root password, static eth0 address, default route, name servers.
# Reports each agent's time on the boot path (its units' run times, as
# systemd-analyze blame counts them) and the time from boot to the network
# being configured, as ratios. Not a test: run it by hand, as root.
#   bash bench/cloudinit.sh [osconf.deb]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HERE=$REPO/tests/vm
DEB=${1:-}
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
rootfs cloudinit --include=systemd-sysv,udev,iproute2,ifupdown,kmod,cloud-init,python3-cffi-backend

PW64=$(printf 'Passw0rd!\n' | base64)
mkdir -p bench-p1/aliyun_custom_image bench-seed
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

# The report: each agent's units and when the network was up, once boot is done.
cat > bench-report <<'EOT'
#!/bin/sh
exec >/dev/ttyS0 2>&1
# Boot is done when no job but this one is left (is-system-running would
# wait for this very unit).
for i in $(seq 1 600); do [ "$(systemctl list-jobs --no-legend | grep -vc bench-report)" = 0 ] && break; sleep 0.5; done
mono() { systemctl show -p "$2" --value "$1"; }
for u in osconf.service cloud-init-local.service cloud-init.service cloud-config.service cloud-final.service; do
  s=$(mono $u ExecMainStartTimestampMonotonic); e=$(mono $u ExecMainExitTimestampMonotonic)
  [ "${s:-0}" -gt 0 ] && echo "BENCH unit $u $(( (e - s) / 1000 ))"
done
# The network is configured for good when ifupdown's networking.service is
# up (it brings up what either agent wrote; osconf set it live even before).
echo "BENCH networking_ms $(( $(mono networking.service ActiveEnterTimestampMonotonic) / 1000 ))"
echo "BENCH address $(ip -4 -o addr show | awk '$2!="lo"{print $4}' | tr '\n' ' ')"
echo "BENCH hostname $(hostname)"
echo "BENCH boot_done_ms $(awk '{printf "%d", $1 * 1000}' /proc/uptime)"
echo "BENCH done"
sync; sleep 2; systemctl poweroff --force --force
EOT
bench_image() { # bench_image <osconf|cloudinit>
  local R=img-bench-$1
  rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "$(rootfs_tar cloudinit)"
  printf '/dev/vda2 / ext4 defaults 0 1\n/dev/vda1 /boot auto defaults 0 2\n' > "$R/etc/fstab"
  printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > "$R/etc/network/interfaces"
  install -m 755 bench-report "$R/usr/local/sbin/bench-report"
  printf '[Unit]\nAfter=multi-user.target cloud-final.service\n[Service]\nType=oneshot\nExecStart=/usr/local/sbin/bench-report\n[Install]\nWantedBy=multi-user.target\n' > "$R/etc/systemd/system/bench-report.service"
  ln -sf ../bench-report.service "$R/etc/systemd/system/multi-user.target.wants/bench-report.service"
  rm -f "$R/etc/systemd/system/getty.target.wants/"*
  ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  if [ "$1" = osconf ]; then
    cp "$DEB" "$R/tmp/osconf.deb" && chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null && rm "$R/tmp/osconf.deb"
    touch "$R/etc/cloud/cloud-init.disabled"
    bash "$HERE/mkdisk.sh" "$R" bench-p1 ext4 "disk-bench-$1.img"
  else
    mkdir -p bench-p1-empty/aliyun_custom_image
    bash "$HERE/mkdisk.sh" "$R" bench-p1-empty ext4 "disk-bench-$1.img"
  fi
  rm -rf "$R"
}
declare -A NET AGENT BOOT DONE
for agent in osconf cloudinit; do
  ts "bench image: $agent"
  bench_image $agent
  EXTRA_DRIVE=; [ $agent = cloudinit ] && EXTRA_DRIVE=$W/bench-seed.iso
  BOOT_TIMEOUT=900 boot "disk-bench-$agent.img" "bench-$agent.log" "net.ifnames=0"
  tr -d '\r' < "bench-$agent.log" > "bench-$agent.txt"
  grep '^BENCH' "bench-$agent.txt" | sed "s/^/  [$agent] /"
  grep -q '^BENCH done' "bench-$agent.txt" || { echo "the $agent boot did not report"; exit 1; }
  grep -q 'BENCH address 192.168.50.10/24' "bench-$agent.txt" || { echo "$agent did not configure eth0"; exit 1; }
  AGENT[$agent]=$(awk '$1=="BENCH" && $2=="unit" {t += $4} END {print t+0}' "bench-$agent.txt")
  NET[$agent]=$(awk '$2=="networking_ms" {print $3}' "bench-$agent.txt")
  DONE[$agent]=$(awk '$2=="boot_done_ms" {print $3}' "bench-$agent.txt")
  BOOT[$agent]=$BOOT_SECONDS
  rm -f "disk-bench-$agent.img"
done
echo
echo "Same image, same settings, one run ($ACCEL, emulated CPU: absolute times are slow, ratios are what compare):"
printf '%-36s %12s %12s %8s\n' "" "osconf" "cloud-init" "ratio"
printf '%-36s %12s %12s %7.1fx\n' "agent time on the boot path (ms)" "${AGENT[osconf]}" "${AGENT[cloudinit]}" "$(awk -v a="${AGENT[cloudinit]}" -v b="${AGENT[osconf]}" 'BEGIN{print a/b}')"
printf '%-36s %12s %12s %7.1fx\n' "boot to networking.service up (ms)" "${NET[osconf]}" "${NET[cloudinit]}" "$(awk -v a="${NET[cloudinit]}" -v b="${NET[osconf]}" 'BEGIN{print a/b}')"
printf '%-36s %12s %12s %7.1fx\n' "boot until no job is left (ms)" "${DONE[osconf]}" "${DONE[cloudinit]}" "$(awk -v a="${DONE[cloudinit]}" -v b="${DONE[osconf]}" 'BEGIN{print a/b}')"
printf '%-36s %12s %12s %7.1fx\n' "wall time of the whole boot (s)" "${BOOT[osconf]}" "${BOOT[cloudinit]}" "$(awk -v a="${BOOT[cloudinit]}" -v b="${BOOT[osconf]}" 'BEGIN{print a/b}')"
