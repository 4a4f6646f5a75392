"""Reclaimed spot nodes: noticed, taken out of scheduling at once, jobs requeued, replaced.

Runs in the head agent. A compute node the journal has running but its provider shows gone or
preempted is lost: the scheduler marks it down now (not after its own timeout), its jobs go back
to the queue (and may start at once elsewhere), and a replacement with the same name is launched
in its own pool, or else the next pool of the failover order (whose old pool then loses what its
cloud kept of the node). A pool whose launch was refused is
skipped for a cool-down; with every pool cooling down the node stays down and its jobs run on the
nodes that are left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from ..errors import EhpcError
from .context import ClusterContext
from .membership import LOST, add_nodes, jobs_on, release, running_machines
from .progress import Progress

COOL_DOWN = 300.0  # seconds a pool that refused a launch is not asked again


@dataclass
class Repairer:
    context: ClusterContext
    order: list[str] = field(default_factory=list)  # failover order of pools ([] = the spec's)
    failed_until: dict[str, float] = field(default_factory=dict)  # pool -> end of its cool-down
    skipping: set[str] = field(default_factory=set)  # pools whose cool-down was said

    def lost(self) -> list[str]:
        """Compute nodes the journal has running that their provider no longer runs."""
        machines = {m.name: m for m in self.context.fleet.machines()}
        return sorted(
            row.name for row in self.context.journal.nodes(self.context.name)
            if row.role == "compute" and row.status == "running"
            and (row.name not in machines or machines[row.name].state in LOST)
        )

    def take_down(self, names: list[str]) -> None:
        """The scheduler stops counting on `names` now and their jobs go back to the queue."""
        context, journal = self.context, self.context.journal
        journal.event(context.name, "reclaimed", f"{', '.join(names)} taken away by the provider")
        shell, scheduler, head = context.shell, context.scheduler, context.head
        jobs = jobs_on(context, names)
        shell.run(head, scheduler.down_argv(names, "reclaimed"), check=False)
        rows = {r.name: r for r in journal.nodes(context.name)}
        for name in names:
            shell.forget(name)
            # A cloud node's pin goes with its instance: the replacement makes a key of its own
            # and may carry the same provider id (a GCE instance is its zone and name).
            if not context.fleet.provider(rows[name].pool or context.spec.pools[0].name
                                          ).capabilities.private_boot:
                context.keys.forget_host_key(name)
        if jobs:
            shell.run(head, scheduler.requeue_argv(jobs), check=False)
            release(context, jobs)
        journal.event(context.name, "down", f"{', '.join(names)} down; requeued: {' '.join(jobs) or 'none'}")
        journal.put_nodes([replace(rows[n], status="lost") for n in names])

    def candidates(self, pool: str) -> list[str]:
        """Where a node of `pool` may come back: its pool, then the failover order, minus the
        pools cooling down."""
        order = self.order or [p.name for p in self.context.spec.pools]
        now = time.monotonic()
        places = list(dict.fromkeys([pool, *order]))
        for place in places:  # a pool skipped is said once per cool-down
            left = self.failed_until.get(place, 0) - now
            if left <= 0:
                self.skipping.discard(place)
            elif place not in self.skipping:
                self.skipping.add(place)
                self.context.journal.event(self.context.name, "skipped",
                                           f"{place}: cooling down {left:.0f}s more after its refusal")
        return [p for p in places if self.failed_until.get(p, 0) <= now]

    def replace_lost(self, progress: Progress) -> None:
        """Launch a replacement for every lost node whose pool (or a later one) may launch."""
        context, journal = self.context, self.context.journal
        by_pool: dict[str, list[str]] = {}
        for row in journal.nodes(context.name):
            if row.status == "lost":
                by_pool.setdefault(row.pool or context.spec.pools[0].name, []).append(row.name)
        for pool, names in by_pool.items():
            for place in self.candidates(pool):
                journal.event(context.name, "launching", f"replacements for {', '.join(names)} on {place}")
                try:
                    add_nodes(context, names, progress, place, stay=running_machines(context, names))
                except EhpcError as err:
                    self.failed_until[place] = time.monotonic() + COOL_DOWN
                    journal.event(context.name, "launch-failed",
                                  f"{place} refused (cool-down {COOL_DOWN:.0f}s): {err}")
                    continue
                journal.event(context.name, "replaced", f"{', '.join(names)} running again on {place}")
                if place != pool:
                    self.clear_remains(pool, names)
                break

    def clear_remains(self, pool: str, names: list[str]) -> None:
        """What the old cloud keeps of nodes rebuilt elsewhere (a preempted GCE VM, an evicted
        Azure VM's NIC and disk, a spot request) goes: it would outlive its node, and be listed
        as the node. The local provider keeps nothing of a reclaimed node, and its node names
        are not per site: a call there would remove the replacement."""
        context = self.context
        if context.fleet.place(pool).provider == "local":
            return
        try:
            context.fleet.provider(pool).terminate_nodes(context.name, names)
        except EhpcError as err:  # `cluster terminate` still finds them by their tags
            context.journal.event(context.name, "leftover",
                                  f"{', '.join(names)} on {pool} not removed: {err}")
