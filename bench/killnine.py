"""What the kill -9 benches share (killnine_local.py, killnine_clouds.py): the CLI run as a user
runs it or SIGKILLed part-way, one trial of an operation, and the figures per operation.

A trial: prepare what the operation works on, run its command and SIGKILL the CLI after a random
delay within the operation's measured duration, rerun the same command, check the result (did
the rerun finish the work, is anything there twice), then terminate the cluster and count what
of it is left. Only the CLI's own process is killed, as when the client crashes or is killed by
the OOM killer: processes it started (ssh to a node, a node's namespace) live on.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EHPC = [sys.executable, "-m", "elastichpc"]


class Cli:
    """`ehpc` with one environment (state directory, emulator endpoints)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*EHPC, *args], env=self.env, capture_output=True, text=True,
                              timeout=600)

    def killed(self, delay: float, *args: str) -> bool:
        """Run, SIGKILL after `delay` s; True when it was killed before finishing."""
        proc = subprocess.Popen([*EHPC, *args], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True


Check = Callable[[str, subprocess.CompletedProcess[str]], tuple[bool, int]]


@dataclass
class Operation:
    """A command to kill and rerun on cluster NAME; `prepare` makes what it works on; `check`
    tells, after the rerun, whether the work is done and how many resources are there twice."""

    name: str
    argv: Callable[[str], list[str]]
    check: Check
    prepare: Callable[[str], None] = field(default=lambda _name: None)


def finished(_name: str, rerun: subprocess.CompletedProcess[str]) -> tuple[bool, int]:
    """The check of a command whose exit code says it all (a terminate)."""
    return rerun.returncode == 0, 0


def full_run(cli: Cli, op: Operation, name: str, teardown: Callable[[str], Any]) -> float:
    """Seconds the operation takes when nothing kills it (the range of the random delays)."""
    op.prepare(name)
    start = time.perf_counter()
    out = cli.run(*op.argv(name))
    seconds = time.perf_counter() - start
    teardown(name)
    if out.returncode != 0:
        raise SystemExit(f"ehpc {' '.join(op.argv(name))} failed: {out.stderr.strip()}")
    return seconds


def trial(cli: Cli, op: Operation, name: str, full_s: float,
          teardown: Callable[[str], dict[str, int]]) -> dict[str, Any]:
    delay = random.uniform(0.05, 0.9 * full_s)
    op.prepare(name)
    record: dict[str, Any] = {"operation": op.name, "cluster": name, "delay_s": round(delay, 2),
                              "killed": cli.killed(delay, *op.argv(name))}
    rerun = cli.run(*op.argv(name))
    record["rerun_ok"], record["duplicates"] = op.check(name, rerun)
    record["rerun_error"] = rerun.stderr.strip().splitlines()[-1:] if rerun.returncode else []
    leaked = teardown(name)  # terminates the cluster, then counts what of it is left
    record["leaked"] = {kind: count for kind, count in leaked.items() if count}
    print(json.dumps(record), flush=True)
    return record


def run_trials(cli: Cli, ops: list[Operation], trials: int, prefix: str,
               teardown: Callable[[str], dict[str, int]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every operation: one full run, then `trials` killed ones; the summary and the records."""
    summary, records = {}, []
    for number, op in enumerate(ops):
        full_s = full_run(cli, op, f"{prefix}{number}ref", teardown)
        mine = [trial(cli, op, f"{prefix}{number}t{i}", full_s, teardown) for i in range(trials)]
        killed = [r for r in mine if r["killed"]]  # the others had finished: nothing to resume
        summary[op.name] = {
            "trials": len(mine), "killed_mid_way": len(killed),
            "rerun_finished_after_kill": sum(r["rerun_ok"] for r in killed),
            "rerun_failed": sum(not r["rerun_ok"] for r in mine),
            "duplicated_resources": sum(r["duplicates"] for r in mine),
            "leaked_resources": sum(sum(r["leaked"].values()) for r in mine),
            "full_run_s": round(full_s, 2),
        }
        records += mine
    return summary, records
