# sysvinit-core (no systemd), ifupdown; the first partition is not mounted.
image sysv --rootfs sysv --init sysv --p1 ext4 --args "net.ifnames=0"
