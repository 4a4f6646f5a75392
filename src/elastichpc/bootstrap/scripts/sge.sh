# Son of Grid Engine: sge_qmaster on the head (fresh spool), sge_execd on compute nodes.
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
EHPC_SGE_SPOOL=/var/spool/gridengine

# Every node finds the qmaster through act_qmaster (Debian's postinst leaves it empty).
ehpc_sge_common() {
  local drmaa
  drmaa=$(base64 -d <<< "$EHPC_DRMAA_LIBRARY")
  ehpc_packages "$drmaa:gridengine-drmaa1.0"
  # What DRMAA clients (python drmaa, Snakemake's drmaa executor) need in a login session: the
  # library, the cell, and room in the static TLS block for the jemalloc that the library pulls
  # in when it is loaded late (dlopen), as Python loads it.
  ehpc_environment SGE_ROOT "$SGE_ROOT"
  ehpc_environment SGE_CELL "$SGE_CELL"
  ehpc_environment DRMAA_LIBRARY_PATH "$drmaa"
  ehpc_environment GLIBC_TUNABLES glibc.rtld.optional_static_tls=4096
  install -d -o sgeadmin -g sgeadmin -m 0755 "$EHPC_SGE_SPOOL"
  base64 -d <<< "$EHPC_SGE_MASTER" > "$SGE_ROOT/$SGE_CELL/common/act_qmaster"
  echo >> "$SGE_ROOT/$SGE_CELL/common/act_qmaster"
}

ehpc_sge_stop() {  # UNIT PIDFILE
  if ehpc_has_systemd; then systemctl stop "$1" 2>/dev/null || true; else ehpc_stop "$2"; fi
}

# A fresh BerkeleyDB spool whose global configuration accepts every uid (root included),
# reports load every few seconds and writes the accounting file (qacct) at once.
ehpc_sge_spool() {
  local conf
  rm -rf "$EHPC_SGE_SPOOL/qmaster" "$EHPC_SGE_SPOOL/spooldb"
  install -d -o sgeadmin -g sgeadmin -m 0755 "$EHPC_SGE_SPOOL/qmaster" \
    "$EHPC_SGE_SPOOL/qmaster/job_scripts" "$EHPC_SGE_SPOOL/spooldb"
  conf=$(mktemp /tmp/ehpc-sge-global.XXXXXX)
  sed -e 's/^min_uid .*/min_uid                0/' \
      -e 's/^min_gid .*/min_gid                0/' \
      -e 's/^load_report_time .*/load_report_time       00:00:05/' \
      -e 's/^reporting_params .*/reporting_params       accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00/' \
      /usr/share/gridengine/default-configuration > "$conf"
  chmod 644 "$conf"
  runuser -u sgeadmin -- sh -e -c '
    /usr/lib/gridengine/spoolinit berkeleydb libspoolb "$1/spooldb" init
    /usr/lib/gridengine/spooldefaults configuration "$2"
    /usr/lib/gridengine/spooldefaults complexes /usr/share/gridengine/util/resources/centry
    /usr/lib/gridengine/spooldefaults usersets /usr/share/gridengine/util/resources/usersets
    /usr/lib/gridengine/spooldefaults managers sgeadmin root' sge-spool "$EHPC_SGE_SPOOL" "$conf" >/dev/null
  rm -f "$conf"
}

# ehpc_sge_add FLAG VARIABLE: qconf -A<x> with a file rendered by bootstrap/sge.py.
ehpc_sge_add() {
  local file
  file=$(mktemp /tmp/ehpc-sge-conf.XXXXXX)
  base64 -d <<< "$2" > "$file"
  qconf "$1" "$file" >/dev/null
  rm -f "$file"
}

