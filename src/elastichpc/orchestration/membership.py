"""Compute nodes joining and leaving a running cluster: resize, replacement of reclaimed spot
nodes, power up and down. The same code runs in the CLI (resize) and in the head agent.

Joining: launch through the provider, then every node that stays gets the new hosts block and
scheduler files, the head's scheduler learns the new nodes before they start, and the new nodes
run the same configure script as at create. Leaving: drain (or requeue with `now`), wait for the
nodes' jobs to be gone, remove the machines, then the same refresh without them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from ..bootstrap import NodeFacts, configure_script, known_hosts_script, membership_script
from ..errors import ConfigError, EhpcError
from ..providers import Machine, NodePlan
from ..remote import ClusterShell, in_parallel, write_ssh_files
from ..state import NodeRow
from .context import ClusterContext
from .hostkeys import learn_host_keys, ssh_hosts
from .join import cluster_layout, node_facts, wait_idle
from .overlay import let_in, overlay_boot, share_psk
from .plan import cloud_nodes, plan_node
from .progress import Progress
from .record import record_machines
from .storage import create_time_storage, setup_shared_dir

LOST = {"preempted", "terminated", "stopped"}  # how providers show a machine taken away


def compute_rows(context: ClusterContext) -> list[str]:
    return [n.name for n in context.journal.nodes(context.name) if n.role == "compute"]


def next_names(context: ClusterContext, count: int) -> list[str]:
    """`count` new compute node names after the highest number the cluster has used."""
    if count < 1:
        raise ConfigError(f"--add takes a positive number of nodes, got {count}")
    pattern = re.compile(rf"^{re.escape(context.name)}-node(\d+)$")
    known = [*compute_rows(context), *(m.name for m in context.fleet.machines()),
             *cloud_nodes(context.spec)]  # autoscaled names are taken even while powered down
    top = max((int(m.group(1)) for n in known if (m := pattern.match(n))), default=0)
    return [f"{context.name}-node{top + i}" for i in range(1, count + 1)]


def running_machines(context: ClusterContext, leaving: Collection[str] = ()) -> list[Machine]:
    """The journal's nodes that the provider shows running, minus `leaving`."""
    rows = {n.name for n in context.journal.nodes(context.name) if n.status == "running"}
    return on_overlay(context, [m for m in context.fleet.machines()
                                if m.name in rows and m.name not in leaving and m.state == "running"])


def on_overlay(context: ClusterContext, machines: list[Machine]) -> list[Machine]:
    """On an overlay cluster the nodes reach each other (and the head reaches compute nodes) at
    their overlay addresses, as create left them."""
    if not context.spec.overlay:
        return machines
    known = {r.name: r.overlay_address for r in context.journal.nodes(context.name)}
    found = []
    for machine in machines:
        address = known.get(machine.name, "")
        if address:
            machine = replace(machine, private_address=address,
                              address=machine.address if machine.role == "head" else address)
        found.append(machine)
    return found


@dataclass
class Launch:
    """Nodes of one pool to launch at one place, their boot scripts ready."""

    place: str
    plans: list[NodePlan]
    overlay: dict[str, str]  # name -> overlay address (on an overlay cluster)
    own_key: bool  # the boot script is user-data: each node makes its own overlay key

    @property
    def names(self) -> list[str]:
        return [plan.name for plan in self.plans]


def prepare(context: ClusterContext, names: list[str], place: str, head: Machine) -> Launch:
    """Plans for `names` as compute nodes of pool `place` (an overlay cluster's boot scripts
    join them to it)."""
    spec, fleet = context.spec, context.fleet
    for name in names:
        fleet.pool_of[name] = place
    plans = [plan_node(spec, fleet, context.keys, name, "compute", place) for name in names]
    own_key = not fleet.provider(place).capabilities.private_boot
    overlay = overlay_boot(context, plans, head, own_key) if spec.overlay else {}
    return Launch(place, plans, overlay, own_key)


def admit(context: ClusterContext, launch: Launch, machines: list[Machine], head: Machine,
          progress: Progress) -> list[Machine]:
    """Launched machines recorded and, on an overlay cluster, let into it; returned as the
    other nodes reach them."""
    record_machines(context.journal, context.name, machines)
    if launch.overlay:
        rows = {r.name: r for r in context.journal.nodes(context.name)}
        context.journal.put_nodes([replace(rows[n], overlay_address=a) for n, a in launch.overlay.items()])
        if launch.own_key:
            let_in(context, machines, head, progress)
        machines = on_overlay(context, machines)
    context.journal.event(context.name, "launched", f"{', '.join(launch.names)} on {launch.place}")
    return machines


def add_nodes(context: ClusterContext, names: list[str], progress: Progress, place: str = "",
              stay: list[Machine] | None = None, declared: bool = False) -> list[Machine]:
    """Launch `names` as compute nodes of pool `place` (default: the first pool) and join them
    to the running scheduler (`declared`: it knows them already, as Slurm knows its CLOUD
    nodes, so only the new nodes are configured)."""
    place = context.spec.pool(place or context.spec.pools[0].name).name
    stay = running_machines(context, names) if stay is None else stay
    head = head_of(context, stay)
    launch = prepare(context, names, place, head)
    with progress.step(f"launching {len(names)} nodes on {place}"):
        machines = context.fleet.launch(launch.plans, progress.detail)
    joined = admit(context, launch, machines, head, progress)
    rejoin(context, stay, joined, [], progress, members_changed=not declared)
    if launch.overlay and launch.own_key:
        share_psk(context, joined, head, progress)
    context.journal.event(context.name, "joined", ", ".join(names))
    return joined


