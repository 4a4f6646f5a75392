"""`ehpc job status` and `job list` on a warm local cluster, beside the bare SSH round trip they
cannot beat (one multiplexed `ssh head true`) and bare Python start-up.

Makes a 2-node Slurm cluster, submits 20 jobs (one array of 20 tasks and 19 single jobs), lets
them finish, then times, interleaved so load falls on all alike: `python3 -c pass`, `ssh head
true` over the kept connection, `job status NAME ID` (a finished job: the queue and the
accounting record in one round trip), `job status NAME ID x20` (twenty jobs, one round trip)
and `job list NAME`. Medians of wall time and of the client's CPU time (ehpc and its ssh; the
head's commands run under the node's sshd and are not counted) to bench/results/job_status.json.
Byte code is cached, as an installed package has it. Usage (as root): python bench/job_status.py [ROUNDS]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import run_checked as _run
from results_file import write_results

SRC = str(Path(__file__).resolve().parent.parent / "src")
NAME = "clbenchst"


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and the CPU seconds of the command and its children (user + system):
    under load the wall time stretches, the CPU time much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    root = f"/srv/ehpc-test/cl-bench-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="ehpc-status-") as state:
        env = {**os.environ, "EHPC_STATE_DIR": state,
               "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("EHPC_CONFIG", None)
        ehpc = [sys.executable, "-m", "elastichpc"]
        _run([*ehpc, "cluster", "create", "--name", NAME, "--size", "2", "--local-root-dir",
              root], env)
        try:
            ids = [json.loads(_run([*ehpc, "job", "submit", NAME, "--count", "20", "--json",
                                    "--", "true"], env))["job_id"]]
            ids += [_run([*ehpc, "job", "submit", NAME, "--", "true"], env).strip()
                    for _ in range(19)]
            while json.loads(_run([*ehpc, "job", "list", NAME, "--json"], env)):
                time.sleep(0.5)
            ssh_config = Path(state) / "clusters" / NAME / "ssh_config"
            commands = {
                "python3 -c pass": [sys.executable, "-c", "pass"],
                "ssh head true (kept connection)": ["ssh", "-F", str(ssh_config),
                                                    f"{NAME}-head", "true"],
                "job status NAME ID": [*ehpc, "job", "status", NAME, ids[1]],
                "job status NAME ID x20": [*ehpc, "job", "status", NAME, *ids],
                "job list NAME": [*ehpc, "job", "list", NAME],
            }
            for argv in commands.values():  # warm: byte code, the SSH connection
                _time(argv, env)
            samples: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
            for _ in range(rounds):
                for name, argv in commands.items():
                    samples[name].append(_time(argv, env))
        finally:
            _run([*ehpc, "cluster", "terminate", NAME], env)
            shutil.rmtree(root, ignore_errors=True)
    medians = {k: round(statistics.median(w for w, _ in v) * 1000, 1) for k, v in samples.items()}
    cpu = {k: round(statistics.median(c for _, c in v) * 1000, 1) for k, v in samples.items()}
    path = write_results("job_status", {"rounds": rounds, "median_ms": medians,
                                        "median_client_cpu_ms": cpu,
                                        "load_average": os.getloadavg()[0]})
    for name, ms in medians.items():
        print(f"{name:34} {ms:7.1f} ms wall {cpu[name]:7.1f} ms CPU here")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
