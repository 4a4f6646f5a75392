"""The head agent's web API through `ehpc dashboard`'s SSH tunnel, on a warm local Slurm cluster.

Times: `ehpc dashboard` until the tunnel answers and the login link is printed; then, interleaved
so load falls on all alike, HTTP calls through the tunnel: /api/cluster (no scheduler call),
/api/nodes (one scheduler call on the head), /api/jobs (the queue and the day's history of 10
jobs), /api/jobs/ID (a finished job), /jobs (the page), beside `ehpc job list` (the CLI over SSH).
Also the agent's resident memory with its web server. Medians to bench/results/dashboard_api.json.
Usage (as root): python bench/dashboard_api.py [ROUNDS]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from results_file import run_checked as _run
from results_file import write_results

SRC = str(Path(__file__).resolve().parent.parent / "src")
NAME = "dbbench"


def _get(url: str, token: str) -> float:
    start = time.perf_counter()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=120) as reply:
        reply.read()
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    root = f"/srv/ehpc-test/db-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="ehpc-dash-") as state:
        env = {**os.environ, "EHPC_STATE_DIR": state,
               "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("EHPC_CONFIG", None)
        ehpc = [sys.executable, "-m", "elastichpc"]
        _run([*ehpc, "cluster", "create", "--name", NAME, "--size", "1", "--local-root-dir", root], env)
        tunnel = None
        try:
            ids = [_run([*ehpc, "job", "submit", NAME, "--", "true"], env).strip() for _ in range(10)]
            while json.loads(_run([*ehpc, "job", "list", NAME, "--json"], env)):
                time.sleep(0.5)
            token = json.loads(_run([*ehpc, "dashboard", NAME, "--issue", "bench", "--json"], env))["token"]
            start = time.perf_counter()
            tunnel = subprocess.Popen([*ehpc, "dashboard", NAME, "--no-browser"],
                                      env=env, stdout=subprocess.PIPE, text=True)
            assert tunnel.stdout is not None
            lines = [tunnel.stdout.readline() for _ in range(2)]
            ready = time.perf_counter() - start
            # the browser's NAME-....localhost name; a script calls 127.0.0.1 at that port
            base = "http://127.0.0.1:" + lines[0].strip().removesuffix("/jobs").rsplit(":", 1)[1]
            calls = {
                "GET /api/cluster": lambda: _get(f"{base}/api/cluster", token),
                "GET /api/nodes": lambda: _get(f"{base}/api/nodes", token),
                "GET /api/jobs (10 in history)": lambda: _get(f"{base}/api/jobs", token),
                "GET /api/jobs/ID (finished)": lambda: _get(f"{base}/api/jobs/{ids[0]}", token),
                "ehpc job list NAME (SSH)": lambda: _timed([*ehpc, "job", "list", NAME], env),
            }
            for call in calls.values():
                call()
            samples: dict[str, list[float]] = {k: [] for k in calls}
            for _ in range(rounds):
                for name, call in calls.items():
                    samples[name].append(call())
            status = "/proc/$(cat /var/lib/ehpc-agent/agent.pid)/status"
            agent_rss = _run([*ehpc, "ssh", NAME, "--", f"grep VmRSS {status}"], env).split()[1]
        finally:
            if tunnel:
                tunnel.terminate()
                tunnel.wait(timeout=30)
            _run([*ehpc, "cluster", "terminate", NAME], env)
            shutil.rmtree(root, ignore_errors=True)
    medians = {k: round(statistics.median(v) * 1000, 1) for k, v in samples.items()}
    path = write_results("dashboard_api", {
        "rounds": rounds, "median_ms": medians, "dashboard_ready_s": round(ready, 2),
        "agent_rss_mib": round(int(agent_rss) / 1024, 1), "load_average": os.getloadavg()[0]})
    print(f"{'ehpc dashboard until the link':34} {ready:7.2f} s")
    for name, ms in medians.items():
        print(f"{name:34} {ms:7.1f} ms")
    print(f"agent RSS {int(agent_rss) / 1024:.1f} MiB; wrote {path}")


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
