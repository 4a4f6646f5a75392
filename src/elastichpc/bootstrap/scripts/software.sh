# [SOFTWARE] PACKAGES: Debian packages on every node (at create, on every node joining later,
# and on every node of a running cluster with `ehpc cluster install`).
ehpc_software() {
  local want=() pkg
  for pkg in $EHPC_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      want+=("$pkg")
  done
  ehpc_install "${want[@]}"
  ehpc_containers
}

# Rootless podman for the cluster user, on a node that has podman (`--packages podman`).
# Subordinate ids: 65536 from uid * 65536, so the users of two clusters sharing a machine
# (local nodes, each cluster its own uid) never share an id inside their containers
# (useradd gives every first user 100000). Containers stay in the job's cgroup (the
# scheduler's limits and accounting hold: cgroups disabled) and on the node's network (as
# MPI wants, no slirp4netns). Image storage is the node's own disk: overlay on the shared
# NFS or GlusterFS home does not work (rootless chown to subordinate ids), and a node is a
# cache of images (load them from the shared directory, see examples/containers/).
ehpc_containers() {
  command -v podman >/dev/null 2>&1 && getent passwd "$EHPC_USER" >/dev/null || return 0
  ehpc_packages newuidmap:uidmap newgidmap:uidmap
  local file tmp start
  start=$(($(id -u "$EHPC_USER") * 65536))
  for file in /etc/subuid /etc/subgid; do
    grep -qxF "$EHPC_USER:$start:65536" "$file" 2>/dev/null && continue
    tmp=$(mktemp "$file.XXXXXX")
    { grep -v "^$EHPC_USER:" "$file" 2>/dev/null || true; echo "$EHPC_USER:$start:65536"; } > "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
  done
  # crun refuses a hybrid cgroup hierarchy whose v2 part has controllers; runc runs there, with
  # cgroups "enabled" that rootless on cgroup v1 cannot make (the container stays in the job's).
  local runtime=crun cgroups=disabled
  if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
    ehpc_packages runc:runc
    runtime=runc cgroups=enabled
  fi
  install -d -m 0755 /etc/containers/containers.conf.d
  cat > /etc/containers/containers.conf.d/ehpc.conf <<CONF
# ElasticHPC: containers run inside the job (its cgroup, the node's network).
[containers]
cgroups = "$cgroups"
netns = "host"

[engine]
runtime = "$runtime"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  [ -e /etc/containers/storage.conf ] && ! grep -q '^# ElasticHPC' /etc/containers/storage.conf ||
    cat > /etc/containers/storage.conf <<'CONF'
# ElasticHPC: every user's images on this node's own disk, not in the shared home.
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
rootless_storage_path = "/var/tmp/ehpc-containers/$USER"
CONF
  install -d -m 0755 /var/tmp/ehpc-containers
  install -d -m 0700 -o "$EHPC_USER" -g "$(id -g "$EHPC_USER")" "/var/tmp/ehpc-containers/$EHPC_USER"
  # systemd-tmpfiles ages /var/tmp: never a store there.
  if [ -d /etc/tmpfiles.d ]; then
    echo 'x /var/tmp/ehpc-containers' > /etc/tmpfiles.d/ehpc-containers.conf
  fi
}
