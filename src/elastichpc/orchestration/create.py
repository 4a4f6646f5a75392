"""Creating a cluster: launch machines, reach them over SSH, bootstrap, wait for the scheduler.

Every step is idempotent and the journal records the cluster as `creating` until the scheduler
reports all compute nodes idle, so an interrupted create is finished by running it again, or
undone by `terminate`.
"""

from __future__ import annotations

import time

from ..bootstrap import ClusterLayout, NodeFacts, boot_script, configure_script, required_commands
from ..config import ClusterSpec
from ..errors import EhpcError, ProviderError
from ..providers import Machine, NodePlan, Provider, get_provider
from ..remote import ClusterKeys, ClusterShell, SshHost, in_parallel, write_ssh_files
from ..schedulers import get_scheduler
from ..state import Journal, NodeRow
from ..system_packages import require_packages
from .context import ClusterContext, open_cluster
from .progress import Progress
from .storage import check_shared_choice, create_time_storage, setup_shared_dir

IDLE_STATES = {"idle", "mix", "alloc"}


def node_names(spec: ClusterSpec) -> list[tuple[str, str]]:
    """(name, role) of every node: `<cluster>-head`, then `<cluster>-node1..N`."""
    return [(f"{spec.name}-head", "head")] + [
        (f"{spec.name}-node{i}", "compute") for i in range(1, spec.size + 1)
    ]


def host_key_owner(spec: ClusterSpec, provider: Provider, name: str, role: str) -> str:
    """Whose host key (and boot-time host name) a node gets: its own, or the cluster's shared
    compute key when the provider boots all compute nodes from one script."""
    return f"{spec.name}-compute" if role == "compute" and provider.shared_compute_boot else name


def plan_nodes(spec: ClusterSpec, provider: Provider, keys: ClusterKeys) -> list[NodePlan]:
    _, login_pub = keys.login_key()
    plans = []
    for name, role in node_names(spec):
        owner = host_key_owner(spec, provider, name, role)
        host_key, host_pub = keys.host_key(owner)
        section = spec.provider.upper()
        instance_type = None
        if spec.provider != "local":
            key = "MASTER TYPE" if role == "head" else "INSTANCE TYPE"
            instance_type = spec.settings.get(section, key)
        plans.append(
            NodePlan(
                name=name,
                role=role,
                instance_type=instance_type,
                boot_script=boot_script(owner, provider.login_user, login_pub, host_key, host_pub),
                spot=spec.spot and role == "compute",
                ssh_public_key=login_pub,
            )
        )
    return plans


def _start(spec: ClusterSpec, journal: Journal) -> None:
    row = journal.get_cluster(spec.name)
    if row is None:
        journal.add_cluster(spec.name, spec.provider, "creating", spec.to_public())
    elif row.status in ("creating", "failed", "provisioned") and row.provider == spec.provider:
        journal.set_status(spec.name, "creating", "(resumed)")
    else:
        raise EhpcError(
            f"cluster {spec.name!r} already exists on {row.provider} ({row.status}): "
            f"pick another name or run `ehpc cluster terminate {spec.name}` first"
        )


def _record(journal: Journal, cluster: str, machines: list[Machine]) -> None:
    journal.put_nodes(
        [
            NodeRow(cluster, m.name, m.role, m.provider_id, m.address, m.private_address,
                    m.state, {"login_user": m.login_user, "spot": m.spot, **m.extra})
            for m in machines
        ]
    )


def _facts(machine: Machine, probe: str) -> NodeFacts:
    lines = probe.split()
    cpus = int(machine.extra.get("cpus") or lines[0])
    memory = int(machine.extra.get("memory_mb") or int(lines[1]) * 9 // 10)
    return NodeFacts(machine.name, machine.role, machine.private_address, cpus, memory)


def create_cluster(
    spec: ClusterSpec,
    progress: Progress | None = None,
    journal: Journal | None = None,
    provision_only: bool = False,
) -> ClusterContext:
    """Create (or finish creating) a cluster. `provision_only` stops once the machines exist
    and the SSH files are written (status `provisioned`): no SSH, no bootstrap."""
    progress = progress or Progress()
    journal = journal or Journal()
    provider = get_provider(spec.provider, spec.settings)
    if spec.spot and not provider.spot_in_launch:  # spot requests, each node joins when fulfilled
        from .spot import request_spot_cluster

        return request_spot_cluster(spec, progress, journal, provision_only)
    provider.check_ready(spec)
    if provider.shares_host_software:  # its nodes run this machine's /usr
        require_packages(required_commands(spec.scheduler), f"{spec.scheduler} nodes")
    check_shared_choice(spec)
    _start(spec, journal)
    progress.note(
        f"Creating cluster {spec.name}: 1 head + {spec.size} compute nodes, {spec.scheduler}, "
        f"on {spec.provider}"
    )
    try:
        _build(spec, provider, journal, progress, provision_only)
    except KeyboardInterrupt:
        journal.event(spec.name, "interrupted", "create interrupted")
        raise
    except Exception as err:
        journal.set_status(spec.name, "failed", str(err))
        raise
    journal.set_status(spec.name, "provisioned" if provision_only else "running")
    return open_cluster(spec.name, journal)


def _build(
    spec: ClusterSpec, provider: Provider, journal: Journal, progress: Progress, provision_only: bool
) -> None:
    directory = journal.cluster_dir(spec.name)
    keys = ClusterKeys(directory, spec.name)
    plans = plan_nodes(spec, provider, keys)

    with progress.step(f"launching 1 head + {spec.size} compute nodes on {spec.provider}"):
        machines = provider.launch(spec, plans, progress.detail)
        _record(journal, spec.name, machines)
    bootstrap_machines(spec, provider, keys, machines, progress, provision_only, journal)


def bootstrap_machines(
    spec: ClusterSpec, provider: Provider, keys: ClusterKeys, machines: list[Machine],
    progress: Progress, provision_only: bool = False, journal: Journal | None = None,
) -> None:
    """Write the SSH files for `machines` (the head and the compute nodes there are so far) and,
    unless provision_only, bootstrap them. Rerunnable: the spot monitor calls it as nodes join."""
    directory = keys.directory
    head = next(m for m in machines if m.role == "head")
    hosts = [
        SshHost(m.name, m.address, m.private_address, m.login_user,
                keys.host_key(host_key_owner(spec, provider, m.name, m.role))[1])
        for m in machines
    ]
    write_ssh_files(directory, keys.identity, hosts, jump=head.name)
    if provision_only:
        return
    shell = ClusterShell(directory, {m.name: m.login_user for m in machines})

    with progress.step("waiting for SSH on every node (host keys pinned)"):
        probes = in_parallel(shell.wait_reachable, [m.name for m in machines])
        facts = [_facts(m, p) for m, p in zip(machines, probes, strict=True)]

    if journal is not None and (storage := create_time_storage(spec)):
        with progress.step(storage):
            setup_shared_dir(open_cluster(spec.name, journal), progress)

    layout = ClusterLayout(
        name=spec.name,
        scheduler=spec.scheduler,
        shared_dir=spec.shared_dir,
        cluster_user=spec.cluster_user,
        nodes=facts,
        munge_key=keys.munge_key(),
        accounting=spec.accounting,
    )

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
