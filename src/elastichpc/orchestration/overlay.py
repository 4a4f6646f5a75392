"""Joining a cluster's nodes to its WireGuard overlay (bootstrap/overlay.py), over SSH.

Keys are made on the client at create (remote/keys.py, 0600) and travel inside the script on
standard input; the journal keeps only each node's overlay address. A compute node whose
tunnel does not reach the head is named and removed; the others go on.
"""

from __future__ import annotations

from dataclasses import replace

from ..bootstrap.overlay import OverlayNode, overlay_address, overlay_script
from ..config import ClusterSpec
from ..errors import EhpcError
from ..providers import Machine
from ..providers.network import OVERLAY_PORT
from ..remote import ClusterKeys, ClusterShell, in_parallel
from ..state import Journal
from .fleet import Fleet
from .progress import Progress


def assign_addresses(journal: Journal, cluster: str, machines: list[Machine]) -> dict[str, str]:
    """Every node's overlay address: the one the journal has, else the lowest free (the head's
    is the first). Recorded before any node uses it, so a rerun gives the same."""
    rows = {row.name: row for row in journal.nodes(cluster)}
    taken = {row.overlay_address for row in rows.values() if row.overlay_address}
    addresses: dict[str, str] = {}
    number = 1
    for machine in sorted(machines, key=lambda m: m.role != "head"):
        known = rows[machine.name].overlay_address if machine.name in rows else ""
        if not known:
            if machine.role == "head":
                known = overlay_address(0)
            else:
                while overlay_address(number) in taken:
                    number += 1
                known = overlay_address(number)
            taken.add(known)
            if machine.name in rows:
                journal.put_nodes([replace(rows[machine.name], overlay_address=known)])
        addresses[machine.name] = known
    return addresses


def peer(keys: ClusterKeys, name: str, role: str, address: str) -> OverlayNode:
    """A node as its overlay peers know it: its public key (made here, or by itself)."""
    public, own = keys.overlay_public(name)
    return OverlayNode(name, role, address, public, own)


def public_endpoint(head: Machine) -> str:
    """Where compute nodes reach the head's overlay port: its public address."""
    endpoint = str(head.extra.get("public_address") or head.address)
    if not endpoint:
        raise EhpcError(f"{head.name} has no public address for the overlay to reach")
    return endpoint


def join_overlay(spec: ClusterSpec, fleet: Fleet, keys: ClusterKeys, shell: ClusterShell,
                 machines: list[Machine], journal: Journal, progress: Progress) -> list[Machine]:
    """Bring the machines onto the overlay (the head first); return those that joined, each
    with its overlay address as the address the other nodes use. A compute node that cannot
    reach the head over it is removed (from its cloud and the journal), and named."""
    addresses = assign_addresses(journal, spec.name, machines)
    known = [row for row in journal.nodes(spec.name) if row.overlay_address]
    nodes = [peer(keys, row.name, row.role, row.overlay_address)
             for row in known if row.name not in addresses]
    nodes += [OverlayNode(m.name, m.role, addresses[m.name], keys.overlay_key(m.name)[1])
              for m in machines]  # joined over SSH here: keys made here
    head = next(m for m in machines if m.role == "head")
    endpoint, psk = public_endpoint(head), keys.overlay_psk()

    def join(node: OverlayNode) -> str:
        script = overlay_script(node, keys.overlay_key(node.name)[0], psk, nodes, endpoint,
                                OVERLAY_PORT)
        try:
            shell.run(node.name, ["bash", "-s"], input=script)
        except EhpcError as err:
            if node.role == "head":
                raise EhpcError(f"the overlay did not come up on the head {node.name}: {err}") from None
            return f"{node.name}: {err}"
        return ""

    by_name = {n.name: n for n in nodes}
    join(by_name[head.name])
    failed = [f for f in in_parallel(join, [by_name[m.name] for m in machines if m.role != "head"]) if f]
    lost = sorted({line.split(":", 1)[0] for line in failed})
    for line in failed:
        progress.note(f"removed from the cluster, its overlay failed: {line}")
        journal.event(spec.name, "overlay", f"removed, overlay failed: {line}")
    if lost:
        fleet.terminate_nodes(lost, progress.detail)
        journal.remove_nodes(spec.name, lost)
    return [replace(m, private_address=addresses[m.name]) for m in machines if m.name not in lost]
