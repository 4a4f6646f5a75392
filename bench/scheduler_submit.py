"""Submission rate per scheduler: 500 jobs through `ehpc` in one call against the same 500 through
the scheduler's own command in a loop on the head node.

For slurm, sge and pbs it builds a local cluster (2 compute nodes), runs
`ehpc job submit NAME --count 500 -- true` and `--jobs-file` of 500 different lines (each one
array job whose task i runs line i, submitted over one SSH connection and journaled), then 500
native submissions (sbatch / qsub / the Torque wrapper's qsub) in one shell loop on the head as
the cluster user, timed on the head, and terminates the cluster. Writes
bench/results/scheduler_submit.json.
Usage (as root): python bench/scheduler_submit.py [COUNT] [SCHEDULER...]
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from results_file import run_checked as _run

RESULTS = Path(__file__).parent / "results" / "scheduler_submit.json"
PBS_PATH = "/opt/ehpc-pbs/usr/bin:/usr/bin:/bin"
# One native submission of a trivial job, as a user would type it on the head ($d: a scratch dir).
NATIVE = {
    "slurm": "sbatch -Q -o /dev/null -e /dev/null --wrap true",
    "sge": "qsub -b y -o /dev/null -e /dev/null -N t true >/dev/null",
    "pbs": f"PATH={PBS_PATH} qsub -o /dev/null -e /dev/null \"$d/job.sh\" >/dev/null",
}
# Between the two runs the queue is emptied, so each starts from an idle scheduler.
CLEAR = {"slurm": "scancel -u ehpcuser", "sge": "qdel -u ehpcuser >/dev/null",
         "pbs": "scancel -u ehpcuser"}
NATIVE_LOOP = """set -e
d=$(mktemp -d); printf '#!/bin/bash\\ntrue\\n' > "$d/job.sh"; cd "$d"
start=$(date +%s.%N)
for i in $(seq {count}); do {command}; done
end=$(date +%s.%N)
rm -rf "$d"
echo "$start $end"
"""


def _rate(count: int, seconds: float) -> dict[str, float]:
    return {"jobs": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


def _clear(ehpc: list[str], name: str, scheduler: str, env: dict[str, str]) -> None:
    _run([*ehpc, "ssh", name, "--", CLEAR[scheduler]], env)
    deadline = time.monotonic() + 120
    while json.loads(_run([*ehpc, "job", "list", name, "--json"], env)):
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: the queue did not empty")
        time.sleep(1)


def measure(scheduler: str, count: int, env: dict[str, str], root: str) -> dict[str, object]:
    ehpc = [sys.executable, "-m", "elastichpc"]
    name = f"clbench-{scheduler}"
    _run([*ehpc, "cluster", "create", "--name", name, "--size", "2", "--scheduler", scheduler,
          "--local-root-dir", root], env)
    try:
        start = time.perf_counter()
        out = _run([*ehpc, "job", "submit", name, "--json", "--count", str(count), "--", "true"], env)
        through_ehpc = time.perf_counter() - start
        assert len(json.loads(out)["tasks"]) == count
        _clear(ehpc, name, scheduler, env)
        with tempfile.NamedTemporaryFile("w", suffix=".jobs") as lines:
            lines.write("".join(f"echo line {i}\n" for i in range(1, count + 1)))
            lines.flush()
            start = time.perf_counter()
            out = _run([*ehpc, "job", "submit", name, "--json", "--jobs-file", lines.name], env)
            jobs_file = time.perf_counter() - start
        assert len(json.loads(out)["tasks"]) == count
        _clear(ehpc, name, scheduler, env)
        loop = NATIVE_LOOP.format(count=count, command=NATIVE[scheduler])
        start = time.perf_counter()
        out = _run([*ehpc, "ssh", name, "--user", "ehpcuser", "--", loop], env)
        native_wall = time.perf_counter() - start
        first, last = (float(t) for t in out.split())
    finally:
        _run([*ehpc, "cluster", "terminate", name], env)
    native = _rate(count, last - first)
    lines_rate = _rate(count, jobs_file)
    return {
        "ehpc_count_one_call": _rate(count, through_ehpc),
        "ehpc_jobs_file_one_call": lines_rate,
        "native_on_head": {**native, "wall_seconds_with_ssh": round(native_wall, 3)},
        "jobs_file_vs_native": round(lines_rate["per_second"] / native["per_second"], 1),
    }


def main(count: int, schedulers: list[str]) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        env.pop("EHPC_CONFIG", None)
        root = f"/srv/ehpc-test/cl-bench-{os.getpid()}"
        try:
            for scheduler in schedulers:
                results[scheduler] = measure(scheduler, count, env, root)
                print(scheduler, json.dumps(results[scheduler]), file=sys.stderr)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if RESULTS.exists():  # schedulers not measured this time keep their last figures
        kept = json.loads(RESULTS.read_text()).get("results", {})
        results = {**{k: v for k, v in kept.items() if "jobs_file_vs_native" in v}, **results}
    RESULTS.write_text(json.dumps({
        "benchmark": "scheduler_submit",
        "what": f"{count} trivial jobs: `ehpc job submit --count {count}` and a --jobs-file of "
                f"{count} different lines (each one array job of {count} tasks, one call, timed "
                "from this machine with start-up and SSH) vs the scheduler's own submit command "
                "looped on the head (timed on the head)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }, indent=2) + "\n")
    print(RESULTS)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(int(args[0]) if args else 500, args[1:] or ["slurm", "sge", "pbs"])
