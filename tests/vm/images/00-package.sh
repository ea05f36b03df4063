# The .deb itself: installing enables osconf, removing disables it and
# leaves the system's network files alone (in a chroot, no boot needed).
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
    ! ls "$R"/etc/rc?.d/*osconf >/dev/null 2>&1 || { echo "    FAIL: $base: rc links left after remove"; ok=no; }
    [ -f "$R/etc/network/interfaces.d/image-own" ] || { echo "    FAIL: $base: network files touched"; ok=no; }
    rm -rf "$R"
  done
  local line; line=$(printf '%-10s %-22s %-5s' package "install/remove (.deb)" "$ok")
  RESULTS+=("$line"); echo "$line"
  if [ "$ok" = yes ]; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); fi
}
if [ -z "$ONLY" ] || [[ " $ONLY " == *" package "* ]]; then package_check; fi
