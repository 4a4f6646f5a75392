"""Reclaimed spot nodes: noticed, taken out of scheduling at once, jobs requeued, replaced.

Runs in the head agent. A compute node the journal has running but its provider shows gone or
preempted is lost: the scheduler marks it down now (not after its own timeout), its jobs go back
to the queue (and may start at once elsewhere), and a replacement with the same name is launched
in its own pool, or else the next pool of the failover order (whose old pool then loses what its
cloud kept of the node).

Every node lost in one round is replaced together (a cloud takes a capacity pool back at once):
each pool's nodes are launched at its first place that may launch, all pools at once; a place
that refuses is skipped for a cool-down and those nodes go to
their next place in the next round of launches. With every place cooling down the nodes stay
down and their jobs run on the nodes that are left. The nodes launched then join the scheduler
in one step; a failure there is not a refusal of the cloud: they are removed and launched again
a little later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from ..errors import EhpcError
from ..providers import Machine
from .context import ClusterContext
from .membership import (
    LOST,
    Launch,
    admit,
    head_of,
    jobs_on,
    prepare,
    rejoin,
    release,
    running_machines,
)
from .overlay import share_psk
from .progress import Progress

COOL_DOWN = 300.0  # seconds a pool that refused a launch is not asked again
RETRY = 30.0  # seconds before nodes whose set-up failed are launched again


@dataclass
class Repairer:
    context: ClusterContext
    order: list[str] = field(default_factory=list)  # failover order of pools ([] = the spec's)
    failed_until: dict[str, float] = field(default_factory=dict)  # pool -> end of its cool-down
    skipping: set[str] = field(default_factory=set)  # pools whose cool-down was said
    retry_at: dict[str, float] = field(default_factory=dict)  # node -> next launch after a failure

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

    def waiting(self) -> dict[str, list[str]]:
        """Lost nodes to launch now, by their pool."""
        now, default = time.monotonic(), self.context.spec.pools[0].name
        by_pool: dict[str, list[str]] = {}
        for row in self.context.journal.nodes(self.context.name):
            if row.status == "lost" and self.retry_at.get(row.name, 0) <= now:
                by_pool.setdefault(row.pool or default, []).append(row.name)
        return by_pool

    def replace_lost(self, progress: Progress) -> None:
        """Launch a replacement for every lost node whose pool (or a later one) may launch, then
        join them all to the scheduler at once."""
        waiting = self.waiting()
        if not waiting:
            return
        stay = running_machines(self.context, [n for names in waiting.values() for n in names])
        head = head_of(self.context, stay)
        launched = self.launch_all(waiting, head, progress)
        if launched:
            self.join(launched, head, progress)

    def launch_all(self, waiting: dict[str, list[str]], head: Machine, progress: Progress
                   ) -> dict[str, tuple[Launch, list[Machine]]]:
        """Rounds of launches: every waiting pool at its next place that may launch, all at once,
        until each has launched or has no place left. Returns pool -> (launch, machines)."""
        context, journal = self.context, self.context.journal
        places = {pool: self.candidates(pool) for pool in waiting}
        launched: dict[str, tuple[Launch, list[Machine]]] = {}
        while waiting:
            now = time.monotonic()
            launches: dict[str, Launch] = {}
            for pool, names in waiting.items():
                place = next((p for p in places[pool] if self.failed_until.get(p, 0) <= now), "")
                if place:
                    places[pool] = places[pool][places[pool].index(place) + 1:]
                    journal.event(context.name, "launching",
                                  f"replacements for {', '.join(names)} on {place}")
                    launches[pool] = prepare(context, names, place, head)
            if not launches:  # every place left is cooling down: these stay down for now
                break
            plans = [plan for launch in launches.values() for plan in launch.plans]
            where = ", ".join(dict.fromkeys(launch.place for launch in launches.values()))
            with progress.step(f"launching {len(plans)} nodes on {where}"):
                answers = context.fleet.launch_each(plans, progress.detail)
            for pool, launch in launches.items():
                answer = answers[launch.place]
                if isinstance(answer, EhpcError):
                    self.refused(launch, answer)
                else:
                    launched[pool] = (launch, [m for m in answer if m.name in launch.names])
                    del waiting[pool]
                    if launch.place != pool:
                        self.clear_remains(pool, launch.names)
            waiting = {pool: names for pool, names in waiting.items() if places[pool]}
        return launched

    def refused(self, launch: Launch, err: EhpcError) -> None:
        """A place that refused is not asked again for a while; what it may have made of the
        nodes before refusing goes."""
        self.failed_until[launch.place] = time.monotonic() + COOL_DOWN
        self.context.journal.event(self.context.name, "launch-failed",
                                   f"{launch.place} refused (cool-down {COOL_DOWN:.0f}s): {err}")
        self.clear_remains(launch.place, launch.names)

    def join(self, launched: dict[str, tuple[Launch, list[Machine]]], head: Machine,
             progress: Progress) -> None:
        """The launched replacements join the scheduler in one step. Nodes lost meanwhile are
        taken down first, so no set-up waits on a dead node."""
        context, journal = self.context, self.context.journal
        names = [n for launch, _ in launched.values() for n in launch.names]
        try:
            joined = [m for launch, machines in launched.values()
                      for m in admit(context, launch, machines, head, progress)]
            gone = [n for n in self.lost() if n not in names]
            if gone:
                self.take_down(gone)
            rejoin(context, running_machines(context, names), joined, [], progress)
            own = {n for launch, _ in launched.values() if launch.overlay and launch.own_key
                   for n in launch.names}
            if own:
                share_psk(context, [m for m in joined if m.name in own], head, progress)
        except EhpcError as err:
            self.set_up_failed(names, err)
            return
        for launch, _ in launched.values():
            journal.event(context.name, "replaced",
                          f"{', '.join(launch.names)} running again on {launch.place}")

    def set_up_failed(self, names: list[str], err: EhpcError) -> None:
        """Not the cloud's refusal (no cool-down): the new machines go, and the nodes are lost
        again, to be launched anew after RETRY seconds."""
        context, journal = self.context, self.context.journal
        journal.event(context.name, "setup-failed",
                      f"{', '.join(names)}: {err} (removed; launched again in {RETRY:.0f}s)")
        try:
            context.fleet.terminate_nodes(names, lambda line: None)
        except EhpcError as failed:  # `cluster terminate` still finds them by their tags
            journal.event(context.name, "leftover", f"{', '.join(names)} not removed: {failed}")
        rows = {r.name: r for r in journal.nodes(context.name)}
        journal.put_nodes([replace(rows[n], status="lost") for n in names if n in rows])
        for name in names:
            self.retry_at[name] = time.monotonic() + RETRY

    def clear_remains(self, pool: str, names: list[str]) -> None:
        """What a cloud keeps of nodes now launched elsewhere (a preempted GCE VM, an evicted
        Azure VM's NIC and disk, a spot request, a launch it began before it refused) goes: it
        would outlive its node, and be listed as the node. The local provider keeps nothing of
        a reclaimed node, and its node names are not per site: a call there would remove the
        replacement."""
        context = self.context
        if context.fleet.place(pool).provider == "local":
            return
        try:
            context.fleet.provider(pool).terminate_nodes(context.name, names)
        except EhpcError as err:  # `cluster terminate` still finds them by their tags
            context.journal.event(context.name, "leftover",
                                  f"{', '.join(names)} on {pool} not removed: {err}")
