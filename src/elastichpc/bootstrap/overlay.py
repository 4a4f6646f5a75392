"""The cluster's encrypted overlay: WireGuard, the head as hub, every compute node a spoke.

Each node has a key pair and an address in 10.250.0.0/16 (the head .0.1); the cluster has one
preshared key. Compute nodes dial the head's public address on the overlay port and route the
whole overlay range through it; the head forwards between them. The scheduler, the shared
directory and SSH to compute nodes then use overlay addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .render import _b64, _fragment, _script

NETWORK = ipaddress.ip_network("10.250.0.0/16")
INTERFACE = "ehpc-wg"


# Where a node that makes its own key (a cloud node joining a running cluster) puts it: the
# boot script carries this word in place of a private key.
OWN_KEY = "ehpc-own-key"


@dataclass(frozen=True)
class OverlayNode:
    name: str
    role: str
    address: str  # on the overlay
    public_key: str
    own_key: bool = False  # made on the node itself, and no preshared key given it yet


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
        shared = [f"PresharedKey = {psk}"] if psk and not peer.own_key else []
        lines += ["", "[Peer]", f"# {peer.name}", f"PublicKey = {peer.public_key}", *shared, route]
    return "\n".join(lines) + "\n"


def overlay_script(node: OverlayNode, private_key: str, psk: str, nodes: list[OverlayNode],
                   endpoint: str, port: int) -> str:
    """Brings `node` onto the overlay (or updates its peers): sent over SSH on standard input."""
    variables, steps = _overlay(node, private_key, psk, nodes, endpoint, port)
    return _script(f"overlay for {node.name}", variables, ["overlay.sh"], steps)


def overlay_boot_steps(node: OverlayNode, private_key: str, psk: str, nodes: list[OverlayNode],
                       endpoint: str, port: int) -> str:
    """The same, as the last steps of a compute node's boot script (a node joining a running
    cluster). Without `private_key`: for a boot script that is user-data, which holds no secret;
    the node makes its own key and prints the public half on its console, where the head reads
    it through the cloud's API before it lets the node in, and the preshared key stays out
    too (the node is given it later, over its tunnel)."""
    variables, steps = _overlay(node, private_key, psk if private_key else "", nodes, endpoint, port)
    return _fragment(variables, ["overlay.sh"], steps)


def _overlay(node: OverlayNode, private_key: str, psk: str, nodes: list[OverlayNode],
             endpoint: str, port: int) -> tuple[dict[str, str], list[str]]:
    hub = next(n for n in nodes if n.role == "head")
    own = not private_key
    config = wg_config(node, OWN_KEY if own else private_key, psk, nodes, endpoint, port)
    variables = {"EHPC_WG_CONF": _b64(config), "EHPC_WG_OWN_KEY": "1" if own else "0",
                 "EHPC_WG_HUB": "1" if node.role == "head" else "0", "EHPC_WG_HUB_ADDRESS": hub.address}
    # A node with its own key is let in only once the head has read that key.
    return variables, ["ehpc_overlay", *([] if node.role == "head" or own else ["ehpc_overlay_reach"])]
