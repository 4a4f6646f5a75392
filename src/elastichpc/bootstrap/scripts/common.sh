# ElasticHPC bootstrap library: sourced into every rendered script. Runs as root on any
# Debian/Ubuntu machine: a cloud VM (systemd) or a local node (no init system).

ehpc_log() { printf '[ehpc %s] %s\n' "$(hostname)" "$*" >&2; }

# ehpc_console LINE: to standard output (cloud-init and the guest agents copy it to the serial
# console) and to the console itself where we may write it.
ehpc_console() {
  printf '%s\n' "$*"
  { [ -w /dev/console ] && printf '%s\r\n' "$*" > /dev/console; } 2>/dev/null || true
}

# ehpc_file PATH MODE OWNER: write stdin (base64) to PATH atomically.
ehpc_file() {
  local path=$1 mode=$2 owner=$3 tmp
  [ -d "$(dirname "$path")" ] || install -d -m 0755 "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  base64 -d > "$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  mv -f "$tmp" "$path"
}

# ehpc_packages CMD:PKG ...: install the packages whose command is missing (cloud images). CMD
# may also be the absolute path of a file the package ships (a library).
ehpc_packages() {
  local want="" pair
  for pair in "$@"; do
    case ${pair%%:*} in
      /*) [ -e "${pair%%:*}" ] ;;
      *) command -v "${pair%%:*}" >/dev/null 2>&1 ;;
    esac || want="$want ${pair#*:}"
  done
  # shellcheck disable=SC2086
  ehpc_install $want
}

# ehpc_install PKG...: apt-get install (after an update) of these packages, or one line saying
# which could not be installed.
ehpc_install() {
  [ $# = 0 ] && return 0
  ehpc_log "installing $*"
  ehpc_wait_cloud_init
  ehpc_apt update -q && ehpc_apt install -y -q --no-install-recommends "$@" ||
    ehpc_fail "$(hostname): could not install $* (see the lines above)"
}

# ehpc_wait_cloud_init: on a cloud image's first boot cloud-init (and unattended-upgrades after
# it) may still be installing packages when we arrive over SSH. Not from the boot script itself:
# cloud-init runs it, and would wait for itself.
ehpc_wait_cloud_init() {
  [ -z "${EHPC_IN_BOOT:-}" ] && command -v cloud-init >/dev/null 2>&1 || return 0
  timeout "${EHPC_APT_WAIT:-900}" cloud-init status --wait >/dev/null 2>&1 || true
}

# ehpc_apt ARGS...: apt-get that waits for another holder of dpkg's lock (unattended-upgrades at
# first boot) instead of failing at once, and retries a failed mirror a few times.
ehpc_apt() {
  local try out
  for try in 1 2 3 4; do
    if out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="${EHPC_APT_WAIT:-900}" \
               -o Acquire::Retries=3 "$@" 2>&1); then
      return 0
    fi
    ehpc_log "apt-get $1 failed (attempt $try): $(tail -n 1 <<< "$out")"
    [ "$try" = 4 ] || sleep $((try * 5))
  done
  printf '%s\n' "$out" | tail -n 5 >&2
  return 1
}

# ehpc_fail MSG: one line a user (or the CLI) reads, and a non-zero exit.
ehpc_fail() { printf 'ehpc-error: %s\n' "$*" >&2; exit 3; }

ehpc_has_systemd() { [ -d /run/systemd/system ]; }

# ehpc_stop PIDFILE: stop the daemon whose pid is in PIDFILE and wait until it has gone.
ehpc_stop() {
  local pid i
  [ -f "$1" ] || return 0
  pid=$(cat "$1" 2>/dev/null) || return 0
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# ehpc_service UNIT PIDFILE CMD...: (re)start a daemon with systemd if the machine has it,
# else by running CMD (which daemonizes and writes PIDFILE).
ehpc_service() {
  local unit=$1 pidfile=$2
  shift 2
  if ehpc_has_systemd; then
    systemctl enable -q "$unit" 2>/dev/null || true
    systemctl restart "$unit"
  else
    ehpc_stop "$pidfile"
    "$@"
  fi
}

# ehpc_hosts_block: replace our block in /etc/hosts with stdin (base64).
ehpc_hosts_block() {
  local block tmp
  block=$(base64 -d)
  tmp=$(mktemp /etc/hosts.XXXXXX)
  sed '/^# BEGIN ehpc$/,/^# END ehpc$/d' /etc/hosts > "$tmp"
  printf '# BEGIN ehpc\n%s\n# END ehpc\n' "$block" >> "$tmp"
  chmod 644 "$tmp"
  # /etc/hosts may be a bind mount (containers): write through it rather than replace it.
  cat "$tmp" > /etc/hosts
  rm -f "$tmp"
}

# ehpc_environment NAME VALUE: NAME in every session and shell of every user, login or not:
# pam_env reads /etc/environment (SSH sessions, sudo, cron), login shells /etc/profile.d, and
# /etc/bash.bashrc reads the same file first for the bash that sshd starts for a command (a
# session's PAM environment is made when it logs in: one over a kept SSH connection opened
# before the variable was set lacks it) and for interactive shells. Jobs get their submitter's
# (Slurm) or start a login shell (Grid Engine).
ehpc_environment() {
  local file tmp line='[ -r /etc/profile.d/ehpc.sh ] && . /etc/profile.d/ehpc.sh  # ElasticHPC'
  for file in /etc/environment /etc/profile.d/ehpc.sh; do
    tmp=$(mktemp "$file.XXXXXX")
    { grep -v "^\(export \)\?$1=" "$file" 2>/dev/null || true
      if [ "$file" = /etc/environment ]; then echo "$1=$2"; else echo "export $1=$2"; fi; } > "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
  done
  grep -qxF "$line" /etc/bash.bashrc 2>/dev/null && return 0
  tmp=$(mktemp /etc/bash.bashrc.XXXXXX)
  { echo "$line"; cat /etc/bash.bashrc 2>/dev/null || true; } > "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" /etc/bash.bashrc
}
