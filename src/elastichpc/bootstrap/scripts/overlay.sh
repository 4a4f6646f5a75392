# The cluster's WireGuard overlay on one node: wg-quick with the kernel's WireGuard, or with
# wireguard-go where the kernel has none (wg-quick falls back to it by itself). The node's
# configuration, private key included, comes inside this script (standard input over SSH) and
# is kept in a 0600 file, or the node makes its key (EHPC_WG_OWN_KEY); a rerun with new peers
# applies them in place.
ehpc_overlay() {
  local conf=/etc/wireguard/ehpc-wg.conf
  ehpc_packages wg:wireguard-tools wg-quick:wireguard-tools
  [ -d /sys/module/wireguard ] || ehpc_packages wireguard-go:wireguard-go
  install -d -m 0700 /etc/wireguard
  local encoded=$EHPC_WG_CONF key=/etc/wireguard/ehpc-wg.key
  if [ "$EHPC_WG_OWN_KEY" = 1 ]; then
    # A node joining a running cluster from user-data makes its own key; only the public half
    # leaves it, on the console, where the head reads it through the cloud's API.
    [ -s "$key" ] || (umask 077 && wg genkey > "$key")
    ehpc_console "ehpc-overlay-key $(wg pubkey < "$key")"
    encoded=$(base64 -d <<< "$EHPC_WG_CONF" | awk -v path="$key" \
      '$0 == "PrivateKey = ehpc-own-key" { getline k < path; $0 = "PrivateKey = " k } { print }' | base64 -w0)
  fi
  ehpc_file "$conf" 0600 root:root <<< "$encoded"
  # The head is the hub: it passes packets between the compute nodes' tunnels.
  [ "$EHPC_WG_HUB" = 1 ] && sysctl -q -w net.ipv4.ip_forward=1
  if ip link show ehpc-wg >/dev/null 2>&1; then
    wg syncconf ehpc-wg <(wg-quick strip "$conf")
  else
    wg-quick up "$conf" 2>&1 | grep '^\[#\]' >&2 || true
    ip link show ehpc-wg >/dev/null 2>&1 || ehpc_fail "$(hostname): the WireGuard overlay did not come up"
  fi
}

# A compute node proves its tunnel: the hub's sshd answers at its overlay address.
ehpc_overlay_reach() {
  local i
  for i in $(seq 12); do  # about 15 s: a handshake takes well under one
    timeout 1 bash -c ": </dev/tcp/$EHPC_WG_HUB_ADDRESS/22" 2>/dev/null && return 0
    sleep 0.25
  done
  ehpc_fail "$(hostname): the head does not answer over the overlay ($EHPC_WG_HUB_ADDRESS)"
}
