# GlusterFS, on any provider: glusterd + a brick on each server node, one volume made from the
# first server, the FUSE client mount on every node. Peers and bricks are named by private
# address, so nothing depends on /etc/hosts having been written yet.

ehpc_gluster_cli() { gluster --mode=script "$@"; }

ehpc_gluster_server() {
  local i
  ehpc_packages glusterd:glusterfs-server
  # glusterd resolves peer addresses to names; without them in /etc/hosts each lookup waits
  # for DNS to time out. (The configure step later writes the same block.)
  ehpc_hosts_block <<< "$EHPC_HOSTS"
  install -d /var/lib/glusterd /var/log/glusterfs /run/gluster
  if [ ! -f /var/lib/glusterd/.ehpc ]; then
    # A machine made from an image (or a local node, whose /var/lib starts as the host's) may
    # carry someone else's glusterd UUID; peers with equal UUIDs cannot join each other.
    rm -f /var/lib/glusterd/glusterd.info
    touch /var/lib/glusterd/.ehpc
  fi
  if ! ehpc_gluster_cli pool list >/dev/null 2>&1; then
    ehpc_service glusterd /run/glusterd.pid /usr/sbin/glusterd -p /run/glusterd.pid
  fi
  for i in $(seq 100); do ehpc_gluster_cli pool list >/dev/null 2>&1 && break; sleep 0.2; done
  ehpc_gluster_cli pool list >/dev/null || ehpc_fail "glusterd does not answer on $(hostname)"
  install -d "$EHPC_GLUSTER_BRICK"
}

ehpc_gluster_volume() {
  local peer i connected want
  for peer in $EHPC_GLUSTER_PEERS; do
    ehpc_gluster_cli peer probe "$peer" >/dev/null
  done
  want=$(wc -w <<< "$EHPC_GLUSTER_PEERS")
  for i in $(seq 150); do
    connected=$(ehpc_gluster_cli pool list | grep -c -w Connected || true)
    [ "$connected" -gt "$want" ] && break  # the peers plus localhost
    sleep 0.2
  done
  [ "$connected" -gt "$want" ] || ehpc_fail "GlusterFS peers did not all connect ($connected/$((want + 1)))"
  if ! ehpc_gluster_cli volume info "$EHPC_GLUSTER_VOLUME" >/dev/null 2>&1; then
    # shellcheck disable=SC2086  # layout words and bricks are lists
    ehpc_gluster_cli volume create "$EHPC_GLUSTER_VOLUME" $EHPC_GLUSTER_LAYOUT \
      $EHPC_GLUSTER_BRICKS force >/dev/null
  fi
  if ! ehpc_gluster_cli volume info "$EHPC_GLUSTER_VOLUME" | grep -q '^Status: Started'; then
    ehpc_gluster_cli volume start "$EHPC_GLUSTER_VOLUME" >/dev/null
  fi
  ehpc_gluster_cli volume info "$EHPC_GLUSTER_VOLUME" | sed -n 's/^Type: /ehpc-gluster-type /p'
}

ehpc_gluster_client() {
  local source="$EHPC_GLUSTER_SERVER:/$EHPC_GLUSTER_VOLUME" options=defaults i
  ehpc_packages mount.glusterfs:glusterfs-client
  # the volume file can come from any server, so a mount survives the first one being down
  [ -z "$EHPC_GLUSTER_BACKUPS" ] || options="$options,backup-volfile-servers=$EHPC_GLUSTER_BACKUPS"
  install -d "$EHPC_GLUSTER_MOUNT"
  if ! findmnt -rn -t fuse.glusterfs -M "$EHPC_GLUSTER_MOUNT" >/dev/null; then
    mount -t glusterfs -o "$options" "$source" "$EHPC_GLUSTER_MOUNT"
  fi
  for i in $(seq 50); do stat -f "$EHPC_GLUSTER_MOUNT" >/dev/null 2>&1 && break; sleep 0.2; done
  ehpc_share_root "$EHPC_GLUSTER_MOUNT"
  ehpc_fstab_entry "ehpc-gluster $EHPC_GLUSTER_VOLUME" \
    "$source $EHPC_GLUSTER_MOUNT glusterfs $options,_netdev 0 0"
  if [ -n "$EHPC_GLUSTER_SHARED" ]; then  # the cluster's work directory lives on the volume
    install -d -m 0755 "$EHPC_GLUSTER_SHARED"
    if ! findmnt -rn -t fuse.glusterfs -M "$EHPC_GLUSTER_SHARED" >/dev/null; then
      mount --bind "$EHPC_GLUSTER_MOUNT" "$EHPC_GLUSTER_SHARED"
    fi
    ehpc_fstab_entry "ehpc-shared" "$EHPC_GLUSTER_MOUNT $EHPC_GLUSTER_SHARED none bind,_netdev 0 0"
  fi
  ehpc_log "GlusterFS $EHPC_GLUSTER_VOLUME mounted at $EHPC_GLUSTER_MOUNT"
}
