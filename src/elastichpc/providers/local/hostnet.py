"""The host side of a local cluster's network: one bridge and /24 per site, a veth per node.

Addresses come from 10.201.0.0/16; a site (a cluster has one, or several) gets 10.201.k.0/24 and
bridge `ehbr<k>`, with no route to any other (the host forwards nothing between them). Bridges
and veths carry the interface alias `ehpc-cluster=<name>`: that alias is the local "tag" by which
terminate finds them, even when every file of ours is gone.

A cluster with an overlay also gives each node a "public" address on `ehpub`, one segment shared
by every cluster as the Internet is: 10.202.p.(10+slot), p being the cluster's first site. There
each node's own firewall (nftables in its namespace, as a cloud's security group) lets in the
overlay's UDP port from the cluster's own public range and nothing else.
"""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ...errors import ProviderError
from ..base import TAG
from ..network import OVERLAY_PORT
from .commands import run

PREFIX = "10.201"
PUBLIC_PREFIX = "10.202"
PUBLIC_BRIDGE = "ehpub"
MAX_SLOTS = 240  # nodes of one cluster: addresses .10 to .249


@dataclass(frozen=True)
class Network:
    index: int  # the site's k in 10.201.k.0/24
    bridge: str
    public: int | None  # the cluster's p in 10.202.p.0/24, None without an overlay


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
        # A MAC of its own: a bridge otherwise takes its lowest port's, and changes it when that
        # node goes, leaving the other nodes' ARP entry for their gateway stale for ~30 s.
        mac = "02:eb:" + ":".join(f"{int(o):02x}" for o in f"{PREFIX}.{index}.1".split("."))
        run(["ip", "link", "add", bridge, "address", mac, "type", "bridge"])
        run(["ip", "link", "set", bridge, "alias", alias(cluster)])
        run(["ip", "addr", "add", f"{PREFIX}.{index}.1/24", "dev", bridge])
        run(["ip", "link", "set", bridge, "up"])
    return bridge


def node_address(index: int, slot: int) -> str:
    return f"{PREFIX}.{index}.{10 + slot}"


def add_node_link(netns: str, veth: str, bridge: str, address: str, cluster: str) -> None:
    """Create the node's network namespace with eth0 on the bridge."""
    index = address.split(".")[2]
    remove_link(veth)  # a killed create's: the kernel may not have destroyed it with its netns yet
    run(["ip", "netns", "add", netns])
    # The MAC follows from the address: a node launched again in the same slot (a replacement)
    # is at once reachable by neighbours that still have the old node in their ARP cache.
    mac = "02:eb:" + ":".join(f"{int(octet):02x}" for octet in address.split("."))
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "address", mac,
         "netns", netns])
    run(["ip", "link", "set", veth, "alias", alias(cluster)])
    run(["ip", "link", "set", veth, "master", bridge, "up"])
    run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0"])
    run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])
    run(["ip", "-n", netns, "route", "add", "default", "via", f"{PREFIX}.{index}.1"])


def public_address(index: int, slot: int) -> str:
    return f"{PUBLIC_PREFIX}.{index}.{10 + slot}"


def ensure_public_bridge() -> None:
    """The shared public segment: a bridge with no host address (the host routes nothing)."""
    if PUBLIC_BRIDGE not in {link["ifname"] for link in links()}:
        run(["ip", "link", "add", PUBLIC_BRIDGE, "type", "bridge"], check=False)  # racing twin
        run(["ip", "link", "set", PUBLIC_BRIDGE, "alias", "ehpc-public"])
        run(["ip", "link", "set", PUBLIC_BRIDGE, "up"])


def release_public_bridge(links_left: list[str]) -> None:
    """The shared public segment goes with the last local cluster's bridge (a create makes its
    bridge and this segment in one step under the network lock, as terminate calls this)."""
    if PUBLIC_BRIDGE in links_left and not any(name.startswith("ehbr") for name in links_left):
        delete_link(PUBLIC_BRIDGE)


def public_firewall(public: int) -> str:
    """nftables rules for a node: on eth1 only the overlay's port, from the cluster's range."""
    return f"""table inet ehpc_public {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname "eth1" ct state established,related accept
    iifname "eth1" udp dport {OVERLAY_PORT} ip saddr {PUBLIC_PREFIX}.{public}.0/24 accept
    iifname "eth1" drop
  }}
}}
"""


def add_public_link(netns: str, veth: str, address: str, cluster: str, public: int) -> None:
    """eth1 on the public segment, behind the node's own firewall."""
    remove_link(veth)  # as in add_node_link
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth1", "netns", netns])
    run(["ip", "link", "set", veth, "alias", alias(cluster)])
    run(["ip", "link", "set", veth, "master", PUBLIC_BRIDGE, "up"])
    run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=public_firewall(public))
    run(["ip", "-n", netns, "addr", "add", f"{address}/16", "dev", "eth1"])
    run(["ip", "-n", netns, "link", "set", "eth1", "up"])


def netns_names() -> list[str]:
    out = run(["ip", "-j", "netns", "list"], check=False).strip()
    return [entry["name"] for entry in json.loads(out or "[]")]


def netns_pids(netns: str) -> list[int]:
    out = run(["ip", "netns", "pids", netns], check=False)
    return [int(pid) for pid in out.split()]


def delete_link(name: str) -> None:
    run(["ip", "link", "del", name], check=False)


def remove_link(name: str, timeout: float = 10.0) -> None:
    """Delete the link if it exists and wait until the kernel has let go of its name."""
    deadline = time.monotonic() + timeout
    while run(["ip", "-j", "link", "show", name], check=False).strip():
        if time.monotonic() > deadline:
            raise ProviderError(f"host link {name} would not go away")
        delete_link(name)
        time.sleep(0.05)


def delete_netns(netns: str) -> None:
    run(["ip", "netns", "del", netns], check=False)


def resolv_conf() -> str:
    """A node's /etc/resolv.conf: the host's name servers, or the upstream ones when the host's
    own are loopback resolvers (systemd-resolved) that a node's network cannot reach."""
    for path in ("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        servers = [line for line in lines if line.split()[:1] == ["nameserver"]
                   and not _loopback(line.split()[1:2])]
        if servers:
            rest = [line for line in lines if line.split()[:1] in (["search"], ["options"])]
            return "\n".join(servers + rest) + "\n"
    return ""


def _loopback(words: list[str]) -> bool:
    try:
        return not words or ipaddress.ip_address(words[0].split("%")[0]).is_loopback
    except ValueError:
        return True
