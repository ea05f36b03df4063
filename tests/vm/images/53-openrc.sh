# Debian with OpenRC and ifupdown: Debian's openrc package in place of
# sysv-rc on the shared sysv root file system (debootstrap always resolves
# sysvinit-core's "sysv-rc | file-rc | openrc" to sysv-rc). The .deb's
# postinst (update-rc.d) adds its SysV script to sysinit, where Debian's
# networking script is; Debian's OpenRC runs it as an LSB script and orders
# it by its header, before networking. Without --deb the OpenRC script
# itself is installed (install_osconf).
fetch_openrc_debs() { # into the cache, once
  [ -f "$CACHE/debs-openrc/done" ] && return 0
  rm -rf "$CACHE/debs-openrc" && mkdir -p "$CACHE/debs-openrc"
  (cd "$CACHE/debs-openrc" && apt-get download -qq openrc libeinfo1 librc1 2>/dev/null) && touch "$CACHE/debs-openrc/done"
}
prepare_openrc() {
  local R=$1
  with_cache_lock debs-openrc fetch_openrc_debs
  cp "$CACHE"/debs-openrc/*.deb "$R/tmp/"
  chroot "$R" dpkg --purge --force-depends sysv-rc >/dev/null
  # shellcheck disable=SC2046
  chroot "$R" dpkg -i $(cd "$R/tmp" && ls ./*.deb | sed 's|^\./|/tmp/|') >/dev/null 2>&1
  rm -f "$R"/tmp/*.deb
  [ -e "$R/etc/runlevels/sysinit/networking" ] || { echo "openrc: networking is not in sysinit" >&2; return 1; }
}
image openrc --rootfs sysv --init openrc --p1 ext4 --args "net.ifnames=0" --scenarios "vpc reboot classic reboot changed reboot"
