"""The agent's loop on the head: every second, replace reclaimed nodes, keep the budget, autoscale,
idle stop.

Each watcher runs under the membership lock, so a resize the client asked for and a repair never
change the nodes at the same time. The loop survives any error of one round (logged and written
to the journal as an event); the supervisor (systemd or a restart loop) restarts the process if
it dies.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import __version__
from ..orchestration.autoscale import scaler_for
from ..orchestration.budget import BudgetWatch
from ..orchestration.idlestop import IdleStop
from ..orchestration.progress import Progress
from ..orchestration.repair import Repairer
from .head import membership_lock, open_head

INTERVAL = 1.0


class LogProgress(Progress):
    """Progress into the agent's log (its standard error): notes, and each step with its time
    (what bench/elastic_local.py splits a replacement into)."""

    def note(self, line: str) -> None:
        print(f"{time.time():.3f} {line}", file=sys.stderr, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        self.note(f"step {time.monotonic() - start:.2f}s {title}")


class Agent:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.context = open_head(directory)
        self.repairer = Repairer(self.context, self.context.spec.settings.get("CLUSTER", "FAILOVER"))
        self.scaler = scaler_for(self.context)
        self.idle_stop = IdleStop(self.context)
        self.budget = BudgetWatch(self.context)
        self.progress = LogProgress()

    def run(self) -> None:
        (self.directory / "agent.pid").write_text(str(os.getpid()))
        started = f"agent {__version__} started (pid {os.getpid()})"
        self.context.journal.event(self.context.name, "agent", started)
        # -- the web API and dashboard (agent/web), served in a thread beside this loop --
        from .web.app import serve

        serve(self.directory)
        # --
        while True:
            try:
                self.tick()
            except Exception as err:  # one bad round must not end the agent
                traceback.print_exc()
                self.context.journal.event(self.context.name, "agent-error", f"{type(err).__name__}: {err}")
                time.sleep(5 * INTERVAL)
            time.sleep(INTERVAL)

    def tick(self) -> None:
        with membership_lock(self.directory):
            lost = self.repairer.lost()
            if lost:
                self.progress.note(f"lost: {', '.join(lost)}")
                self.repairer.take_down(lost)
            self.budget.tick(self.progress)
            if self.budget.spent:  # no new machine once the money is spent
                return
            self.repairer.replace_lost(self.progress)
            if self.scaler is not None:
                self.scaler.tick(self.progress)
            self.idle_stop.tick(self.progress)
