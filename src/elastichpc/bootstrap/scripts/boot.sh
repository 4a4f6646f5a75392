# First boot (user-data, custom data, startup script, or the local provider's boot step), and on
# GCE every boot after it: each step is idempotent. The host name (when the script is this node's
# own, not one shared by a launch of many), the login user and the cluster's login key, the SSH
# host key, and sshd. Cloud nodes make their own host key and print its public half on the
# console, where the CLI reads it through the cloud's API: no private key travels in user-data.
ehpc_boot() {
  if [ -n "$EHPC_NODE" ]; then
    hostname "$EHPC_NODE"
    echo "$EHPC_NODE" > /etc/hostname
  fi
  # rsync: both ends of `ehpc cp`
  ehpc_packages sshd:openssh-server ssh-keygen:openssh-client rsync:rsync
  ehpc_login_user
  ehpc_host_key
  mkdir -p /etc/ssh/sshd_config.d
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' \
    > /etc/ssh/sshd_config.d/ehpc.conf
  mkdir -p -m 0755 /run/sshd
  ehpc_service ssh /run/sshd.pid /usr/sbin/sshd
}

# The user the CLI logs in as, with the cluster's key. An image without it (a Debian AMI has
# `admin`, not `ubuntu`; GCE with OS Login has none) gets it made, with sudo, and a line saying so.
ehpc_login_user() {
  local user=$EHPC_LOGIN_USER home
  if ! getent passwd "$user" >/dev/null; then
    useradd -m -U -s /bin/bash "$user" ||
      ehpc_fail "$(hostname): the login user $user is missing and could not be made"
    ehpc_log "the image has no user $user: made it"
  fi
  if [ "$user" != root ]; then  # the CLI runs its steps through sudo
    ehpc_packages sudo:sudo
    printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" > /etc/sudoers.d/90-ehpc-login
    chmod 0440 /etc/sudoers.d/90-ehpc-login
  fi
  home=$(getent passwd "$user" | cut -d: -f6)
  install -d -m 0700 -o "$user" "$home/.ssh"
  touch "$home/.ssh/authorized_keys"
  grep -qxF "$EHPC_CLUSTER_PUBKEY" "$home/.ssh/authorized_keys" \
    || echo "$EHPC_CLUSTER_PUBKEY" >> "$home/.ssh/authorized_keys"
  chown "$user" "$home/.ssh/authorized_keys"
  chmod 600 "$home/.ssh/authorized_keys"
}

# The host key: the one the CLI gave (local nodes, where no metadata service exists), else the
# one the image made at this instance's first boot (cloud-init and the guest agents make one per
# instance; sshd already serves it, so what the head scans never changes), else a new one.
ehpc_host_key() {
  local key=/etc/ssh/ssh_host_ed25519_key
  if [ -n "${EHPC_HOST_KEY:-}" ]; then
    ehpc_file "$key" 0600 root:root <<< "$EHPC_HOST_KEY"
    ehpc_file "$key.pub" 0644 root:root <<< "$EHPC_HOST_KEY_PUB"
    return 0
  fi
  if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$(hostname)" -f "$key"
  fi
  ehpc_console "ehpc-host-key $(cut -d' ' -f1,2 "$key.pub")"
}
