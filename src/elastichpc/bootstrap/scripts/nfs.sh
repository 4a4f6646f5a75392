# NFS, on any provider: the head exports a directory to the compute nodes, which mount it.
# The kernel NFS server where the kernel has nfsd (cloud images), nfs-ganesha (user space)
# where it does not. A client whose kernel cannot mount NFS proves the export over the NFS
# protocol with libnfs, then bind-mounts EHPC_NFS_HOSTDIR, the same directory as the provider
# shares it (the local provider's host directory); without one it fails in one line.

ehpc_kernel_has() { grep -qw "$1" /proc/filesystems || modprobe -q "$1" 2>/dev/null; }

ehpc_same_dir() { [ -d "$1" ] && [ -d "$2" ] && [ "$(stat -c %d:%i "$1")" = "$(stat -c %d:%i "$2")" ]; }

ehpc_nfs_server() {
  install -d -m 0755 "$EHPC_NFS_EXPORT"
  if [ -n "$EHPC_NFS_HOSTDIR" ] && ! ehpc_same_dir "$EHPC_NFS_HOSTDIR" "$EHPC_NFS_EXPORT"; then
    install -d -m 0755 "$EHPC_NFS_HOSTDIR"
    [ -n "$(ls -A "$EHPC_NFS_HOSTDIR")" ] || cp -a "$EHPC_NFS_EXPORT/." "$EHPC_NFS_HOSTDIR/"
    mount --bind "$EHPC_NFS_HOSTDIR" "$EHPC_NFS_EXPORT"
    ehpc_fstab_entry "ehpc-nfs-export $EHPC_NFS_FSID" \
      "$EHPC_NFS_HOSTDIR $EHPC_NFS_EXPORT none bind 0 0"
  fi
  ehpc_share_root "$EHPC_NFS_EXPORT"
  if ehpc_kernel_has nfsd; then
    ehpc_nfs_kernel_server
  else
    ehpc_nfs_ganesha
  fi
  printf 'ehpc-nfs-server %s\n' "$EHPC_NFS_SERVER_KIND"
}

ehpc_nfs_kernel_server() {
  local options="rw,sync,no_subtree_check,no_root_squash,fsid=$EHPC_NFS_FSID" line client
  EHPC_NFS_SERVER_KIND=kernel
  ehpc_packages exportfs:nfs-kernel-server
  line=$EHPC_NFS_EXPORT
  for client in $EHPC_NFS_CLIENTS; do line="$line $client($options)"; done
  install -d /etc/exports.d
  printf '%s\n' "$line" > "/etc/exports.d/ehpc-$EHPC_NFS_FSID.exports"
  if ehpc_has_systemd; then
    systemctl enable -q --now nfs-server 2>/dev/null || systemctl restart nfs-kernel-server
  fi
  exportfs -ra
}

