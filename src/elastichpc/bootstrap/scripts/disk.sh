# Base of the storage steps (fail in one line, fstab entries), and the data disk step for any
# provider: given a block device on this node, format it if asked (never one that holds a file
# system unless forced), mount it, persist the mount in /etc/fstab by UUID (marked with the disk
# id so detach finds it again), and report size and usage.


# The root of a shared mount is writable by the cluster's jobs (they run as the cluster user),
# like /tmp: sticky, so each removes only its own files. /home keeps its mode: users have their
# own directories there.
ehpc_share_root() { [ "$1" = /home ] || chmod 1777 "$1"; }

# ehpc_wait_device "DEV [ALIAS...]": cloud attachments appear a little after the API call
# returns, and maybe under another name than the one asked for (the provider lists the names it
# may take). Sets EHPC_DISK_DEVICE to the first that is a block device.
ehpc_wait_device() {
  local i dev
  for i in $(seq 120); do
    for dev in $1; do
      [ -b "$dev" ] && { EHPC_DISK_DEVICE=$dev; return 0; }
    done
    sleep 0.5
  done
  ehpc_fail "$(hostname): no block device appeared (looked for: $1)"
}

# Our fstab entries follow a marker line `# MARKER`, so a rerun replaces and detach removes them.
# (awk compares whole strings: a disk id may hold `/`, as Azure's do).
ehpc_fstab_drop() {
  local kept
  kept=$(awk -v m="# $1" 'skip { skip = 0; next } $0 == m { skip = 1; next } { print }' /etc/fstab)
  printf '%s\n' "$kept" > /etc/fstab
}

ehpc_fstab_target() {  # MARKER: the mount point of the entry after it
  awk -v m="# $1" 'found { print $2; exit } $0 == m { found = 1 }' /etc/fstab
}

ehpc_fstab_entry() {  # MARKER LINE
  ehpc_fstab_drop "$1"
  printf '# %s\n%s\n' "$1" "$2" >> /etc/fstab
}

ehpc_disk_report() {  # one line: the facts the CLI shows
  local size used avail
  read -r size used avail < <(df -B1 --output=size,used,avail "$EHPC_DISK_MOUNT" | tail -n 1)
  printf 'ehpc-disk %s %s %s %s %s %s\n' "$EHPC_DISK_MOUNT" "$1" "$2" "$size" "$used" "$avail"
}

ehpc_disk_mount() {
  local dev fstype signature uuid
  ehpc_wait_device "$EHPC_DISK_DEVICES"
  dev=$(readlink -f "$EHPC_DISK_DEVICE")
  signature=$(blkid -p -o value -s TYPE "$dev" 2>/dev/null || true)
  [ -n "$signature" ] || signature=$(blkid -p -o value -s PTTYPE "$dev" 2>/dev/null || true)
  # Already mounted there: a rerun of an attach that got that far (nothing to format).
  if [ "$EHPC_DISK_FORMAT" = yes ] && ! findmnt -rn -S "$dev" -M "$EHPC_DISK_MOUNT" >/dev/null; then
    if [ -n "$signature" ] && [ "$EHPC_DISK_FORCE" != yes ]; then
      ehpc_fail "disk $EHPC_DISK_ID already holds a file system ($signature): not formatting it" \
        "(attach with --no-format to mount it as it is, or --force to erase it)"
    fi
    if findmnt -rn -S "$dev" >/dev/null; then
      ehpc_fail "disk $EHPC_DISK_ID is mounted on $(hostname): not formatting it"
    fi
    [ "$EHPC_DISK_FS" = xfs ] && ehpc_packages mkfs.xfs:xfsprogs
    wipefs -q -a "$dev"
    case "$EHPC_DISK_FS" in
      xfs) mkfs.xfs -q -f "$dev" ;;
      *) mkfs.ext4 -q -F "$dev" ;;
    esac
  elif [ -z "$signature" ]; then
    ehpc_fail "disk $EHPC_DISK_ID holds no file system: attach it with --format"
  fi
  fstype=$(blkid -p -o value -s TYPE "$dev")
  uuid=$(blkid -p -o value -s UUID "$dev")
  install -d -m 0755 "$EHPC_DISK_MOUNT"
  if ! findmnt -rn -S "$dev" -M "$EHPC_DISK_MOUNT" >/dev/null; then
    mount -t "$fstype" "$dev" "$EHPC_DISK_MOUNT"
  fi
  # a new file system's root for the jobs; one that holds data keeps its owner and mode
  [ "$EHPC_DISK_FORMAT" != yes ] || ehpc_share_root "$EHPC_DISK_MOUNT"
  ehpc_fstab_entry "ehpc-disk $EHPC_DISK_ID" "UUID=$uuid $EHPC_DISK_MOUNT $fstype defaults,nofail 0 2"
  ehpc_disk_report "$fstype" "$uuid"
}

ehpc_disk_unmount() {
  local target
  target=$(ehpc_fstab_target "ehpc-disk $EHPC_DISK_ID")
  if [ -z "$target" ] && [ -n "$EHPC_DISK_DEVICE" ] && [ -b "$EHPC_DISK_DEVICE" ]; then
    target=$(findmnt -rn -S "$(readlink -f "$EHPC_DISK_DEVICE")" -o TARGET | head -n 1)
  fi
  if [ -n "$target" ] && mountpoint -q "$target"; then
    umount "$target" 2>/dev/null || {
      [ "$EHPC_DISK_FORCE" = yes ] || ehpc_fail "$target on $(hostname) is busy:" \
        "stop what uses it, or detach with --force"
      umount -l "$target"
    }
  fi
  ehpc_fstab_drop "ehpc-disk $EHPC_DISK_ID"
  sync
}
