# Slurm: slurmctld on the head, slurmd on compute nodes; one slurm.conf everywhere.
ehpc_slurm_common() {
  ehpc_file /etc/slurm/slurm.conf 0644 root:root <<< "$EHPC_SLURM_CONF"
  install -d -o slurm -g slurm -m 0755 /var/log/slurm
  [ -n "${EHPC_SLURMDBD_CONF:-}" ] || ehpc_slurm_hide_accounting_commands
}

# Without accounting sacct only answers "accounting storage is disabled", and tools that find it
# (Snakemake's Slurm executor) wait forever for job states it never gives: the accounting
# commands are taken off the node instead (whited out in an overlay of their directory, so the
# packages stay as they are; the local provider's nodes share this machine's /usr).
ehpc_slurm_hide_accounting_commands() {
  local cmd bin dir=/run/ehpc/no-accounting
  bin=$(command -v sacct) || return 0
  install -d -m 0755 "$dir/upper"  # the overlay's root takes this mode
  install -d -m 0700 "$dir/work"
  mount -t overlay ehpc-no-accounting \
    -o "lowerdir=$(dirname "$bin"),upperdir=$dir/upper,workdir=$dir/work" "$(dirname "$bin")"
  for cmd in sacct sacctmgr sreport; do rm -f "$(dirname "$bin")/$cmd"; done
  hash -r
}

ehpc_slurm_head() {
  ehpc_packages slurmctld:slurmctld sbatch:slurm-client
  ehpc_slurm_common
  [ -z "${EHPC_SLURMDBD_CONF:-}" ] || ehpc_slurm_accounting
  install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld
  [ -z "${EHPC_SLURM_POWER:-}" ] || ehpc_slurm_power
  ehpc_service slurmctld /run/slurmctld.pid /usr/sbin/slurmctld
}

# Power saving: Slurm runs these as SlurmUser with a host list; each leaves a request file that
# the head agent (root) picks up within a second and carries out.
ehpc_slurm_power() {
  local action
  install -d -o root -g slurm -m 0770 /var/spool/ehpc-agent
  for action in resume suspend; do
    printf '#!/bin/sh\nf=$(mktemp /var/spool/ehpc-agent/.%s.XXXXXX) && echo "%s $1" > "$f" && mv "$f" "$f.req"\n' \
      "$action" "$action" > "/etc/slurm/ehpc-$action"
    chmod 0755 "/etc/slurm/ehpc-$action"
  done
}

# Accounting (ACCOUNTING = true): MariaDB and slurmdbd on the head, so sacct knows every job.
ehpc_slurm_accounting() {
  local i
  ehpc_packages slurmdbd:slurmdbd mysqld_safe:mariadb-server
  install -d -o mysql -g mysql -m 0755 /run/mysqld /var/log/mysql
  if ehpc_has_systemd; then
    systemctl enable -q mariadb 2>/dev/null || true
    systemctl restart mariadb
  else
    ehpc_stop /run/mysqld/mysqld.pid
    setsid mysqld_safe --skip-syslog </dev/null >/var/log/mysql/mysqld_safe.log 2>&1 &
  fi
  for i in $(seq 100); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.2; done
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED VIA unix_socket;
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  ehpc_file /etc/slurm/slurmdbd.conf 0600 slurm:slurm <<< "$EHPC_SLURMDBD_CONF"
  ehpc_service slurmdbd /run/slurmdbd.pid /usr/sbin/slurmdbd
  for i in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
  local name
  name=$(base64 -d <<< "$EHPC_SLURM_CLUSTER")
  sacctmgr -n -P list cluster format=cluster | grep -qx "$name" \
    || sacctmgr -i add cluster "$name" >/dev/null
  # The cluster user's default account (an association), as sites give every user.
  sacctmgr -n -P list account format=account | grep -qx ehpc \
    || sacctmgr -i add account ehpc Cluster="$name" Description="cluster users" Organization=ehpc >/dev/null
  sacctmgr -n -P list user format=user | grep -qx "$EHPC_USER" \
    || sacctmgr -i add user "$EHPC_USER" Account=ehpc DefaultAccount=ehpc Cluster="$name" >/dev/null
}

ehpc_slurm_compute() {
  # srun too: jobs start steps from their node (mpirun under Slurm, Snakemake's job steps)
  ehpc_packages slurmd:slurmd srun:slurm-client
  ehpc_slurm_common
  ehpc_file /etc/slurm/cgroup.conf 0644 root:root <<< "$EHPC_CGROUP_CONF"
  ehpc_cgroup_fs
  install -d -m 0755 /var/spool/slurmd
  ehpc_service slurmd /run/slurmd.pid /usr/sbin/slurmd
}

# slurmd again (running jobs carry on: their slurmstepd processes are not slurmd's children to
# stop, and systemd's unit stops only slurmd itself, KillMode=process).
ehpc_slurm_restart() {
  ehpc_service slurmd /run/slurmd.pid /usr/sbin/slurmd
}

# Membership changed (resize, replacement): every node gets the new slurm.conf; the head then
# restarts slurmctld (node definitions are read at start; running jobs survive in its saved
# state) and tells every slurmd to read the file again.
ehpc_slurm_refresh() {
  ehpc_slurm_common
}

ehpc_slurm_membership() {
  local i
  ehpc_slurm_common
  [ -z "${EHPC_SLURM_POWER:-}" ] || ehpc_slurm_power
  ehpc_service slurmctld /run/slurmctld.pid /usr/sbin/slurmctld
  for i in $(seq 150); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  scontrol reconfigure
}

# slurmd stops at once ("No filesystem mounted on /sys/fs/cgroup") on a machine where nothing
# mounted the cgroup file system (no systemd as init): mount what the kernel has in use, as
# systemd would. cgroup v2 alone on a cloud image's kernel; where the process sits in v1
# hierarchies too, slurm refuses a lone cgroup2 ("Hybrid mode is not supported"): then the v1
# layout, one directory per hierarchy (a link per controller of a joint one).
ehpc_cgroup_fs() {
  local id controllers path dir one
  findmnt -rn /sys/fs/cgroup >/dev/null && return 0
  if ! grep -qv '^0::' /proc/self/cgroup; then
    mount -t cgroup2 cgroup2 /sys/fs/cgroup || ehpc_fail "$(hostname): cannot mount cgroup2"
    return 0
  fi
  mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
  while IFS=: read -r id controllers path; do
    if [ -z "$controllers" ]; then
      mkdir -p /sys/fs/cgroup/unified
      mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
      continue
    fi
    dir=${controllers#name=}
    mkdir -p "/sys/fs/cgroup/$dir"
    case $controllers in
      name=*) mount -t cgroup -o "none,$controllers" cgroup "/sys/fs/cgroup/$dir" ;;
      *) mount -t cgroup -o "$controllers" cgroup "/sys/fs/cgroup/$dir" ;;
    esac
    for one in ${controllers//,/ }; do
      [ -e "/sys/fs/cgroup/$one" ] || ln -s "$dir" "/sys/fs/cgroup/$one"
    done
  done < /proc/self/cgroup
}