ehpc_nfs_ganesha() {
  local conf=/etc/ganesha/ganesha.conf clients i
  EHPC_NFS_SERVER_KIND=nfs-ganesha
  ehpc_packages "ganesha.nfsd:nfs-ganesha nfs-ganesha-vfs" rpcbind:rpcbind
  clients=$(tr ' ' ',' <<< "$EHPC_NFS_CLIENTS")
  install -d /etc/ganesha/ehpc.d /var/log/ganesha /run/rpcbind
  # One file per export (by FSID); Pseudo = Path so v3 and v4 clients use the same path.
  cat > "/etc/ganesha/ehpc.d/$EHPC_NFS_FSID.conf" <<EOF
EXPORT {
    Export_Id = $((EHPC_NFS_FSID + 1));
    Path = "$EHPC_NFS_EXPORT";
    Pseudo = "$EHPC_NFS_EXPORT";
    Filesystem_Id = $EHPC_NFS_FSID.$EHPC_NFS_FSID;
    Protocols = 3, 4;
    Transports = TCP;
    Access_Type = None;
    Squash = No_Root_Squash;
    SecType = sys;
    CLIENT { Clients = $clients; Access_Type = RW; }
    FSAL { Name = VFS; }
}
EOF
  {
    printf 'NFS_CORE_PARAM { Protocols = 3, 4; Enable_NLM = false; Enable_RQUOTA = false; }\n'
    printf 'NFSV4 { Graceless = true; }\n'  # no 90 s grace period before the first write
    printf 'LOG { Default_Log_Level = EVENT; }\n'
    cat /etc/ganesha/ehpc.d/*.conf
  } > "$conf"
  rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || /usr/sbin/rpcbind -w
  ehpc_service nfs-ganesha /run/ganesha.pid /usr/bin/ganesha.nfsd -f "$conf" \
    -L /var/log/ganesha/ganesha.log -p /run/ganesha.pid -N NIV_EVENT
  for i in $(seq 100); do rpcinfo -t 127.0.0.1 nfs 3 >/dev/null 2>&1 && return 0; sleep 0.2; done
  ehpc_fail "nfs-ganesha did not start on $(hostname) (see /var/log/ganesha/ganesha.log)"
}

ehpc_nfs_client() {
  local source="$EHPC_NFS_SERVER:$EHPC_NFS_EXPORT"
  install -d -m 0755 "$EHPC_NFS_MOUNT"
  findmnt -rn -t nfs,nfs4 -M "$EHPC_NFS_MOUNT" >/dev/null && return 0
  if ehpc_kernel_has nfs; then
    ehpc_packages mount.nfs:nfs-common
    # NFSv3 by path: with FSID 0 a kernel server makes the export NFSv4's root, not its path.
    mount -t nfs -o nfsvers=3 "$source" "$EHPC_NFS_MOUNT"
    ehpc_fstab_entry "ehpc-nfs $EHPC_NFS_MOUNT" "$source $EHPC_NFS_MOUNT nfs nfsvers=3,_netdev 0 0"
    return 0
  fi
  [ -n "$EHPC_NFS_HOSTDIR" ] || ehpc_fail "$(hostname): this kernel cannot mount NFS ($source)"
  ehpc_nfs_prove
  ehpc_same_dir "$EHPC_NFS_HOSTDIR" "$EHPC_NFS_MOUNT" ||
    mount --bind "$EHPC_NFS_HOSTDIR" "$EHPC_NFS_MOUNT"
  ehpc_fstab_entry "ehpc-nfs $EHPC_NFS_MOUNT" "$EHPC_NFS_HOSTDIR $EHPC_NFS_MOUNT none bind 0 0"
  printf 'ehpc-note %s: no kernel NFS client: proved %s over NFS (libnfs), bind-mounted the same directory at %s\n' \
    "$(hostname)" "$source" "$EHPC_NFS_MOUNT"
}

# Write a random token over NFS, read it back over NFS, and find it in the fallback directory.
ehpc_nfs_prove() {
  local probe token tmp url i
  ehpc_packages nfs-cp:libnfs-utils
  probe=".ehpc-nfs-probe-$(hostname)"
  url="nfs://$EHPC_NFS_SERVER$EHPC_NFS_EXPORT/$probe"
  token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
  tmp=$(mktemp)
  printf '%s\n' "$token" > "$tmp"
  for i in $(seq 50); do nfs-cp "$tmp" "$url" >/dev/null 2>&1 && break; sleep 0.2; done
  rm -f "$tmp"
  [ "$(nfs-cat "$url" 2>/dev/null)" = "$token" ] ||
    ehpc_fail "$(hostname): could not write and read back $url over NFS"
  [ "$(cat "$EHPC_NFS_HOSTDIR/$probe" 2>/dev/null)" = "$token" ] ||
    ehpc_fail "$(hostname): the NFS export is not the directory $EHPC_NFS_HOSTDIR"
  rm -f "$EHPC_NFS_HOSTDIR/$probe"
}
