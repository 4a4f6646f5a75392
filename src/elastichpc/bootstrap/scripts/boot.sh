# First boot (user-data, custom data, startup script, or the local provider's boot step):
# host name, the SSH host key the CLI already trusts, the cluster's login key, and sshd.
ehpc_boot() {
  hostname "$EHPC_NODE"
  echo "$EHPC_NODE" > /etc/hostname
  ehpc_file /etc/ssh/ssh_host_ed25519_key 0600 root:root <<< "$EHPC_HOST_KEY"
  ehpc_file /etc/ssh/ssh_host_ed25519_key.pub 0644 root:root <<< "$EHPC_HOST_KEY_PUB"
  mkdir -p /etc/ssh/sshd_config.d
  printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' \
    > /etc/ssh/sshd_config.d/ehpc.conf
  local home
  home=$(getent passwd "$EHPC_LOGIN_USER" | cut -d: -f6)
  install -d -m 0700 -o "$EHPC_LOGIN_USER" "$home/.ssh"
  touch "$home/.ssh/authorized_keys"
  grep -qxF "$EHPC_CLUSTER_PUBKEY" "$home/.ssh/authorized_keys" \
    || echo "$EHPC_CLUSTER_PUBKEY" >> "$home/.ssh/authorized_keys"
  chown "$EHPC_LOGIN_USER" "$home/.ssh/authorized_keys"
  chmod 600 "$home/.ssh/authorized_keys"
  ehpc_packages sshd:openssh-server
  mkdir -p -m 0755 /run/sshd
  ehpc_service ssh /run/sshd.pid /usr/sbin/sshd
}