def head_of(context: ClusterContext, running: list[Machine]) -> Machine:
    head = next((m for m in running if m.role == "head"), None)
    if head is None:
        raise EhpcError(f"the head of {context.name} is not running")
    return head


def remove_nodes(context: ClusterContext, names: list[str], progress: Progress, now: bool = False,
                 timeout: float = 3600.0) -> None:
    """Drain `names` (their jobs finish, or are requeued with `now`), then remove them."""
    known = set(compute_rows(context))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{', '.join(unknown)}: not a compute node of {context.name} "
                          f"(nodes: {', '.join(sorted(known)) or 'none'})")
    scheduler, shell, head = context.scheduler, context.shell, context.head
    shell.run(head, scheduler.drain_argv(names, "ehpc-resize"), check=False)
    context.journal.event(context.name, "draining", ", ".join(names))
    with progress.step(f"{'requeueing' if now else 'waiting for'} the jobs on {len(names)} nodes"):
        deadline = time.monotonic() + timeout
        requeued: set[str] = set()
        while jobs := jobs_on(context, names):
            if now:
                shell.run(head, scheduler.requeue_argv(jobs), check=False)
                requeued.update(jobs)
            progress.detail(f"{len(jobs)} jobs still running")
            if time.monotonic() > deadline:
                raise EhpcError(f"jobs {', '.join(jobs[:5])} still run on {', '.join(names)}: "
                                "wait, or remove with --now to requeue them")
            time.sleep(1.0)
        release(context, sorted(requeued))
    stay = running_machines(context, names)
    with progress.step(f"removing {len(names)} nodes"):
        context.fleet.terminate_nodes(names, progress.detail)
    rejoin(context, stay, [], names, progress)
    # Forgotten last: a removal killed or failed before the scheduler was told is done again by
    # the rerun, which still finds these nodes (terminating them again is a no-op).
    context.journal.remove_nodes(context.name, names)
    context.journal.event(context.name, "removed", ", ".join(names))


def release(context: ClusterContext, jobs: list[str]) -> None:
    argv = context.scheduler.release_argv(jobs) if jobs else None
    if argv:
        context.shell.run(context.head, argv, check=False)


def jobs_on(context: ClusterContext, names: list[str]) -> list[str]:
    result = context.shell.run(context.head, context.scheduler.jobs_on_argv(names), check=False)
    return context.scheduler.parse_jobs_on(result.stdout, names) if result.returncode == 0 else []


def write_cluster_ssh(context: ClusterContext, nodes: Sequence[Machine | NodeRow]) -> None:
    """ssh_config and known_hosts for exactly these nodes (journal rows or machines)."""
    machines = [node if isinstance(node, Machine) else
                Machine(node.name, node.role, node.provider_id, node.address, node.private_address,
                        node.status, node.info.get("login_user", "root")) for node in nodes]
    hosts = ssh_hosts(context.fleet, context.keys, machines)
    head = next(n.name for n in nodes if n.role == "head")
    write_ssh_files(context.keys.directory, context.keys.identity, hosts, jump=head)


def rejoin(context: ClusterContext, stay: list[Machine], joined: list[Machine], removed: list[str],
           progress: Progress, members_changed: bool = True) -> None:
    """Bring the scheduler to the membership `stay` + `joined` (everything in `removed` is gone)."""
    spec, keys = context.spec, context.keys
    machines = stay + joined
    head = next(m for m in machines if m.role == "head")
    write_cluster_ssh(context, machines)
    shell = ClusterShell(keys.directory, {m.name: m.login_user for m in machines})
    with progress.step("waiting for SSH on the nodes"):
        learn_host_keys(context.fleet, keys, shell, machines, progress)
        probes = in_parallel(shell.wait_reachable, [m.name for m in machines])
    facts = [node_facts(m, p) for m, p in zip(machines, probes, strict=True)]
    _forget_cached(context)
    if joined and create_time_storage(spec):  # the new nodes mount the shared directory too
        with progress.step(create_time_storage(spec)):
            setup_shared_dir(context, progress)
    layout = cluster_layout(spec, context.fleet, keys, facts, machines)
    new = {m.name for m in joined}
    added = [n for n in layout.computes if n.name in new]

    def refresh(node: NodeFacts) -> None:
        shell.run(node.name, ["bash", "-s"], input=membership_script(layout, node, added, removed))

    def configure(node: NodeFacts) -> None:
        shell.run(node.name, ["bash", "-s"], input=configure_script(layout, node))

    if members_changed:
        with progress.step(f"updating {len(layout.computes) - len(added)} compute nodes that stay"):
            in_parallel(refresh, [n for n in layout.computes if n.name not in new])
        with progress.step(f"updating the head ({spec.scheduler})"):
            refresh(layout.head)
    if added and not members_changed:  # the nodes that stay learn the new ones' host keys
        in_parallel(lambda node: shell.run(node.name, ["bash", "-s"],
                                           input=known_hosts_script(layout, node)),
                    [n for n in layout.nodes if n.name not in new])
    for node in [] if members_changed else added:  # declared before they existed: where they are
        argv = context.scheduler.address_argv(node.name, node.address)
        if argv:
            shell.run(head.name, argv)
    if added:
        with progress.step(f"configuring {len(added)} new nodes"):
            in_parallel(configure, added)
            shell.run(head.name, context.scheduler.resume_argv([n.name for n in added]), check=False)
        with progress.step(f"waiting for {len(added)} new nodes to be idle in {spec.scheduler}"):
            wait_idle(shell, head.name, spec, [n.name for n in added], progress)
    _forget_cached(context)


def _forget_cached(context: ClusterContext) -> None:
    """The context's node list and shell were read before the nodes changed."""
    for name in ("shell", "nodes"):
        context.__dict__.pop(name, None)
