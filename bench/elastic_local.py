"""Elasticity on the local provider, real CLI, real Slurm (or Grid Engine), the head agent:
- spot repair: from `ehpc node reclaim` to the replacement idle in the scheduler, split into
  detection, take-down (scheduler down + requeue), launch, boot, configure and scheduler;
- autoscaling: from a job submitted to a cluster with no compute node to the job running on a
  powered-up node (launch, boot, configure), and from then to the node's removal when idle;
- a resize --add of one node.

Usage (as root): python bench/elastic_local.py [slurm|sge] [ROUNDS]
Writes bench/results/elastic_local_<scheduler>.json.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from results_file import write_results

AGENT_LOG = "cat /var/lib/ehpc-agent/agent.log"  # the local head's login user is root


def ehpc(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "elastichpc", *args], env=env, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"ehpc {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def events(env: dict[str, str], name: str) -> list[dict]:
    found: list[dict] = json.loads(ehpc(env, "cluster", "events", name, "--json"))
    return found


def agent_steps(env: dict[str, str], name: str, since: float) -> dict[str, float]:
    """Step durations the agent logged for its last replacement (after `since`)."""
    return steps_after(ehpc(env, "ssh", name, "--", AGENT_LOG), since)


def steps_after(log: str, since: float) -> dict[str, float]:
    """Step durations in the agent's log (its LogProgress lines "TIME step N.NNs TITLE") after
    `since`, by title."""
    steps: dict[str, float] = {}
    for line in log.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[1] == "step" and float(parts[0]) >= since:
            steps[parts[3]] = float(parts[2].rstrip("s"))
    return steps


def replacement_split(start: float, at: dict[str, float], steps: dict[str, float]) -> dict[str, float]:
    """A replacement from `start` (the node taken away) to its "replaced" event, split by the
    agent's events (`at`: kind -> time) and its steps; `other` is what neither covers (the
    agent's loop, planning the node, the journal)."""

    def step(*prefixes: str) -> float:
        return sum(v for k, v in steps.items() if k.startswith(prefixes))

    split = {
        "detection_s": at["reclaimed"] - start,
        "take_down_s": at["down"] - at["reclaimed"],
        "launch_s": step("launching"),
        "boot_s": step("waiting for SSH"),
        # the nodes that stay and the head told of the new one, its shared directory, its setup
        "configure_s": step("updating", "shared directory", "configuring"),
        "scheduler_s": step("waiting for 1 new nodes"),
    }
    total = at["replaced"] - start
    return {key: round(value, 2) for key, value in
            {**split, "other_s": total - sum(split.values()), "reclaim_to_idle_s": total}.items()}


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 2) for key in runs[0]}


def one_reclaim(env: dict[str, str], name: str) -> dict[str, float]:
    before = {e["at"] for e in events(env, name)}
    start = time.time()
    ehpc(env, "node", "reclaim", name, "node1")
    gone = time.time()  # the machine no longer exists
    deadline = time.monotonic() + 300
    while True:
        new = [e for e in events(env, name) if e["at"] not in before]
        at = {e["kind"]: e["at"] for e in new}
        if "replaced" in at or "launch-failed" in at:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"no replacement within 300 s: {new}")
        time.sleep(0.2)
    # detection from the start of `node reclaim` (the machine vanishes while the command runs)
    return {"reclaim_command_s": round(gone - start, 2),
            **replacement_split(start, at, agent_steps(env, name, start))}


def one_power_up(run: Callable[..., str], name: str, agent_log: str = AGENT_LOG) -> dict[str, float]:
    """From submitting a job to an autoscaled cluster with no compute node to the job running
    on a newly powered-up node, and to the node's removal after the idle time. `run(*args)`:
    ehpc's output (here, or in the cloud lab); `agent_log`: the command printing the agent's log
    on the head."""
    def power_downs() -> list[float]:
        listed = json.loads(run("cluster", "events", name, "--json"))
        return [e["at"] for e in listed if e["kind"] == "power-down" and e["at"] > start]

    start = time.time()
    job = run("job", "submit", name, "--", "sleep 1").strip()
    while json.loads(run("job", "status", name, job, "--json"))[0]["state"] == "pending":
        time.sleep(0.2)
    running = time.time()
    steps = steps_after(run("ssh", name, "--", agent_log), start)
    deadline = time.monotonic() + 300
    while not power_downs():
        if time.monotonic() > deadline:
            raise SystemExit("the powered-up node was not removed within 300 s")
        time.sleep(1)
    gone = max(power_downs())
    return {
        "pending_to_running_s": round(running - start, 2),
        "launch_s": round(sum(v for k, v in steps.items() if k.startswith("launching")), 2),
        "boot_s": round(sum(v for k, v in steps.items() if k.startswith("waiting for SSH")), 2),
        "configure_s": round(sum(v for k, v in steps.items() if k.startswith("configuring")), 2),
        "idle_to_removed_s": round(gone - running, 2),
    }


def power_ups(scheduler: str, rounds: int) -> list[dict[str, float]]:
    name = f"agbenchas{scheduler}"
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        root = f"/srv/ehpc-test/ag-bench-as-{os.getpid()}"
        try:
            ehpc(env, "cluster", "create", "--name", name, "--max-nodes", "1", "--scaledown-idle",
                 "10", "--scheduler", scheduler, "--local-root-dir", root)
            runs = []
            for _ in range(rounds):
                runs.append(one_power_up(functools.partial(ehpc, env), name))
                print(runs[-1], flush=True)
            return runs
        finally:
            ehpc(env, "cluster", "terminate", name)
            shutil.rmtree(root, ignore_errors=True)


def main(scheduler: str, rounds: int) -> None:
    name = f"agbench{scheduler}"
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        root = f"/srv/ehpc-test/ag-bench-{os.getpid()}"
        try:
            ehpc(env, "cluster", "create", "--name", name, "--size", "2", "--spot", "--scheduler",
                 scheduler, "--local-root-dir", root)
            runs = []
            for _ in range(rounds):
                runs.append(one_reclaim(env, name))
                print(runs[-1], flush=True)
            start = time.perf_counter()
            ehpc(env, "cluster", "resize", name, "--add", "1")
            resize_s = time.perf_counter() - start
        finally:
            ehpc(env, "cluster", "terminate", name)
            shutil.rmtree(root, ignore_errors=True)
    scaled = power_ups(scheduler, rounds)
    path = write_results(f"elastic_local_{scheduler}", {
        "benchmark": f"local spot reclaim -> replacement idle, and autoscaling, in {scheduler} "
                     "(real CLI, head agent)",
        "reclaim_median": median(runs), "reclaim_runs": runs,
        "power_up_median": median(scaled), "power_up_runs": scaled,
        "resize_add_one_s": round(resize_s, 2),
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "slurm", int(sys.argv[2]) if len(sys.argv) > 2 else 3)
