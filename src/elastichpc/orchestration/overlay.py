"""Joining a cluster's nodes to its WireGuard overlay (bootstrap/overlay.py).

At create, over SSH: keys are made on the client (remote/keys.py, 0600) and travel inside the
script on standard input; the journal keeps only each node's overlay address. A compute node
whose tunnel does not reach the head is named and removed; the others go on. A node joining a
running cluster joins from its boot script (`overlay_boot`): with a key made here where the
boot script travels no metadata service, else with one it makes itself (`let_in`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from ..bootstrap.overlay import OverlayNode, overlay_address, overlay_boot_steps, overlay_script
from ..config import ClusterSpec
from ..errors import EhpcError
from ..providers import Machine, NodePlan
from ..providers.network import OVERLAY_PORT
from ..remote import ClusterKeys, ClusterShell, in_parallel
from ..state import Journal
from .context import ClusterContext
from .fleet import Fleet
from .hostkeys import OVERLAY_KEY, read_console_key
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


def overlay_boot(context: ClusterContext, plans: list[NodePlan], head: Machine, own_key: bool
                 ) -> dict[str, str]:
    """New nodes of an overlay cluster join it from their boot script (the head reaches a node
    on another site or cloud only over the overlay). Where the boot script travels no metadata
    service (the local provider) it holds the node's key and the hub learns the new peer first
    (a replacement keeps its name, key and overlay address); else (`own_key`) the node makes its
    own key and the hub learns it after the launch (`let_in`). Returns name -> overlay address."""
    keys, rows = context.keys, context.journal.nodes(context.name)
    known = {r.name: r.overlay_address for r in rows if r.overlay_address}
    if not any(r.role == "head" and r.overlay_address for r in rows):
        raise EhpcError(f"the overlay of {context.name} is not up (its head has no overlay "
                        "address: was it made with --provision-only?), so no node can join it")
    addresses = dict(known)
    number = 1
    for plan in plans:
        while plan.name not in addresses and overlay_address(number) in addresses.values():
            number += 1
        addresses.setdefault(plan.name, overlay_address(number))
    new = {plan.name for plan in plans}
    nodes = peers(keys, {r.name: r.role for r in rows}, addresses, () if own_key else new)
    endpoint, psk = public_endpoint(head), keys.overlay_psk()
    if not own_key and new - set(known):  # a new peer for the hub
        update_hub(context, nodes, endpoint)
    by_name = {n.name: n for n in nodes}
    for plan in plans:
        plan.boot_script += overlay_boot_steps(
            by_name[plan.name], "" if own_key else keys.overlay_key(plan.name)[0], psk, nodes,
            endpoint, OVERLAY_PORT)
    return {plan.name: addresses[plan.name] for plan in plans}


def peers(keys: ClusterKeys, roles: dict[str, str], addresses: dict[str, str],
          keyed_here: Collection[str] = ()) -> list[OverlayNode]:
    """Every node of `addresses` as a peer (a node the journal lacks yet is a compute node):
    those in `keyed_here` with a key made here now."""
    return [OverlayNode(name, "compute", address, keys.overlay_key(name)[1])
            if name in keyed_here else peer(keys, name, roles.get(name, "compute"), address)
            for name, address in addresses.items()]


def update_hub(context: ClusterContext, nodes: list[OverlayNode], endpoint: str) -> None:
    hub = next(n for n in nodes if n.role == "head")
    context.shell.run(context.head, ["bash", "-s"], input=overlay_script(
        hub, context.keys.overlay_key(hub.name)[0], context.keys.overlay_psk(), nodes, endpoint,
        OVERLAY_PORT))


def let_in(context: ClusterContext, joined: list[Machine], head: Machine, progress: Progress) -> None:
    """Nodes that made their own overlay key: read each public half from the node's console
    through its cloud's API (as its host key is read), open the hub's overlay port to where they
    dial from, and give the hub the new peers."""
    fleet = context.fleet
    with progress.step(f"reading the overlay keys of {len(joined)} nodes from their consoles"):
        def learn(machine: Machine) -> None:
            key = read_console_key(fleet.provider_of(machine), machine, OVERLAY_KEY, "overlay key")
            context.keys.learn_overlay_key(machine.name, key)

        in_parallel(learn, joined)
    with progress.step("letting them into the overlay"):
        fleet.open_overlay(fleet.machines())  # every node's public address: a rule is replaced whole
        rows = context.journal.nodes(context.name)
        known = {r.name: r.overlay_address for r in rows if r.overlay_address}
        update_hub(context, peers(context.keys, {r.name: r.role for r in rows}, known),
                   public_endpoint(head))


def share_psk(context: ClusterContext, machines: list[Machine], head: Machine,
              progress: Progress) -> None:
    """Nodes that made their own overlay key (let in by `let_in`) are given the cluster's
    preshared key over their tunnel, which the SSH connection travels encrypted; then the hub
    mixes it in for them too. WireGuard keeps the running session through the change, and the
    next handshake uses the key on both ends."""
    keys, rows = context.keys, {r.name: r for r in context.journal.nodes(context.name)}
    head_row = next(r for r in rows.values() if r.role == "head")
    hub = peer(keys, head_row.name, "head", head_row.overlay_address)
    endpoint, psk, shell = public_endpoint(head), keys.overlay_psk(), context.shell
    with progress.step(f"giving {len(machines)} nodes the overlay's preshared key"):
        def give(machine: Machine) -> None:  # (in threads: the journal was read above)
            node = OverlayNode(machine.name, "compute", rows[machine.name].overlay_address,
                               keys.overlay_public(machine.name)[0])
            shell.run(machine.name, ["bash", "-s"], input=overlay_script(
                node, "", psk, [hub, node], endpoint, OVERLAY_PORT))
            keys.share_psk(machine.name)

        in_parallel(give, machines)
        update_hub(context, peers(keys, {r.name: r.role for r in rows.values()},
                                  {r.name: r.overlay_address for r in rows.values() if r.overlay_address}),
                   endpoint)
