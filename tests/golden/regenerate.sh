#!/usr/bin/env bash
# Rebuilds the per-stack golden cases (inputs, and the classic-to-vpc images
# by applying the classic drop first), then: OSCONF_BLESS=1 cargo test --test
# golden_apply, and review every changed expected/ file before committing.
set -e
cd "$(dirname "$0")/../.."
cargo build -q; BIN=$PWD/target/x86_64-unknown-linux-gnu/debug/osconf
base() { d=$1; mkdir -p $d/etc $d/boot/aliyun_custom_image; printf 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' > $d/etc/shadow; chmod 640 $d/etc/shadow; printf '127.0.0.1\tlocalhost\n' > $d/etc/hosts; echo image > $d/etc/hostname; printf 'nameserver 192.0.2.53\n' > $d/etc/resolv.conf; }
stack_markers() { d=$1; case $2 in
  ifupdown) mkdir -p $d/sbin $d/etc/network/interfaces.d; touch $d/sbin/ifup; printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n' > $d/etc/network/interfaces ;;
  rhel-ifcfg) mkdir -p $d/etc/sysconfig/network-scripts; printf 'DEVICE=lo\nIPADDR=127.0.0.1\nNETMASK=255.0.0.0\nONBOOT=yes\n' > $d/etc/sysconfig/network-scripts/ifcfg-lo; printf 'NETWORKING=yes\n' > $d/etc/sysconfig/network ;;
  suse-ifcfg) mkdir -p $d/etc/sysconfig/network; printf 'NETCONFIG_DNS_POLICY="auto"\n' > $d/etc/sysconfig/network/config ;;
  networkd) mkdir -p $d/etc/systemd/system/multi-user.target.wants; ln -s /lib/systemd/system/systemd-networkd.service $d/etc/systemd/system/multi-user.target.wants/systemd-networkd.service ;;
  networkmanager) mkdir -p $d/etc/systemd/system/multi-user.target.wants $d/etc/NetworkManager/system-connections; ln -s /lib/systemd/system/NetworkManager.service $d/etc/systemd/system/multi-user.target.wants/NetworkManager.service; printf '[main]\nplugins=keyfile\n' > $d/etc/NetworkManager/NetworkManager.conf ;;
  netplan) mkdir -p $d/usr/sbin $d/etc/netplan; touch $d/usr/sbin/netplan; printf 'network:\n  version: 2\n  renderer: networkd\n' > $d/etc/netplan/01-image.yaml ;;
esac; }
VPC='hostname=vpc-host
password=cXdIcjEyMzQK
eth0_ip_addr=172.16.1.10
eth0_mac_addr=00:16:3e:00:00:01
eth0_netmask=255.255.240.0
eth0_gateway=172.16.15.253
eth0_route="0.0.0.0/0 172.16.15.253"
dns_nameserver="100.100.2.136 100.100.2.138"'
CLASSIC=$(cat examples/classic.conf)
MANY="hostname=many-nics
dns_nameserver=\"10.0.0.2\""
for n in 0 1 2 3; do MANY+="
eth${n}_ip_addr=10.$n.0.10
eth${n}_mac_addr=52:54:00:00:0$n:01
eth${n}_netmask=255.255.0.0
eth${n}_gateway=10.$n.0.1
eth${n}_route=\"172.$((16+n)).0.0/16 10.$n.0.1;192.168.$n.0/24 10.$n.0.1\""; done
for st in ifupdown rhel-ifcfg suse-ifcfg networkd networkmanager netplan; do
  G=tests/golden/$st; rm -rf $G; mkdir -p $G
  for c in vpc classic many; do
    mkdir -p $G/$c; base $G/$c/image; stack_markers $G/$c/image $st
    case $c in vpc) echo "$VPC" ;; classic) echo "$CLASSIC" ;; many) echo "$MANY" ;; esac > $G/$c/os.conf
  done
  # change: classic applied before (image = result of that apply), then the VPC drop with eth0's new address.
  mkdir -p $G/classic-to-vpc; cp -a $G/classic/image $G/classic-to-vpc/image
  cp $G/classic/os.conf $G/classic-to-vpc/image/boot/aliyun_custom_image/os.conf
  $BIN apply --root $G/classic-to-vpc/image --no-live >/dev/null 2>&1
  rm -f $G/classic-to-vpc/image/run/osconf.lock; rmdir $G/classic-to-vpc/image/run
  sed -i 's/"applied_at": [0-9]*/"applied_at": 1790000000/' $G/classic-to-vpc/image/var/lib/osconf/record.json
  sed -e 's/^hostname=.*/hostname=moved-to-vpc/' -e '/^eth1_/d' -e 's/^eth0_route=.*/eth0_route="0.0.0.0\/0 10.171.254.1"/' -e 's/10.171.254.123/10.171.254.124/' $G/classic/os.conf > $G/classic-to-vpc/os.conf
done
