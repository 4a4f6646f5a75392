"""Idle stop (`--autostop MIN [--down]`): a cluster with nothing to do stops paying for itself.

Idle means: no job queued or running, and nobody logged in on the head (`who`); the clock starts
again at the first sign of use. After AUTOSTOP minutes idle the agent removes the compute nodes
(the head keeps the shared directory; `ehpc cluster resize NAME --add N` brings nodes back, and an
autoscaled pool powers them up for the next job), or with AUTOSTOP_DOWN terminates the whole
cluster through its provider. The client's `ehpc cluster terminate` then finds nothing left on
the local provider; on a cloud the head cannot outlive its own instance, and what can only be
deleted after it (AWS's security group, GCE's firewall rules) waits for that command, which
finds it by its tags.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .context import ClusterContext
from .membership import remove_nodes
from .progress import Progress

CHECK_EVERY = 10.0  # seconds between two looks


@dataclass
class IdleStop:
    context: ClusterContext
    idle_since: float | None = None
    checked: float = field(default=0.0)
    stopped: bool = False

    @property
    def minutes(self) -> float:
        return float(self.context.spec.settings.get("CLUSTER", "AUTOSTOP") or 0)

    def busy(self) -> bool:
        context = self.context
        listing = context.shell.run(context.head, context.scheduler.list_argv(), check=False)
        if listing.returncode != 0 or context.scheduler.parse_list(listing.stdout):
            return True  # jobs (or a scheduler that cannot tell: not idle)
        who = context.shell.run(context.head, ["who"], check=False)
        return bool(who.stdout.strip())

    def tick(self, progress: Progress) -> None:
        now = time.monotonic()
        if not self.minutes or now - self.checked < CHECK_EVERY:
            return
        self.checked = now
        if self.busy():
            self.idle_since, self.stopped = None, False
            return
        self.idle_since = self.idle_since or now
        if self.stopped or now - self.idle_since < self.minutes * 60:
            return
        context = self.context
        computes = [r.name for r in context.journal.nodes(context.name) if r.role == "compute"]
        if context.spec.settings.get("CLUSTER", "AUTOSTOP_DOWN"):
            context.journal.event(context.name, "autostop", f"idle {self.minutes:g} min: terminating")
            context.fleet.terminate(progress.detail)  # the head, this agent with it
        elif computes:
            context.journal.event(context.name, "autostop",
                                  f"idle {self.minutes:g} min: removing {', '.join(computes)}")
            remove_nodes(context, computes, progress)
        self.stopped = True
