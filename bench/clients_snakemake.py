"""The six-sample Snakemake workflow (examples/clients) on a local Slurm cluster: run locally on
the head, through the Slurm executor plugin with its defaults, and with 1 s status polling; and
how long Slurm says the jobs themselves ran. Also the create time with and without accounting.

Writes bench/results/clients_snakemake.json. Usage (as root, with the test extra installed):
python bench/clients_snakemake.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from results_file import write_results

RUN = Path(__file__).resolve().parents[1] / "examples" / "clients" / "run.sh"
MODES = {
    "local_on_head": "--executor local --cores 2",
    "slurm_plugin_defaults": "",
    "slurm_plugin_1s_polling":
        "--slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 1",
}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stdout}{proc.stderr}")
    return time.perf_counter() - start, proc.stdout + proc.stderr


def jobs_busy(ehpc: list[str], env: dict[str, str], name: str, output: str) -> float:
    """Seconds during which at least one of this run's Slurm jobs was running (sacct's Start/End):
    what the jobs themselves took; the rest of the wall time is waiting, mostly for polling."""
    ids = [line.split("SLURM jobid ")[1].split()[0] for line in output.splitlines()
           if "SLURM jobid" in line]
    _, out = timed([*ehpc, "ssh", name, "--", f"sacct -n -P -X -j {','.join(ids)} --format=Start,End"],
                   env)
    spans = sorted(tuple(datetime.fromisoformat(t) for t in line.split("|")) for line in out.split())
    busy, end = 0.0, None
    for start, stop in spans:
        start = max(start, end) if end else start
        if stop > start:
            busy += (stop - start).total_seconds()
        end = max(stop, end) if end else stop
    return busy


def main() -> None:
    ehpc = [sys.executable, "-m", "elastichpc"]
    numbers: dict[str, object] = {"workflow": "6 x seqret + summary, 2 compute nodes x 2 CPUs"}
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state, "EHPC": " ".join(ehpc),
               "EHPC_CLIENT_PYTHON": sys.executable}
        root = f"/srv/ehpc-bench-{os.getpid()}"
        for accounting in ("false", "true"):
            name = f"ucbench-{accounting}"
            numbers[f"create_s_accounting_{accounting}"] = round(timed(
                [*ehpc, "cluster", "create", "--name", name, "--size", "2", "--local-root-dir", root,
                 "--accounting", accounting], env)[0], 2)
        name = "ucbench-true"
        for mode, args in MODES.items():
            timed([*ehpc, "ssh", name, "--user", "ehpcuser", "--", "rm -rf /shared/examples"], env)
            wall, output = timed(["bash", str(RUN), name, "snakemake"], {**env, "SNAKEMAKE_ARGS": args})
            numbers[f"{mode}_wall_s"] = round(wall, 1)
            if "slurm" in mode:
                numbers[f"{mode}_jobs_busy_s"] = round(jobs_busy(ehpc, env, name, output), 1)
            print(mode, numbers, flush=True)
        for accounting in ("false", "true"):
            timed([*ehpc, "cluster", "terminate", f"ucbench-{accounting}"], env)
        shutil.rmtree(root, ignore_errors=True)
    print(write_results("clients_snakemake", numbers))


if __name__ == "__main__":
    main()
