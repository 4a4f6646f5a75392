"""A cloud node that joins an overlay cluster later makes its own WireGuard key: its boot script
(user-data) carries no secret, and its tunnel has no preshared key until it is given one over it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from elastichpc.bootstrap.overlay import OWN_KEY, OverlayNode, overlay_boot_steps, wg_config
from elastichpc.remote.keys import ClusterKeys, wireguard_keypair

PSK = base64.b64encode(b"p" * 32).decode()


def nodes() -> list[OverlayNode]:
    return [OverlayNode("c-head", "head", "10.250.0.1", wireguard_keypair()[1]),
            OverlayNode("c-node1", "compute", "10.250.0.2", wireguard_keypair()[1]),
            OverlayNode("c-node2", "compute", "10.250.0.3", wireguard_keypair()[1], own_key=True)]


def test_own_key_boot_steps_hold_no_secret() -> None:
    every = nodes()
    steps = overlay_boot_steps(every[2], "", PSK, every, "198.51.100.7", 51820)
    encoded = re.search(r"^EHPC_WG_CONF=(\S+)$", steps, re.MULTILINE)
    assert encoded
    config = base64.b64decode(encoded.group(1)).decode()
    assert f"PrivateKey = {OWN_KEY}" in config.splitlines()
    assert "PresharedKey" not in config and PSK not in steps
    assert "EHPC_WG_OWN_KEY=1" in steps.splitlines()
    # It does not prove its tunnel at boot: the head lets it in only after reading its key.
    assert steps.rstrip().splitlines()[-1] == "ehpc_overlay"


def test_hub_mixes_the_preshared_key_into_keyed_here_tunnels_only() -> None:
    hub, keyed_here, own = nodes()
    config = wg_config(hub, "hub-private", PSK, [hub, keyed_here, own], "", 51820)
    peers = config.split("[Peer]")[1:]
    assert f"PresharedKey = {PSK}" in peers[0] and own.public_key not in peers[0]
    assert own.public_key in peers[1] and "PresharedKey" not in peers[1]


def test_learned_key_has_no_private_half_and_a_new_pair_replaces_it(tmp_path: Path) -> None:
    keys = ClusterKeys(tmp_path, "c")
    private, public = keys.overlay_key("c-node2")
    learned = wireguard_keypair()[1]
    keys.learn_overlay_key("c-node2", learned)
    assert keys.overlay_public("c-node2") == (learned, True)
    assert not (tmp_path / "overlay" / "c-node2").exists()
    # Launched again where the key travels in its boot script (the local provider): made here.
    again = keys.overlay_key("c-node2")
    assert again[0] != private and again[1] not in (public, learned)
    assert keys.overlay_public("c-node2") == (again[1], False)


def test_a_node_given_the_preshared_key_is_a_keyed_peer_until_its_next_key(tmp_path: Path) -> None:
    """A node that made its own key gets the preshared key over its tunnel later (share_psk):
    the hub then mixes it in for it; a new instance under the name (a new key) has none."""
    keys = ClusterKeys(tmp_path, "c")
    first = wireguard_keypair()[1]
    keys.learn_overlay_key("c-node2", first)
    assert keys.overlay_public("c-node2") == (first, True)
    keys.share_psk("c-node2")
    assert keys.overlay_public("c-node2") == (first, False)
    hub = OverlayNode("c-head", "head", "10.250.0.1", wireguard_keypair()[1])
    node = OverlayNode("c-node2", "compute", "10.250.0.3", first, own_key=False)
    assert f"PresharedKey = {PSK}" in wg_config(hub, "hub-private", PSK, [hub, node], "", 51820)
    # As the agent hands it to the client (`nodes`: the key and whether it was given the PSK).
    keys.learn_overlay_key("c-node2", first, shared=True)
    assert keys.overlay_public("c-node2") == (first, False)
    second = wireguard_keypair()[1]
    keys.learn_overlay_key("c-node2", second)
    assert keys.overlay_public("c-node2") == (second, True)
