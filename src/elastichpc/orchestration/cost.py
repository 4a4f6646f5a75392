"""What a cluster costs: so far, per hour now, by pool, cloud and market, and per job.

The figures come from the journal's runs (each machine's billed life, `state/runs.py`) priced
by the providers' price APIs (`Provider.price`, as the dry run prices a plan): a price is asked
once per type, place and market, a spot price again when it is older than FRESH (spot prices
move), and a price the provider cannot tell again after FRESH too. Where no price is known the
report says so and counts those machine-hours apart, never guessing. A machine is billed from
when the journal first saw it pending or running to when it saw it go: a lower bound of what
the cloud bills (it also bills boot time before that, and disks and traffic, which are not
counted here).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import EhpcError
from ..providers.preview import MachineGroup
from ..schedulers.base import JobInfo
from ..state.runs import CostLine, Price, Run, hourly_now, summarize
from ..state.runs import format_usd as format_usd  # (re-exported: the cost words in one place)
from .context import ClusterContext

FRESH = 600.0  # seconds a spot price (or "unknown") is taken as current
WARN_AT = 0.8  # of the budget: the agent warns once


@dataclass
class CostReport:
    cluster: str
    so_far: float
    hourly: float | None
    unknown_hours: float
    since: float | None  # when the first machine started
    lines: list[CostLine] = field(default_factory=list)
    budget: float | None = None
    budget_action: str = ""
    budget_events: list[str] = field(default_factory=list)  # what the keeper said, oldest first

    @property
    def used(self) -> float | None:
        """The share of the budget spent (0.8 = 80%), None without a budget."""
        return self.so_far / self.budget if self.budget else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "used": self.used}


def price_runs(context: ClusterContext, now: float | None = None) -> None:
    """Ask the providers for the prices the cluster's runs need and the journal lacks."""
    now = time.time() if now is None else now
    journal = context.journal
    latest = {p.key: p for p in journal.prices()}  # oldest first: the newest stays
    wanted: dict[tuple[str, str, str, str], Run] = {}
    for run in journal.runs(context.name):
        seen = latest.get(run.key)
        moving = run.ended is None and (run.market == "spot" or (seen and seen.hourly is None))
        if seen is None or (moving and now - seen.at > FRESH):
            wanted.setdefault(run.key, run)
    found: list[Price] = []
    by_place: dict[str, list[tuple[tuple[str, str, str, str], MachineGroup]]] = {}
    for key, run in wanted.items():
        if run.provider == "local":
            found.append(Price(*key, now, 0.0, "this machine"))
            continue
        group = MachineGroup("compute" if run.pool else "head", run.instance_type or None, 1,
                             spot=run.market == "spot")
        by_place.setdefault(run.pool or context.spec.head.name, []).append((key, group))
    for place, items in by_place.items():
        groups = [group for _, group in items]
        try:
            context.fleet.provider(place).price(context.spec.at(context.fleet.place(place)),
                                                groups)
        except (EhpcError, StopIteration) as err:  # StopIteration: a place the spec lost
            for group in groups:  # a group priced before the error keeps its price and source
                if group.hourly is None or not group.price_source:
                    group.hourly = None
                    group.price_source = (
                        f"no price: {err or place + ' is not a place of the cluster'}")
        found += [Price(*key, now, group.hourly, group.price_source or "no price")
                  for key, group in items]
    if found:
        journal.add_prices(found)


def report(context: ClusterContext, now: float | None = None) -> CostReport:
    """The cluster's cost from what the journal holds (runs and prices), priced or not."""
    journal = context.journal
    runs = journal.runs(context.name)
    lines = summarize(runs, journal.prices(), time.time() if now is None else now)
    settings = context.spec.settings
    budget = settings.get("CLUSTER", "BUDGET")
    return CostReport(
        cluster=context.name,
        so_far=sum(line.so_far for line in lines),
        hourly=hourly_now(lines),
        unknown_hours=sum(line.unknown_hours for line in lines),
        since=min((run.started for run in runs), default=None),
        lines=lines,
        budget=float(budget) if budget else None,
        budget_action=str(settings.get("CLUSTER", "BUDGET_ACTION") or ""),
        budget_events=journal.messages(context.name, "budget"),
    )


def node_prices(context: ClusterContext) -> dict[str, float | None]:
    """Each node's hourly price on its latest instance (None: not known)."""
    latest: dict[tuple[str, str, str, str], float] = {}
    for price in context.journal.prices():
        if price.hourly is not None:
            latest[price.key] = price.hourly
    return {run.node: latest.get(run.key) for run in context.journal.runs(context.name)}


def job_cost(info: JobInfo, prices: dict[str, float | None]) -> float | None:
    """A job's estimated cost: its run time × the hourly price of each node it ran on (a node
    it shared with other jobs counts whole). None when the time or a price is unknown."""
    from .jobs import hostnames

    seconds = elapsed_seconds(info.elapsed)
    nodes = hostnames(info.nodes) if info.nodes else []
    if seconds is None or not nodes:
        return None
    hourly = [prices.get(node) for node in nodes]
    if None in hourly:
        return None
    return seconds * sum(h for h in hourly if h is not None) / 3600


_ELAPSED = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)s?$")


def elapsed_seconds(text: str) -> float | None:
    """Slurm's `[D-][HH:]MM:SS`, Grid Engine's seconds (`12` or `12.5s`); None if neither."""
    match = _ELAPSED.match(text.strip())
    if not match:
        return None
    days, first, second, seconds = match.groups()
    hours, minutes = (first, second) if second is not None else (None, first)
    return (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
            + float(seconds))


def cluster_cost(context: ClusterContext) -> tuple[CostReport, str]:
    """The report, from the head agent's record where the cluster has one (it saw the repairs
    and autoscaling), else from this client's, priced first. The second value says why the
    agent's record was not read ("" when it was, or there is none)."""
    from ..agent.install import has_agent, sync_runs

    note = ""
    if context.row.status == "running" and has_agent(context):
        try:
            said = sync_runs(context)
            return replace(report(context), budget_events=said), ""
        except EhpcError as err:
            note = f"the head agent's record was not read ({err}): this client's record is shown"
    price_runs(context)
    return report(context), note


def jobs_cost(context: ClusterContext, since: float = 0.0) -> list[tuple[JobInfo, float | None]]:
    """The finished jobs submitted through ehpc, with their estimated costs, dearest first."""
    from .jobs import job_history

    prices = node_prices(context)
    infos = [info for info in job_history(context, context.journal.jobs(context.name, since))
             if info.finished]
    costs = [(info, job_cost(info, prices)) for info in infos]
    return sorted(costs, key=lambda item: -1.0 if item[1] is None else item[1], reverse=True)
