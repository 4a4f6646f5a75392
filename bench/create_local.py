"""Time from `ehpc cluster create` to every compute node idle in Slurm, on the local provider.

Runs the real CLI (as a user would) for 1, 4 and 16 compute nodes, then terminates, and writes
the wall times and the CLI's peak memory to bench/results/create_local.json.
Usage (as root): python bench/create_local.py [SIZES...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from results_file import write_results


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one CLI run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not all children's
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err}")
    return elapsed, usage.ru_maxrss / 1024


def main(sizes: list[int]) -> None:
    ehpc = [sys.executable, "-m", "elastichpc"]
    runs = []
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        root = f"/srv/ehpc-bench-{os.getpid()}"
        for size in sizes:
            name = f"bench{size}"
            create_s, rss = timed([*ehpc, "cluster", "create", "--name", name, "--size", str(size),
                                   "--local-root-dir", root], env)
            job_s, _ = timed([*ehpc, "job", "submit", name, "--wait", "--", "hostname"], env)
            terminate_s, _ = timed([*ehpc, "cluster", "terminate", name], env)
            runs.append({"compute_nodes": size, "create_to_all_idle_s": round(create_s, 2),
                         "first_job_round_trip_s": round(job_s, 2),
                         "terminate_s": round(terminate_s, 2), "cli_peak_rss_mib": round(rss, 1)})
            print(runs[-1], flush=True)
        shutil.rmtree(root, ignore_errors=True)
    help_s = min(timed([*ehpc, "--help"], os.environ.copy())[0] for _ in range(5))
    path = write_results("create_local", {
        "benchmark": "local create to all nodes idle (real CLI, real Slurm)",
        "ehpc_help_s": round(help_s, 3),
        "runs": runs,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 4, 16])