ehpc_sge_head() {
  local i sconf execs
  ehpc_packages sge_qmaster:gridengine-master qsub:gridengine-client
  ehpc_sge_common
  ehpc_sge_stop gridengine-master "$EHPC_SGE_SPOOL/qmaster/qmaster.pid"
  ehpc_sge_spool
  ehpc_service gridengine-master "$EHPC_SGE_SPOOL/qmaster/qmaster.pid" /usr/sbin/sge_qmaster
  for i in $(seq 100); do qconf -sh >/dev/null 2>&1 && break; sleep 0.2; done
  execs=$(base64 -d <<< "$EHPC_SGE_EXECS")
  [ -z "$execs" ] || qconf -ah "$execs" >/dev/null  # none yet: an autoscaled cluster
  qconf -as "$(hostname)" >/dev/null
  ehpc_sge_add -Ahgrp "$EHPC_SGE_HOSTGROUP"
  ehpc_sge_add -Ap "$EHPC_SGE_PE"
  ehpc_sge_add -Aq "$EHPC_SGE_QUEUE"
  # Schedule every second instead of every 15 s.
  sconf=$(mktemp /tmp/ehpc-sge-sched.XXXXXX)
  qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
    -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' \
    > "$sconf"
  qconf -Msconf "$sconf" >/dev/null
  rm -f "$sconf"
  ehpc_sge_gid_ranges
}

# Grid Engine finds (and kills) a job's processes by an extra group id from gid_range. Local
# nodes share one kernel, so every execd gets its own range: a finished job on one node must not
# take another node's job with it.
ehpc_sge_gid_ranges() {
  local host first=20000
  for host in $(base64 -d <<< "$EHPC_SGE_EXECS" | tr ',' ' '); do
    ehpc_sge_gid_range "$host" "$first"
    first=$((first + 1000))
  done
}

ehpc_sge_compute() {
  ehpc_packages sge_execd:gridengine-exec
  ehpc_sge_common
  install -d -o sgeadmin -g sgeadmin -m 0755 "$EHPC_SGE_SPOOL/execd"
  ehpc_service gridengine-exec "$EHPC_SGE_SPOOL/execd/$(hostname)/execd.pid" /usr/sbin/sge_execd
}

# Membership changed (resize, replacement), on the head: forget removed exec hosts, register
# added ones (admin host, own gid range, host group, slots) before their execd starts.
ehpc_sge_membership() {
  local host pair cpus
  for host in $(base64 -d <<< "$EHPC_REMOVED" | tr ',' ' '); do
    qconf -dattr hostgroup hostlist "$host" @allhosts >/dev/null 2>&1 || true
    qconf -purge queue slots "all.q@$host" >/dev/null 2>&1 || true
    qconf -ke "$host" >/dev/null 2>&1 || true
    qconf -de "$host" >/dev/null 2>&1 || true
    qconf -dconf "$host" >/dev/null 2>&1 || true
    qconf -dh "$host" >/dev/null 2>&1 || true
  done
  for pair in $(base64 -d <<< "$EHPC_ADDED" | tr ',' ' '); do
    host=${pair%%:*}
    cpus=${pair#*:}
    qconf -ah "$host" >/dev/null 2>&1 || true
    qconf -sconf "$host" >/dev/null 2>&1 || ehpc_sge_gid_range "$host" "$(ehpc_sge_next_gid)"
    qconf -shgrp @allhosts | grep -qw "$host" \
      || qconf -aattr hostgroup hostlist "$host" @allhosts >/dev/null
    qconf -aattr queue slots "[$host=$cpus]" all.q >/dev/null 2>&1 \
      || qconf -mattr queue slots "$cpus" "all.q@$host" >/dev/null
  done
}

ehpc_sge_refresh() { :; }

ehpc_sge_gid_range() {  # HOST FIRST
  local file
  file=$(mktemp -d /tmp/ehpc-sge-host.XXXXXX)
  printf 'gid_range %d-%d\n' "$2" $(($2 + 999)) > "$file/$1"
  qconf -Aconf "$file/$1" >/dev/null
  rm -rf "$file"
}

ehpc_sge_next_gid() {  # one past the highest gid range any exec host has
  local host first max=19000
  for host in $(qconf -sconfl 2>/dev/null); do
    first=$(qconf -sconf "$host" | awk '/^gid_range/ {split($2, r, "-"); print r[1]}')
    [ -n "$first" ] && [ "$first" -gt "$max" ] && max=$first
  done
  echo $((max + 1000))
}
