"""Spot clusters (guide 3.d): an on-demand head, compute nodes from spot requests at a maximum
price, and a monitor that brings each node into the cluster as soon as its request is fulfilled
(not all or nothing).

The monitor keeps its state in the journal: one node row per requested node (status `spot-open`
with its request id) and a `spot-monitor` event with its interval, so `spot resume` picks it up
after the CLI died.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

from ..config import ClusterSpec, Settings
from ..errors import ConfigError, EhpcError
from ..providers import Machine, Provider, SpotPrice, SpotRequest
from ..remote import ClusterKeys
from ..state import Journal, NodeRow
from .context import ClusterContext, open_cluster
from .fleet import Fleet
from .join import bootstrap_machines
from .plan import plan_nodes
from .progress import Progress
from .record import record_machines, start_cluster

DEFAULT_INTERVAL = 60.0
OPEN = "spot-open"  # journal status of a node whose request is not fulfilled yet
ENDED = {"cancelled", "closed", "failed"}


@dataclass
class SpotCheck:
    """What one look at the requests found."""

    joined: list[str]
    waiting: list[str]
    lost: list[str]


def latest_prices(prices: list[SpotPrice]) -> list[SpotPrice]:
    """The newest price of each zone."""
    newest: dict[str, SpotPrice] = {}
    for price in prices:
        if price.zone not in newest or price.at > newest[price.zone].at:
            newest[price.zone] = price
    return [newest[zone] for zone in sorted(newest)]


def request_spot_cluster(
    spec: ClusterSpec,
    progress: Progress | None = None,
    journal: Journal | None = None,
    provision_only: bool = False,
    interval: float | None = None,
    monitor: bool = True,
) -> ClusterContext:
    """Head on demand, then one spot request per compute node; then (unless `monitor` is
    False) watch them until each is fulfilled or gone. Rerunning never requests a node twice."""
    if spec.spot_price is None:
        raise ConfigError("spot nodes need a maximum hourly price: --price 0.06 ([CLUSTER] SPOT_PRICE)")
    progress = progress or Progress()
    journal = journal or Journal()
    interval = interval or float(spec.settings.get("CLUSTER", "SPOT_INTERVAL"))
    fleet = Fleet(spec)
    if not fleet.head.capabilities.spot_requests:  # before anything is recorded
        raise EhpcError(f"the {fleet.head.name} provider has no spot requests (the guide's spot "
                        "instances are on AWS)")
    if len(spec.places) > 1:
        raise EhpcError("spot requests are for a one-pool cluster: give a cluster of several "
                        "pools spot pools instead (--pool PROVIDER:COUNT:spot)")
    fleet.check_ready()
    start_cluster(spec, journal)
    try:
        _request(spec, fleet, journal, progress, spec.spot_price)
        journal.event(spec.name, "spot-monitor",
                      json.dumps({"interval": interval, "provision_only": provision_only}))
    except Exception as err:
        journal.set_status(spec.name, "failed", str(err))
        raise
    if not monitor:
        return open_cluster(spec.name, journal)
    return monitor_spot(spec.name, progress, journal, settings=spec.settings)


def _request(spec: ClusterSpec, fleet: Fleet, journal: Journal, progress: Progress, price: float) -> None:
    provider = fleet.head
    keys = ClusterKeys(journal.cluster_dir(spec.name), spec.name)
    head, *computes = plan_nodes(spec, fleet, keys)
    instance_type = computes[0].instance_type or ""
    with progress.step(f"spot prices of {instance_type} (your maximum: ${price}/h)"):
        for quote in latest_prices(provider.spot_prices(instance_type)):
            progress.note(f"{quote.zone}: ${quote.price:.4f}/h")
    with progress.step("launching the head (on demand)"):
        record_machines(journal, spec.name, fleet.launch([replace(head, spot=False)], progress.detail))
    requested = {row.name for row in journal.nodes(spec.name) if row.info.get("spot_request")}
    todo = [plan for plan in computes if plan.name not in requested]
    if not todo:
        return
    with progress.step(f"requesting {len(todo)} spot nodes at up to ${price}/h"):
        assigned = provider.request_spot(spec, todo, price)
        journal.put_nodes([
            NodeRow(spec.name, name, "compute", "", "", "", OPEN,
                    {"spot": True, "spot_request": request, "login_user": provider.login_user},
                    provider=provider.name, pool=spec.pools[0].name, market="spot")
            for name, request in assigned.items()
        ])
        journal.event(spec.name, "spot-request", f"{len(assigned)} requests at ${price}/h")


def monitor_options(journal: Journal, cluster: str) -> dict[str, object]:
    said = journal.messages(cluster, "spot-monitor")
    if said:
        options: dict[str, object] = json.loads(said[-1])
        return options
    return {"interval": DEFAULT_INTERVAL, "provision_only": False}


def pending_clusters(journal: Journal) -> list[str]:
    """Clusters with spot requests the monitor has not seen fulfilled yet."""
    return [row.name for row in journal.clusters()
            if any(node.status == OPEN for node in journal.nodes(row.name))]


def monitor_spot(
    cluster: str,
    progress: Progress | None = None,
    journal: Journal | None = None,
    interval: float | None = None,
    settings: Settings | None = None,
    max_checks: int | None = None,
) -> ClusterContext:
    """Check the cluster's requests every `interval` seconds (default: what the request chose)
    and bring in each fulfilled node at once, until none is waiting (or `max_checks`)."""
    progress = progress or Progress()
    context = open_cluster(cluster, journal, settings)
    options = monitor_options(context.journal, cluster)
    interval = interval or float(options["interval"])  # type: ignore[arg-type]
    provision_only = bool(options["provision_only"])
    checks = 0
    with progress.step(f"waiting for spot nodes (a check every {interval:g}s)"):
        while True:
            found = check_spot(context, progress, provision_only)
            checks += 1
            progress.detail(f"{len(found.joined)} joined now, {len(found.waiting)} waiting, "
                            f"{len(found.lost)} lost")
            if not found.waiting or (max_checks is not None and checks >= max_checks):
                break
            time.sleep(interval)
    rows = context.journal.nodes(cluster)
    if not any(row.status == OPEN for row in rows):
        running = any(row.role == "compute" and row.status == "running" for row in rows)
        status = ("provisioned" if provision_only else "running") if running else "failed"
        context.journal.set_status(cluster, status, "spot requests settled")
        if status == "running":  # as create's last step: the agent replaces reclaimed nodes
            from ..agent.install import install_agent

            install_agent(open_cluster(cluster, context.journal, settings), progress)
    return open_cluster(cluster, context.journal)


def check_spot(context: ClusterContext, progress: Progress, provision_only: bool) -> SpotCheck:
    """One look at the requests: name and bootstrap what was fulfilled, drop what ended."""
    journal, provider, cluster = context.journal, context.provider, context.name
    waiting = {row.info["spot_request"]: row for row in journal.nodes(cluster) if row.status == OPEN}
    if not waiting:
        return SpotCheck([], [], [])
    requests: dict[str, SpotRequest] = {r.request_id: r for r in provider.spot_requests(cluster)}
    fulfilled: dict[str, str] = {}
    lost = []
    for request_id, row in waiting.items():
        request = requests.get(request_id)
        if request is not None and request.instance_id:
            fulfilled[request.instance_id] = row.name
        elif request is None or request.state in ENDED:
            lost.append(row.name)
            state = request.state if request else "cancelled"
            journal.put_nodes([replace(row, status=f"spot-{state}")])
            progress.note(f"{row.name}: spot request {request_id} {state}")
    joined: list[Machine] = []
    if fulfilled:
        provider.adopt_spot(cluster, fulfilled)
        machines = {m.name: m for m in context.fleet.machines()}
        joined = [machines[name] for name in fulfilled.values()
                  if name in machines and machines[name].state == "running"]
    if joined:
        for machine in joined:
            machine.extra["spot_request"] = waiting_request(waiting, machine.name)
        record_machines(journal, cluster, joined)
        _bootstrap_running(context, provision_only, progress)
        for machine in joined:
            progress.note(f"{machine.name} joined ({machine.provider_id})")
    names = {m.name for m in joined}
    still = [row.name for row in waiting.values() if row.name not in names and row.name not in lost]
    return SpotCheck(sorted(names), still, lost)


def waiting_request(waiting: dict[str, NodeRow], name: str) -> str:
    return next(request for request, row in waiting.items() if row.name == name)


def _bootstrap_running(context: ClusterContext, provision_only: bool, progress: Progress) -> None:
    """The same bootstrap as every create, over the head and every compute node running now."""
    running = {row.name for row in context.journal.nodes(context.name) if row.status == "running"}
    machines = [m for m in context.machines() if m.name in running]
    if not any(m.role == "head" for m in machines):
        raise EhpcError(f"the head of {context.name} is not running: terminate and create it again")
    bootstrap_machines(context.spec, context.fleet, context.keys, machines, progress, provision_only,
                       context.journal)


def list_spot_requests(provider: Provider, journal: Journal,
                       cluster: str = "") -> list[tuple[SpotRequest, str]]:
    """The provider's spot requests (a cluster's, or every ehpc one), each with the node the
    journal assigned it ("" when none)."""
    nodes = {row.info["spot_request"]: row.name for c in journal.clusters()
             for row in journal.nodes(c.name) if row.info.get("spot_request")}
    return [(r, nodes.get(r.request_id, "")) for r in provider.spot_requests(cluster)
            if cluster or r.cluster]


def cancel_spot_requests(provider: Provider, journal: Journal,
                         request_ids: list[str]) -> dict[str, SpotRequest]:
    """Cancel requests; a node still waiting for one is marked cancelled. Returns what the
    provider knew of each request before (a fulfilled one's instance keeps running)."""
    found = {r.request_id: r for r in provider.spot_requests(ids=request_ids)}
    provider.cancel_spot(request_ids)
    for cluster in journal.clusters():
        for row in journal.nodes(cluster.name):
            request = found.get(row.info.get("spot_request", ""))
            if request is not None and row.status == OPEN and not request.instance_id:
                journal.put_nodes([replace(row, status="spot-cancelled")])
    return found
