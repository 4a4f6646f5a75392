"""Cloud lab: spot repair by the head agent on AWS, GCE and Azure (issue 12). A spot cluster of 2
compute nodes per cloud; each round the lab's control API takes a compute node away the cloud's
way (an EC2 spot interruption, a GCE preemption, an Azure eviction), and the time from that call
to the replacement idle in Slurm (the agent's "replaced" event) is split as bench/elastic_local.py
splits it: detection (to the agent's "reclaimed" event), take-down (scheduler down + requeue, to
its "down" event), then the steps the agent logged on the head (/var/lib/ehpc-agent/agent.log,
read over `ehpc ssh`): launch, boot, configure, scheduler; `other` is what neither covers. The
lab's machines share this host's clock, so its times and the agent's compare.

Needs root; starts its own lab (namespace `ehpclab-bench`) and removes it.
Usage: python bench/elastic_lab.py [CLOUD...] [--rounds N]   (from the repository root)
Writes bench/results/elastic_lab.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elastic_local import median, replacement_split, steps_after  # noqa: E402
from results_file import RESULTS, write_results  # noqa: E402

from tests.lab.clouds import AGENT_CLOUDS, LabCli, cli_for, machines_of, spot_agent_argv, wait_for  # noqa: E402
from tests.lab.control import Lab  # noqa: E402

# root's only; without it (a head under systemd) the agent writes to the journal
AGENT_LOG = "sudo cat /var/lib/ehpc-agent/agent.log 2>/dev/null || sudo journalctl -u ehpc-agent -o cat"


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[-1][:300]


@contextlib.contextmanager
def bench_lab() -> Iterator[Lab]:
    """The benches' own lab (namespace ehpclab-bench), removed at the end; a command or a wait
    that failed ends the bench in one line."""
    lab = Lab("ehpclab-bench")
    lab.up()
    try:
        yield lab
    except (RuntimeError, TimeoutError) as err:
        raise SystemExit(str(err)) from None
    finally:
        lab.down()


@contextlib.contextmanager
def lab_cluster(cli: LabCli, name: str, create: list[str]) -> Iterator[None]:
    """Cluster `name` made by `ehpc *create` for the block, and terminated after it."""
    created = cli(*create, timeout=900)
    if created.code != 0:
        raise SystemExit(f"{name}: create failed: {last_line(created.err)}")
    try:
        yield
    finally:
        done = cli("cluster", "terminate", name)
        if done.code != 0:
            print(f"{name}: terminate failed: {last_line(done.err)}", file=sys.stderr)


def interrupted(lab: Lab, cli: LabCli, name: str, victim: str,
                ends: tuple[str, ...] = ("replaced", "launch-failed")) -> tuple[float, dict[str, float]]:
    """Take `victim` away the cloud's way; (when, the time of each kind of the agent's events
    since) once one of `ends` came, which must be its replacement."""
    machine = machines_of(lab)[victim]
    start = time.time()
    with lab.inside():
        lab.call("POST", f"/interrupt/{machine['id']}")

    def ended() -> dict[str, float]:
        events = json.loads(cli.checked("cluster", "events", name, "--json"))
        at = {e["kind"]: e["at"] for e in events if e["at"] >= start}
        return at if any(kind in at for kind in ends) else {}

    at = wait_for(ended, 900, f"replacement of {victim}")
    if "replaced" not in at:
        raise SystemExit(f"{name}: the replacement of {victim} failed (`ehpc cluster events {name}`)")
    return start, at


def one_interrupt(lab: Lab, cli: LabCli, name: str) -> tuple[dict[str, float], dict[str, float]]:
    """One node taken away and replaced: the split, and the agent's steps it comes from."""
    start, at = interrupted(lab, cli, name, f"{name}-node2")
    steps = steps_after(cli.checked("ssh", name, "--", AGENT_LOG), start)
    return replacement_split(start, at, steps), steps


def measure(lab: Lab, cloud: str, rounds: int, home: Path) -> dict[str, Any]:
    home.mkdir(parents=True)
    cli = cli_for(lab, cloud, home)
    name = f"lbel{cloud}"
    runs, steps = [], []
    with lab_cluster(cli, name, spot_agent_argv(lab, cloud, name, 2, home)):
        for _ in range(rounds):
            split, logged = one_interrupt(lab, cli, name)
            print(cloud, split, flush=True)
            runs.append(split)
            steps.append(logged)
    return {"median": median(runs), "runs": runs, "agent_steps": steps}


def previous_results() -> dict[str, Any]:
    """The clouds' numbers of the last run (with the run's load and time where they lacked it)."""
    path = RESULTS / "elastic_lab.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    context = {key: data.get(key) for key in ("load_average_at_start", "measured_at")}
    return {cloud: {**context, **data[cloud]} for cloud in AGENT_CLOUDS if cloud in data}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("clouds", nargs="*", default=sorted(AGENT_CLOUDS),
                        help=f"of {', '.join(sorted(AGENT_CLOUDS))}: the clouds whose head runs the agent")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if set(args.clouds) - AGENT_CLOUDS:
        parser.error(f"no head agent on {', '.join(sorted(set(args.clouds) - AGENT_CLOUDS))}")
    load = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with bench_lab() as lab, tempfile.TemporaryDirectory() as tmp:
        for cloud in args.clouds:
            results[cloud] = measure(lab, cloud, args.rounds, Path(tmp) / cloud)
    # A run of some clouds keeps the others' last numbers, each with when it was measured.
    kept = previous_results()
    measured = {cloud: {**numbers, "load_average_at_start": [round(x, 2) for x in load],
                        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                for cloud, numbers in results.items()}
    print(write_results("elastic_lab", {
        "benchmark": "cloud lab: spot node taken away the cloud's way -> replacement idle in Slurm "
                     "(head agent, 2 spot compute nodes)",
        "rounds": args.rounds, "wall_s": round(time.perf_counter() - started, 1),
        **{c: kept[c] for c in sorted(AGENT_CLOUDS) if c in kept and c not in measured}, **measured,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
