"""The host side of a local cluster's network: one bridge and /24 per cluster, a veth per node.

Addresses come from 10.201.0.0/16; cluster k gets 10.201.k.0/24 and bridge `ehbr<k>`. Bridges
and veths carry the interface alias `ehpc-cluster=<name>`: that alias is the local "tag" by which
terminate finds them, even when every file of ours is gone.
"""

from __future__ import annotations

import ipaddress
import json

from ..base import TAG
from .commands import run

PREFIX = "10.201"


def alias(cluster: str) -> str:
    return f"{TAG}={cluster}"


def links() -> list[dict]:
    return json.loads(run(["ip", "-j", "-d", "addr", "show"]) or "[]")


def used_subnets() -> set[int]:
    """Third octets of 10.201.k.0/24 ranges any host interface already uses."""
    used = set()
    net = ipaddress.ip_network(f"{PREFIX}.0.0/16")
    for link in links():
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet" and ipaddress.ip_address(addr["local"]) in net:
                used.add(int(addr["local"].split(".")[2]))
    return used


def tagged_links(cluster: str) -> list[str]:
    return [link["ifname"] for link in links() if link.get("ifalias") == alias(cluster)]


def ensure_bridge(index: int, cluster: str) -> str:
    bridge = f"ehbr{index}"
    existing = {link["ifname"] for link in links()}
    if bridge not in existing:
        run(["ip", "link", "add", bridge, "type", "bridge"])
        run(["ip", "link", "set", bridge, "alias", alias(cluster)])
        run(["ip", "addr", "add", f"{PREFIX}.{index}.1/24", "dev", bridge])
        run(["ip", "link", "set", bridge, "up"])
    return bridge


def node_address(index: int, slot: int) -> str:
    return f"{PREFIX}.{index}.{10 + slot}"


def add_node_link(netns: str, veth: str, bridge: str, address: str, cluster: str) -> None:
    """Create the node's network namespace with eth0 on the bridge."""
    index = address.split(".")[2]
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    run(["ip", "link", "set", veth, "alias", alias(cluster)])
    run(["ip", "link", "set", veth, "master", bridge, "up"])
    run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0"])
    run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])
    run(["ip", "-n", netns, "route", "add", "default", "via", f"{PREFIX}.{index}.1"])


def netns_names() -> list[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).strip()
    return [entry["name"] for entry in json.loads(out or "[]")]


def netns_pids(netns: str) -> list[int]:
    out = run(["ip", "netns", "pids", netns], check=False)
    return [int(pid) for pid in out.split()]


def delete_link(name: str) -> None:
    run(["ip", "link", "del", name], check=False)


def delete_netns(netns: str) -> None:
    run(["ip", "netns", "del", netns], check=False)
