"""The cluster's encrypted overlay: WireGuard, the head as hub, every compute node a spoke.

Each node has a key pair and an address in 10.250.0.0/16 (the head .0.1); the cluster has one
preshared key. Compute nodes dial the head's public address on the overlay port and route the
whole overlay range through it; the head forwards between them. The scheduler, the shared
directory and SSH to compute nodes then use overlay addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .render import _b64, _script

NETWORK = ipaddress.ip_network("10.250.0.0/16")
INTERFACE = "ehpc-wg"


@dataclass(frozen=True)
class OverlayNode:
    name: str
    role: str
    address: str  # on the overlay
    public_key: str


def overlay_address(number: int) -> str:
    """The overlay address of node number `number` (the head is 0)."""
    return str(NETWORK.network_address + number + 1)


def wg_config(node: OverlayNode, private_key: str, psk: str, nodes: list[OverlayNode],
              endpoint: str, port: int) -> str:
    """wg-quick's configuration for `node`: the head lists every compute node as a peer, a
    compute node lists the head alone, reached at `endpoint`:`port`, for the whole range."""
    lines = ["[Interface]", f"Address = {node.address}/{NETWORK.prefixlen}",
             f"PrivateKey = {private_key}"]
    if node.role == "head":
        lines.append(f"ListenPort = {port}")
        peers = [(n, f"AllowedIPs = {n.address}/32") for n in nodes if n.role != "head"]
    else:
        head = next(n for n in nodes if n.role == "head")
        peers = [(head, f"AllowedIPs = {NETWORK}\nEndpoint = {endpoint}:{port}\n"
                        "PersistentKeepalive = 25")]
    for peer, route in peers:
        lines += ["", "[Peer]", f"# {peer.name}", f"PublicKey = {peer.public_key}",
                  f"PresharedKey = {psk}", route]
    return "\n".join(lines) + "\n"


def overlay_script(node: OverlayNode, private_key: str, psk: str, nodes: list[OverlayNode],
                   endpoint: str, port: int) -> str:
    """Brings `node` onto the overlay (or updates its peers): sent over SSH on standard input."""
    hub = next(n for n in nodes if n.role == "head")
    return _script(
        f"overlay for {node.name}",
        {"EHPC_WG_CONF": _b64(wg_config(node, private_key, psk, nodes, endpoint, port)),
         "EHPC_WG_HUB": "1" if node.role == "head" else "0", "EHPC_WG_HUB_ADDRESS": hub.address},
        ["disk.sh", "overlay.sh"],
        ["ehpc_overlay", *([] if node.role == "head" else ["ehpc_overlay_reach"])],
    )
