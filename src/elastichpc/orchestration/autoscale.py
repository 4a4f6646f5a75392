"""Autoscaling: the compute nodes above a pool's minimum exist only while there is work for them.

Slurm (and PBS, Slurm underneath) does it itself with power saving: the autoscaled nodes are
CLOUD nodes in slurm.conf, and its resume and suspend programs leave request files on the head
that the agent carries out here (`PowerRequests`). Grid Engine has nothing alike: `QueueScaler`
watches the queue, powers nodes up for pending tasks and down after SCALEDOWN_IDLE seconds idle,
through the same membership changes as a resize. Both run in the head agent.

A launch the provider refuses marks those nodes down at once (Slurm requeues the job that waited
for them and places it elsewhere); the pool is not asked again for a cool-down.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EhpcError
from .context import ClusterContext
from .membership import add_nodes, remove_nodes, running_machines
from .plan import cloud_nodes
from .progress import Progress
from .repair import COOL_DOWN

REQUESTS = Path("/var/spool/ehpc-agent")  # where Slurm's resume/suspend programs leave requests
BOOT_AFTER_S = 2.5  # a powered-up node boots at least this long after Slurm asked for it


@dataclass
class Scaler:
    context: ClusterContext
    refused_until: dict[str, float] = field(default_factory=dict)  # pool -> end of cool-down
    down_until: dict[str, float] = field(default_factory=dict)  # node marked down -> then resumed

    def tick(self, progress: Progress) -> None:
        """One look: carry out what is due."""
        raise NotImplementedError

    def power_up(self, names: list[str], progress: Progress) -> None:
        """Launch autoscaled nodes (their pools from the spec) and join them."""
        context, pools = self.context, cloud_nodes(self.context.spec)
        by_pool: dict[str, list[str]] = {}
        for name in names:
            if name in pools:
                by_pool.setdefault(pools[name], []).append(name)
        for pool, group in by_pool.items():
            context.journal.event(context.name, "power-up", f"{', '.join(group)} on {pool}")
            try:
                if self.refused_until.get(pool, 0) > time.monotonic():
                    raise EhpcError(f"{pool} refused a launch less than {COOL_DOWN:.0f}s ago")
                add_nodes(context, group, progress, pool, stay=running_machines(context, group),
                          declared=context.scheduler.power_saving)
            except EhpcError as err:
                self.refused_until.setdefault(pool, time.monotonic() + COOL_DOWN)
                self.mark_down(group, f"launch refused: {err}")

    def mark_down(self, names: list[str], why: str) -> None:
        context = self.context
        context.shell.run(context.head, context.scheduler.down_argv(names, "ehpc-launch-refused"),
                          check=False)
        context.journal.event(context.name, "launch-failed", f"{', '.join(names)} down: {why}")
        for name in names:
            self.down_until[name] = time.monotonic() + COOL_DOWN

    def power_down(self, names: list[str], progress: Progress) -> None:
        """Remove powered-down nodes' machines (the scheduler already counts them out)."""
        context = self.context
        rows = {r.name for r in context.journal.nodes(context.name)}
        gone = [n for n in names if n in rows]
        if gone:
            with progress.step(f"powering down {len(gone)} nodes"):
                context.fleet.terminate_nodes(gone, progress.detail)
                context.journal.remove_nodes(context.name, gone)
            for name in gone:
                context.shell.forget(name)
        context.journal.event(context.name, "power-down", ", ".join(names))

    def release_down(self) -> None:
        """Nodes marked down after a refused launch may be powered up again after the cool-down."""
        now = time.monotonic()
        ready = [n for n, until in self.down_until.items() if until <= now]
        if ready:
            self.context.shell.run(self.context.head, self.context.scheduler.resume_argv(ready),
                                   check=False)
            for name in ready:
                del self.down_until[name]


@dataclass
class PowerRequests(Scaler):
    """Slurm's resume and suspend requests, carried out in the order they came."""

    directory: Path = REQUESTS

    def tick(self, progress: Progress) -> None:
        self.release_down()
        for path in sorted(self.directory.glob("*.req"), key=lambda p: p.stat().st_mtime):
            asked = path.stat().st_mtime
            action, _, hostlist = path.read_text().strip().partition(" ")
            path.unlink()
            names = self.expand(hostlist)
            if action == "resume":
                # Slurm counts a node up once it booted after the resume request, by its boot
                # time in whole seconds: a local node made at once would look booted before.
                time.sleep(max(0.0, asked + BOOT_AFTER_S - time.time()))
                self.power_up(names, progress)
            elif action == "suspend":
                self.power_down(names, progress)

    def expand(self, hostlist: str) -> list[str]:
        result = self.context.shell.run(self.context.head, ["scontrol", "show", "hostnames", hostlist])
        return result.stdout.split()


@dataclass
class QueueScaler(Scaler):
    """Grid Engine: nodes for pending tasks (one per CPUs-many), removed after idling."""

    idle_since: dict[str, float] = field(default_factory=dict)

    def tick(self, progress: Progress) -> None:
        self.release_down()
        context = self.context
        cloud = cloud_nodes(context.spec)
        up = [r.name for r in context.journal.nodes(context.name) if r.name in cloud]
        listing = context.shell.run(context.head, context.scheduler.list_argv(), check=False)
        jobs = context.scheduler.parse_list(listing.stdout) if listing.returncode == 0 else []
        pending = sum(job.state == "pending" for job in jobs)
        if pending:
            self.idle_since.clear()
            need = math.ceil(pending / (os.cpu_count() or 1))  # nodes the size of this head
            free = [n for n in cloud if n not in up and n not in self.down_until][:need]
            if free:
                self.power_up(free, progress)
            return
        busy = {job.nodes for job in jobs if job.state == "running"}
        now, idle_after = time.monotonic(), int(context.spec.settings.get("CLUSTER", "SCALEDOWN_IDLE"))
        for name in up:
            if name in busy:
                self.idle_since.pop(name, None)
            else:
                self.idle_since.setdefault(name, now)
        done = [n for n in up if now - self.idle_since.get(n, now) >= idle_after]
        if done:
            context.journal.event(context.name, "power-down", f"{', '.join(done)} idle {idle_after}s")
            remove_nodes(context, done, progress)
            for name in done:
                self.idle_since.pop(name, None)


def scaler_for(context: ClusterContext) -> Scaler | None:
    """The cluster's autoscaler, or None when no pool is autoscaled."""
    if not cloud_nodes(context.spec):
        return None
    return PowerRequests(context) if context.scheduler.power_saving else QueueScaler(context)
