"""What clusters exist and what their nodes are doing: the cloud, the journal and the scheduler."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import EhpcError
from ..state import Journal
from ..state.runs import hourly_now, summarize
from .status import reason

if TYPE_CHECKING:
    from ..config import Settings
    from ..providers import Machine


@dataclass
class ClusterSummary:
    name: str
    provider: str
    size: int
    status: str
    created_at: float
    reason: str  # why a failed or half-made cluster is as it is ("" when running)
    cost: float = 0.0  # USD so far, at the prices this client has seen (state/runs.py)
    hourly: float | None = 0.0  # USD per hour now; None when a running machine's is unknown

    @property
    def age_s(self) -> float:
        return time.time() - self.created_at


@dataclass
class NodeStatus:
    name: str
    role: str
    address: str
    state: str  # as the provider sees it: running, stopped, preempted, missing...
    scheduler_state: str  # idle, alloc, down... ("" when the scheduler is not reachable)
    spot: bool
    provider_id: str
    provider: str = ""
    pool: str = ""  # "" for the head
    region: str = ""  # region, zone or local site
    market: str = "on-demand"
    overlay_address: str = ""


def list_clusters(journal: Journal | None = None) -> list[ClusterSummary]:
    journal = journal or Journal()
    prices, now, found = journal.prices(), time.time(), []
    for row in journal.clusters():
        lines = summarize(journal.runs(row.name), prices, now)
        found.append(ClusterSummary(row.name, row.provider, _size(row.spec), row.status,
                                    row.created_at, reason(journal, row),
                                    sum(line.so_far for line in lines), hourly_now(lines)))
    return found


def _size(spec: dict[str, Any]) -> int:
    if isinstance(spec.get("size"), int):
        return int(spec["size"])
    from ..config import ClusterSpec

    try:
        return ClusterSpec.from_public(spec).size
    except EhpcError:  # a row written by a version that validated differently
        return 0


def cluster_with_head(address: str, journal: Journal | None = None) -> str:
    """The cluster whose head answers to `address` (its address, private address or cloud
    id), "" when none does: the guide's `-d`/`--domain`."""
    journal = journal or Journal()
    for row in journal.clusters():
        if any(n.role == "head" and address in (n.address, n.private_address, n.provider_id)
               for n in journal.nodes(row.name)):
            return row.name
    return ""


def list_nodes(
    name: str, journal: Journal | None = None, settings: Settings | None = None
) -> list[NodeStatus]:
    """The cluster's nodes as the provider finds them by tag, with their scheduler state."""
    from concurrent.futures import ThreadPoolExecutor

    from ..agent.install import has_agent, sync_nodes
    from .context import open_cluster

    context = open_cluster(name, journal, settings)
    if context.nodes and context.row.status == "running" and has_agent(context):
        # The agent may have replaced, added or removed nodes since this client last heard.
        with contextlib.suppress(EhpcError, OSError, ValueError):  # unreachable: the journal's view
            sync_nodes(context)
            context = open_cluster(name, journal, settings)

    def scheduler_states() -> dict[str, str]:
        try:
            result = context.shell.run(
                context.head, context.scheduler.nodes_argv(), check=False, timeout=30
            )
        except (EhpcError, OSError):
            return {}
        return context.scheduler.parse_nodes(result.stdout) if result.returncode == 0 else {}

    with ThreadPoolExecutor(max_workers=2) as pool:
        cloud = pool.submit(context.fleet.machines)
        # Only a bootstrapped cluster has a scheduler to ask (a --provision-only one has none).
        bootstrapped = context.nodes and context.row.status == "running"
        sched = pool.submit(scheduler_states) if bootstrapped else None
        machines: dict[str, Machine] = {m.name: m for m in cloud.result()}
        states = sched.result() if sched else {}

    statuses = []
    for node in context.nodes:
        machine = machines.pop(node.name, None)
        statuses.append(
            NodeStatus(
                node.name,
                node.role,
                node.address or node.private_address,
                machine.state if machine else node.status if node.status.startswith("spot-") else "missing",
                states.get(node.name, "-" if node.role == "head" else ""),
                bool(node.info.get("spot")),
                node.provider_id,
                node.provider or (machine.provider if machine else ""),
                node.pool,
                node.region or (machine.region if machine else ""),
                node.market,
                node.overlay_address,
            )
        )
    for machine in machines.values():  # in the cloud but not (yet) in the journal
        statuses.append(
            NodeStatus(machine.name, machine.role, machine.address or machine.private_address,
                       machine.state, states.get(machine.name, ""), machine.spot,
                       machine.provider_id, machine.provider, machine.pool, machine.region,
                       "spot" if machine.spot else "on-demand")
        )
    return statuses
