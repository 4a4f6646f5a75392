# ElasticHPC bootstrap library: sourced into every rendered script. Runs as root on any
# Debian/Ubuntu machine: a cloud VM (systemd) or a local node (no init system).

ehpc_log() { printf '[ehpc %s] %s\n' "$(hostname)" "$*" >&2; }

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
  [ -z "$want" ] && return 0
  ehpc_log "installing$want"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $want >/dev/null
}

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

# ehpc_environment NAME VALUE: NAME in every login session: SSH logins (pam_env reads
# /etc/environment) and login shells (/etc/profile.d).
ehpc_environment() {
  local file tmp
  for file in /etc/environment /etc/profile.d/ehpc.sh; do
    tmp=$(mktemp "$file.XXXXXX")
    { grep -v "^\(export \)\?$1=" "$file" 2>/dev/null || true
      if [ "$file" = /etc/environment ]; then echo "$1=$2"; else echo "export $1=$2"; fi; } > "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
  done
}
