"""Bringing launched machines into the cluster: SSH files, reachability, shared storage, the
scheduler's configuration, and waiting until the scheduler has them idle. Create, the spot
monitor and resizing all join nodes this way; every step is rerunnable."""

from __future__ import annotations

import time
from dataclasses import replace

from ..bootstrap import ClusterLayout, NodeFacts, configure_script
from ..config import ClusterSpec
from ..errors import ProviderError
from ..providers import Machine
from ..remote import ClusterKeys, ClusterShell, close_connections, in_parallel, write_ssh_files
from ..schedulers import get_scheduler
from ..state import Journal
from .context import open_cluster
from .fleet import Fleet
from .hostkeys import known_key, learn_host_keys, ssh_hosts, write_known_ssh
from .overlay import join_overlay
from .plan import cloud_nodes
from .progress import Progress
from .storage import create_time_storage, setup_shared_dir

IDLE_STATES = {"idle", "mix", "alloc"}


def node_facts(machine: Machine, probe: str) -> NodeFacts:
    """What the scheduler needs of a node: the provider's numbers (local NODE_CPUS/NODE_MEMORY),
    else the probe's. A cloud instance's probe is its type's size as the machine has it: the
    type's nominal memory is more than MemTotal, and Slurm drains a node told more than it has."""
    lines = probe.split()
    cpus = int(machine.extra.get("cpus") or lines[0])
    memory = int(machine.extra.get("memory_mb") or int(lines[1]) * 9 // 10)
    return NodeFacts(machine.name, machine.role, machine.private_address, cpus, memory)


def cluster_layout(spec: ClusterSpec, fleet: Fleet, keys: ClusterKeys, facts: list[NodeFacts],
                   machines: list[Machine]) -> ClusterLayout:
    """What the bootstrap scripts know of the cluster: its running nodes and the autoscaled
    ones, which announce the size of a running compute node (else the head's)."""
    model = next((f for f in facts if f.role == "compute"), facts[0])
    cloud = [NodeFacts(name, "compute", "", model.cpus, model.memory_mb)
             for name in cloud_nodes(spec)]
    return ClusterLayout(
        name=spec.name,
        scheduler=spec.scheduler,
        shared_dir=spec.shared_dir,
        cluster_user=spec.cluster_user,
        nodes=facts,
        munge_key=keys.munge_key(),
        accounting=spec.accounting,
        cloud=cloud,
        suspend_after_s=int(spec.settings.get("CLUSTER", "SCALEDOWN_IDLE")),
        homes="/home" if all(fleet.provider_of(m).capabilities.shares_home for m in machines)
        else f"{spec.shared_dir}/home",
        # nodes that run this machine's /usr have the packages the client installed here
        packages=[] if all(fleet.provider_of(m).capabilities.shares_host_software for m in machines)
        else spec.packages,
        cluster_uid=fleet.head.cluster_uid(spec.name),
        host_keys={m.name: " ".join(key.split()[:2]) for m in machines
                   if (key := known_key(fleet.provider_of(m), keys, m))},
    )


def bootstrap_machines(
    spec: ClusterSpec, fleet: Fleet, keys: ClusterKeys, machines: list[Machine],
    progress: Progress, provision_only: bool = False, journal: Journal | None = None,
) -> None:
    """Write the SSH files for `machines` (the head and the compute nodes there are so far) and,
    unless provision_only, bootstrap them. Rerunnable: the spot monitor calls it as nodes join."""
    directory = keys.directory
    head = next(m for m in machines if m.role == "head")
    write_known_ssh(fleet, keys, machines)
    if provision_only:
        return
    shell = ClusterShell(directory, {m.name: m.login_user for m in machines})

    with progress.step("waiting for SSH on every node (host keys pinned)"):
        learn_host_keys(fleet, keys, shell, machines, progress)
        probes = dict(zip((m.name for m in machines),
                          in_parallel(shell.wait_reachable, [m.name for m in machines]), strict=True))

    if spec.overlay and journal is not None:
        with progress.step("joining the nodes to the encrypted overlay (WireGuard, head as hub)"):
            machines = join_overlay(spec, fleet, keys, shell, machines, journal, progress)
        # From now on the compute nodes are reached through the head, over the overlay.
        close_connections(directory)
        hosts = ssh_hosts(fleet, keys, machines)
        write_ssh_files(directory, keys.identity,
                        [h if h.name == head.name else replace(h, address="") for h in hosts],
                        jump=head.name)
    facts = [node_facts(m, probes[m.name]) for m in machines]

    if journal is not None and (storage := create_time_storage(spec)):
        with progress.step(storage):
            # This call's settings ride along: the stored spec has no secrets (keys in the conf).
            setup_shared_dir(open_cluster(spec.name, journal, spec.settings), progress)

    layout = cluster_layout(spec, fleet, keys, facts, machines)

    def configure(node: NodeFacts) -> None:
        shell.run(node.name, ["bash", "-s"], input=configure_script(layout, node))

    with progress.step(f"configuring the head ({spec.scheduler} controller)"):
        configure(layout.head)
    with progress.step(f"configuring {len(layout.computes)} compute nodes"):
        in_parallel(configure, layout.computes)
    with progress.step(f"waiting for {len(layout.computes)} compute nodes to be idle in {spec.scheduler}"):
        wait_idle(shell, head.name, spec, [n.name for n in layout.computes], progress)


def wait_idle(
    shell: ClusterShell, head: str, spec: ClusterSpec, nodes: list[str], progress: Progress,
    timeout: float = 180.0,
) -> None:
    scheduler = get_scheduler(spec.scheduler)
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while True:
        result = shell.run(head, scheduler.nodes_argv(), check=False)
        if result.returncode == 0:
            states = scheduler.parse_nodes(result.stdout)
        ready = sum(states.get(n) in IDLE_STATES for n in nodes)
        progress.detail(f"{ready}/{len(nodes)} idle")
        if ready == len(nodes):
            return
        if time.monotonic() > deadline:
            waiting = sorted(n for n in nodes if states.get(n) not in IDLE_STATES)
            raise ProviderError(
                f"{len(waiting)} nodes did not become idle in {spec.scheduler} within "
                f"{timeout:.0f}s: {', '.join(waiting[:5])}"
            )
        time.sleep(0.5)
