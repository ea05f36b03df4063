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

# OpenStack config drives (a folder of tests/fixtures/openstack/) on each stack's plain image.
for st in ifupdown rhel-ifcfg suse-ifcfg networkd networkmanager netplan; do
  for c in multi-nic=osconf/multi-nic kubevirt=afterburn/kubevirt-config-drive huawei=otc bond-vlan=cloud-init/bond; do
    G=tests/golden/$st/openstack-${c%=*}; rm -rf $G; mkdir -p $G; base $G/image; stack_markers $G/image $st
    echo ${c#*=} > $G/openstack-drive
  done
done

# Images that already define the drop's NICs their own way (classic drop: eth0
# 00:8c:fa:5e:14:23 and eth1 00:8c:fa:5e:14:24): the image's definitions must
# not win, and a NIC not in the drop (ens9/eth9) keeps the image's own.
conflict() { G=tests/golden/$1/$2; rm -rf $G; mkdir -p $G; base $G/image; stack_markers $G/image $1; cp examples/classic.conf $G/os.conf; }
nics() { for pair in "$@"; do mkdir -p $G/image/sys/class/net/${pair%=*}; echo ${pair#*=} > $G/image/sys/class/net/${pair%=*}/address; done; }
conflict netplan conflict-cloud-init
nics ens3=00:8c:fa:5e:14:23 ens4=00:8c:fa:5e:14:24
cat > $G/image/etc/netplan/50-cloud-init.yaml <<'YAML'
# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.  To disable cloud-init's
# network configuration capabilities, write a file
# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:
# network: {config: disabled}
network:
    ethernets:
        ens3:
            dhcp4: true
            match:
                macaddress: 00:8c:fa:5e:14:23
            set-name: ens3
    version: 2
YAML
conflict netplan conflict-installer
nics ens3=00:8c:fa:5e:14:23 ens4=00:8c:fa:5e:14:24 ens9=52:54:00:00:09:01
cat > $G/image/etc/netplan/00-installer-config.yaml <<'YAML'
# This is the network config written by 'subiquity'
network:
  ethernets:
    ens3:
      addresses:
      - 192.168.9.9/24
      gateway4: 192.168.9.1
      nameservers:
        addresses:
        - 192.168.9.1
        search: []
    ens4:
      dhcp4: true
    ens9:
      dhcp4: true
  version: 2
YAML
conflict ifupdown conflict-auto-lo
printf 'auto lo eth0\niface lo inet loopback\n\niface eth0 inet dhcp\n\nallow-hotplug eth1 eth9\niface eth1 inet dhcp\niface eth9 inet dhcp\n' > $G/image/etc/network/interfaces
conflict rhel-ifcfg conflict
S=$G/image/etc/sysconfig/network-scripts
printf 'DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=yes\n' > $S/ifcfg-eth0
printf 'DEVICE=eth0\nBOOTPROTO=dhcp\n' > $S/ifcfg-eth0.bak
printf '192.168.0.0/16 via 10.171.254.9 dev eth0\n' > $S/route-eth0
printf 'NAME="Wired connection 2"\nHWADDR=00:8C:FA:5E:14:24\nDEVICE=ens4\nBOOTPROTO=dhcp\nONBOOT=yes\n' > $S/ifcfg-Wired_connection_2
printf '10.99.0.0/16 via 42.120.74.9 dev ens4\n' > $S/route-ens4
printf 'DEVICE=eth9\nBOOTPROTO=dhcp\nONBOOT=yes\n' > $S/ifcfg-eth9
conflict networkmanager conflict
printf '[main]\nplugins=keyfile,ifcfg-rh\nno-auto-default=mac:52:54:00:00:09:01\n' > $G/image/etc/NetworkManager/NetworkManager.conf
printf '[connection]\nid=Wired connection 1\nuuid=9a1f4e1c-1111-4c1e-8d1a-000000000001\ntype=ethernet\n\n[ethernet]\nmac-address=00:8C:FA:5E:14:23\n\n[ipv4]\nmethod=auto\n' > "$G/image/etc/NetworkManager/system-connections/Wired connection 1.nmconnection"
printf '[connection]\nid=office\nuuid=9a1f4e1c-1111-4c1e-8d1a-000000000009\ntype=ethernet\ninterface-name=eth9\n\n[ipv4]\nmethod=auto\n' > $G/image/etc/NetworkManager/system-connections/office.nmconnection
chmod 600 $G/image/etc/NetworkManager/system-connections/*
mkdir -p $G/image/etc/sysconfig/network-scripts
printf 'TYPE=Ethernet\nBOOTPROTO=dhcp\nNAME="System eth1"\nDEVICE=eth1\nONBOOT=yes\n' > $G/image/etc/sysconfig/network-scripts/ifcfg-eth1
conflict networkd conflict
N=$G/image/etc/systemd/network; mkdir -p $N
printf '[Match]\nMACAddress=00:8c:fa:5e:14:23\n\n[Network]\nDHCP=yes\n' > $N/05-ens3.network
printf '[Match]\nName=eth1\n\n[Network]\nDHCP=yes\n' > $N/10-eth1.network
printf '[Match]\nName=eth9\n\n[Network]\nDHCP=yes\n' > $N/20-eth9.network
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' > $N/99-dhcp.network
