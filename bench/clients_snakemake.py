"""Snakemake on a local Slurm cluster, end to end from this machine: four one-second jobs, and the
six-sample example (examples/clients), through the Slurm executor plugin with its own defaults
(`--profile none`), with 1 s status polling given on the command line, and with nothing but the
profile the cluster installs (`--profile ehpc`; plain `snakemake`, its default); the example
also run locally on the head; and how long Slurm says the jobs themselves ran. Also the create
time with and without accounting.

Writes bench/results/clients_snakemake.json. Usage (as root, with the test extra installed):
python bench/clients_snakemake.py
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from results_file import write_results

RUN = Path(__file__).resolve().parents[1] / "examples" / "clients" / "run.sh"
FOUR_JOBS = RUN.with_name("four-jobs") / "Snakefile"
DEFAULTS = "--profile none --executor slurm --jobs 6"
MODES = {
    "slurm_plugin_defaults": DEFAULTS,
    "slurm_plugin_1s_polling":
        f"{DEFAULTS} --slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 1",
    "profile_ehpc": "--profile ehpc",
    "profile_default": "",  # SNAKEMAKE_PROFILE=ehpc in the cluster user's environment
}
REPEATS = {"profile_ehpc": 3, "profile_default": 3}  # the short runs: a spread, not one figure


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
    numbers: dict[str, object] = {
        "workflows": {"four_jobs": "4 x (sleep 1) + a local rule (examples/clients/four-jobs)",
                      "six_samples": "6 x seqret + summary (examples/clients)"},
        "cluster": "2 compute nodes x 2 CPUs, accounting on",
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state, "EHPC": " ".join(ehpc),
               "EHPC_CLIENT_PYTHON": sys.executable}
        root = f"/srv/ehpc-bench-{os.getpid()}"
        for accounting in ("false", "true"):
            name = f"clbench-{accounting}"
            numbers[f"create_s_accounting_{accounting}"] = round(timed(
                [*ehpc, "cluster", "create", "--name", name, "--size", "2", "--local-root-dir", root,
                 "--accounting", accounting], env)[0], 2)
        name = "clbench-true"

        def as_user(command: str) -> tuple[float, str]:
            return timed([*ehpc, "ssh", name, "--user", "ehpcuser", "--", command], env)

        subprocess.run([*ehpc, "ssh", name, "--user", "ehpcuser", "--",
                        "mkdir -p four && cat > four/Snakefile"],
                       env=env, input=FOUR_JOBS.read_text(), text=True, check=True, timeout=60)
        snakemake = shlex.join([sys.executable, "-m", "snakemake"])
        for mode, args in MODES.items():
            walls = []
            for _ in range(REPEATS.get(mode, 1)):
                wall, output = as_user(f"cd four && rm -rf done .snakemake && {snakemake} {args}")
                walls.append(round(wall, 1))
            numbers[f"four_jobs_{mode}_wall_s"] = walls if len(walls) > 1 else walls[0]
            numbers[f"four_jobs_{mode}_jobs_busy_s"] = round(jobs_busy(ehpc, env, name, output), 1)
            print("four_jobs", mode, walls, flush=True)
        for mode, args in {"local_on_head": "--profile none --executor local --cores 2",
                           "slurm_plugin_defaults": DEFAULTS, "profile_default": ""}.items():
            as_user("rm -rf /shared/examples")
            wall, output = timed(["bash", str(RUN), name, "snakemake"], {**env, "SNAKEMAKE_ARGS": args})
            numbers[f"six_samples_{mode}_wall_s"] = round(wall, 1)
            if mode != "local_on_head":
                numbers[f"six_samples_{mode}_jobs_busy_s"] = round(jobs_busy(ehpc, env, name, output), 1)
            print("six_samples", mode, round(wall, 1), flush=True)
        for accounting in ("false", "true"):
            timed([*ehpc, "cluster", "terminate", f"clbench-{accounting}"], env)
        shutil.rmtree(root, ignore_errors=True)
    numbers["load_average_at_end"] = os.getloadavg()[0]
    print(write_results("clients_snakemake", numbers))


if __name__ == "__main__":
    main()
