"""The budget (`--budget USD`, `[CLUSTER] BUDGET`), kept by the head agent: the client need not
run. The agent prices the cluster's runs every CHECK_EVERY seconds (`cost.price_runs`); at 80% of
the budget it warns once (an event, which `cluster status` and the dashboard show), at 100% it
does BUDGET_ACTION once:

- `stop-jobs`: the scheduler starts no more jobs (Slurm's partition INACTIVE also refuses new
  ones; Grid Engine's queue disabled still queues them); running jobs go on;
- `scale-to-zero`: the compute nodes are removed (their jobs requeued, waiting for nodes);
- `terminate`: the whole cluster goes through its provider, as `--autostop --down` does.

Once spent, the agent neither repairs nor autoscales (`spent`). `ehpc cluster budget NAME USD`
sets a new budget (`set_budget`, on the head); under it, jobs start again. Every decision is an
event in the journal (kind `budget`, its message naming the amount), so a restarted agent knows
what it already did for this budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..config import ClusterSpec, Settings
from ..errors import ConfigError, EhpcError
from ..state.runs import format_usd
from .context import ClusterContext, open_cluster
from .cost import WARN_AT, price_runs, report
from .membership import remove_nodes
from .progress import Progress

CHECK_EVERY = 2.0  # seconds between two looks (journal reads; a price API only when one is stale)


def recorded_spec(context: ClusterContext) -> ClusterSpec:
    """The cluster's settings as its journal has them now, not as they were when `context`
    was opened (another process may have changed them since)."""
    row = context.journal.get_cluster(context.name)
    return context.spec if row is None else ClusterSpec.from_public(row.spec)


def _budget_words(amount: float) -> str:
    return f"the ${amount:g} budget"


@dataclass
class BudgetWatch:
    context: ClusterContext
    checked: float = field(default=0.0)
    spent: bool = False  # this budget is spent (as of the last look)

    def settings(self) -> tuple[float | None, str]:
        """The budget and action as the journal has them now (`ehpc cluster budget` changes
        them while the agent runs)."""
        spec = recorded_spec(self.context)
        amount = spec.settings.get("CLUSTER", "BUDGET")
        return (float(amount) if amount else None,
                str(spec.settings.get("CLUSTER", "BUDGET_ACTION") or "stop-jobs"))

    def said(self, what: str, amount: float) -> bool:
        words = f"{what} {_budget_words(amount)}"
        return any(m.startswith(words) for m in
                   self.context.journal.messages(self.context.name, "budget"))

    def tick(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.checked < CHECK_EVERY:
            return
        self.checked = now
        amount, action = self.settings()
        self.spent = amount is not None and self.said("spent", amount)
        if amount is None or self.spent:
            return
        context = self.context
        price_runs(context)
        so_far = report(context).so_far
        if so_far >= amount:
            context.journal.event(context.name, "budget",
                                  f"spent {_budget_words(amount)} ({format_usd(so_far)}): {action}")
            progress.note(f"budget spent: {action}")
            self.spent = True
            self.act(action, progress)
        elif so_far >= WARN_AT * amount and not self.said("80% of", amount):
            context.journal.event(context.name, "budget",
                                  f"80% of {_budget_words(amount)} used ({format_usd(so_far)})")

    def act(self, action: str, progress: Progress) -> None:
        context = self.context
        if action == "terminate":
            context.fleet.terminate(progress.detail)  # the head, this agent with it
            return
        context.shell.run(context.head, context.scheduler.close_argv())
        if action == "scale-to-zero":
            computes = [r.name for r in context.journal.nodes(context.name) if r.role == "compute"]
            if computes:
                remove_nodes(context, computes, progress, now=True)


def record_budget(context: ClusterContext, amount: float | None, action: str | None) -> str:
    """Record a new budget (None: none) and its action in the cluster's settings; the line
    that says so."""
    spec = recorded_spec(context)
    spec.settings.put("CLUSTER", "BUDGET", amount, "ehpc cluster budget")
    if action:
        spec.settings.put("CLUSTER", "BUDGET_ACTION", action, "ehpc cluster budget")
    line = (f"budget set to ${amount:g} ({spec.settings.get('CLUSTER', 'BUDGET_ACTION')})"
            if amount is not None else "budget removed")
    context.journal.set_spec(context.name, spec.to_public(), line, kind="budget")
    return line


def set_budget(context: ClusterContext, amount: float | None, action: str | None) -> str:
    """A new budget on the head: refused when the cost so far is over it already; recorded;
    and the scheduler starts jobs again (a spent budget's `stop-jobs` is undone)."""
    if amount is not None:
        price_runs(context)
        so_far = report(context).so_far
        if so_far >= amount:
            raise ConfigError(f"the cluster has cost {format_usd(so_far)} already: a budget of "
                              f"${amount:g} would be spent at once")
    line = record_budget(context, amount, action)
    context.shell.run(context.head, context.scheduler.open_argv(), check=False)
    return line


def set_cluster_budget(name: str, amount: float | None, action: str | None,
                       settings: Settings | None = None) -> str:
    """`ehpc cluster budget`: the head agent keeps the new budget; this client records it too."""
    from ..agent.install import call_agent, has_agent

    context = open_cluster(name, settings=settings)
    if context.row.status != "running" or not has_agent(context):
        raise EhpcError(f"cluster {name} is {context.row.status} without a head agent to keep a "
                        f"budget (`ehpc cluster agent {name}` installs it on a running cluster)")
    argv = ["budget", "off" if amount is None else repr(amount)]
    line = str(call_agent(context, [*argv, *(["--action", action] if action else [])]))
    record_budget(context, amount, action)
    return line
