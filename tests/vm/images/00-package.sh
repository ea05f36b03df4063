# The .deb itself: installing enables osconf, removing disables it and
# leaves the system's network files alone, purging takes the boot links
# away (in a chroot, no boot needed). As Debian policy has it, the SysV
# script is a conffile: it and its rc links stay until purge, and it does
# nothing once the binary is gone.
package_check() {
  [ -n "$DEB" ] || return 0
  local R=pkg-root ok=yes base
  for base in systemd sysv; do
    rm -rf "$R" && mkdir -p "$R" && tar -C "$R" -xf "$(rootfs_tar $base)"
    echo "auto eth0" > "$R/etc/network/interfaces.d/image-own"
    cp "$DEB" "$R/tmp/osconf.deb"
    chroot "$R" dpkg -i /tmp/osconf.deb >/dev/null 2>&1 || ok=no
    if [ "$base" = systemd ]; then
      [ -L "$R/etc/systemd/system/multi-user.target.wants/osconf.service" ] || { echo "    FAIL: $base: not enabled after install"; ok=no; }
    else
      ls "$R"/etc/rcS.d/S*osconf >/dev/null 2>&1 || { echo "    FAIL: $base: no rcS.d link after install"; ok=no; }
    fi
    chroot "$R" osconf --version >/dev/null || ok=no
    chroot "$R" dpkg -r osconf >/dev/null 2>&1 || ok=no
    [ ! -e "$R/etc/systemd/system/multi-user.target.wants/osconf.service" ] || { echo "    FAIL: $base: still enabled after remove"; ok=no; }
    chroot "$R" /etc/init.d/osconf start >/dev/null 2>&1 || { echo "    FAIL: $base: the SysV script fails after remove"; ok=no; }
    [ ! -e "$R/var/log/osconf.log" ] || { echo "    FAIL: $base: the SysV script ran osconf after remove"; ok=no; }
    chroot "$R" dpkg -P osconf >/dev/null 2>&1 || ok=no
    [ ! -L "$R/etc/systemd/system/multi-user.target.wants/osconf.service" ] || { echo "    FAIL: $base: wants link left after purge"; ok=no; }
    ! ls "$R"/etc/rc?.d/*osconf >/dev/null 2>&1 || { echo "    FAIL: $base: rc links left after purge"; ok=no; }
    [ -f "$R/etc/network/interfaces.d/image-own" ] || { echo "    FAIL: $base: network files touched"; ok=no; }
    rm -rf "$R"
  done
  local line; line=$(printf '%-10s %-22s %-5s' package "install/remove/purge" "$ok")
  RESULTS+=("$line"); echo "$line"
  if [ "$ok" = yes ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
}
if [ -z "$ONLY" ] || [[ " $ONLY " == *" package "* ]]; then package_check; fi
