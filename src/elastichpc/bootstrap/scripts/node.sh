# Cluster membership, on every node: name, hosts, the cluster user, the shared directory, munge.
ehpc_node() {
  # Nodes booted from one shared script (many per cloud launch call) get their name here; tell
  # cloud-init to keep it and our /etc/hosts block at later boots (it rewrites both by default).
  if [ "$(hostname)" != "$EHPC_NODE" ] || [ "$(cat /etc/hostname 2>/dev/null)" != "$EHPC_NODE" ]; then
    hostname "$EHPC_NODE"
    echo "$EHPC_NODE" > /etc/hostname
  fi
  if [ -d /etc/cloud/cloud.cfg.d ]; then
    printf 'preserve_hostname: true\nmanage_etc_hosts: false\n' > /etc/cloud/cloud.cfg.d/99-ehpc.cfg
  fi
  ehpc_hosts_block <<< "$EHPC_HOSTS"
  # The cluster user's home is under EHPC_HOMES, a directory every node shares (the first
  # node to get here makes the home, from /etc/skel).
  install -d -m 0755 "$EHPC_SHARED" "$EHPC_HOMES"
  if ! getent passwd "$EHPC_USER" >/dev/null; then
    getent group "$EHPC_USER" >/dev/null || groupadd -g "$EHPC_UID" "$EHPC_USER"
    local made=-m
    [ ! -d "$EHPC_HOMES/$EHPC_USER" ] || made=-M
    useradd "$made" -d "$EHPC_HOMES/$EHPC_USER" -u "$EHPC_UID" -g "$EHPC_USER" -s /bin/bash "$EHPC_USER"
  fi
  # The guide's owner `ubuntu` runs commands on the head, whatever the scheduler; images
  # other than Ubuntu (and local nodes) lack that user. Its uid is the cluster's own too: local
  # clusters share one kernel, and the next free uid could be another cluster's user.
  if [ "$EHPC_ROLE" = head ] && ! getent passwd ubuntu >/dev/null; then
    useradd -m -s /bin/bash -u "$((EHPC_UID + 20000))" ubuntu
  fi
  # The top of the shared directory is the cluster user's: they make their own directories there.
  chown "$EHPC_USER:$EHPC_USER" "$EHPC_SHARED"
  install -d -m 0775 -o "$EHPC_USER" -g "$EHPC_USER" "$EHPC_SHARED/jobs" "$EHPC_SHARED/.ehpc"
  ehpc_mpi
  ehpc_user_ssh
  ehpc_known_hosts
  ehpc_packages munged:munge
  ehpc_file /etc/munge/munge.key 0400 munge:munge <<< "$EHPC_MUNGE_KEY"
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  ehpc_service munge /run/munge/munged.pid runuser -u munge -- /usr/sbin/munged
}

# Open MPI and mpicc, with PMIx (libopenmpi3 depends on libpmix2, which Slurm's MpiDefault=pmix
# loads), before any daemon starts: a slurmd started without PMIx cannot launch `--mpi=pmix`
# steps until it is restarted. mpicc wraps gcc, which libopenmpi-dev does not pull in.
ehpc_mpi() {
  ehpc_packages mpirun:openmpi-bin mpicc:libopenmpi-dev gcc:gcc
}

# The cluster user's own key pair in its shared home, authorized for itself: SSH from any node
# to any other without a password (mpirun's ssh launcher). Made as the user (a home on NFS may
# squash root), once: the first node to get here makes it, the others find it.
ehpc_user_ssh() {
  local ssh
  ssh=$(getent passwd "$EHPC_USER" | cut -d: -f6)/.ssh
  runuser -u "$EHPC_USER" -- bash -c '
    set -e
    umask 077
    mkdir -p "$1"
    [ -s "$1/id_ed25519.pub" ] && [ -s "$1/id_ed25519" ] ||
      { rm -f "$1/id_ed25519" "$1/id_ed25519.pub"
        ssh-keygen -q -t ed25519 -N "" -C "$(id -un) (cluster user)" -f "$1/id_ed25519"; }
    grep -qxF "$(cat "$1/id_ed25519.pub")" "$1/authorized_keys" 2>/dev/null ||
      cat "$1/id_ed25519.pub" >> "$1/authorized_keys"' ehpc-user-ssh "$ssh"
}

# Every node's host key under its name and address, for every user of this node: rewritten
# whenever the membership changes, so no SSH inside the cluster asks about a host key.
ehpc_known_hosts() {
  ehpc_file /etc/ssh/ssh_known_hosts 0644 root:root <<< "$EHPC_KNOWN_HOSTS"
}
