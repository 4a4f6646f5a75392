"""The example pipeline (examples/pipeline: bwa index, 4 x bwa mem | samtools sort + index,
4 x flagstat, a summary) run here with plain `snakemake --cores 2`, and on a local Slurm cluster
of 2 nodes x 2 CPUs end to end by examples/pipeline/run.sh (data in by `ehpc cp`, every rule a
job, results back by `ehpc cp`); the difference is what the cluster costs a workflow this small.

Writes bench/results/pipeline_local.json. Usage (as root, with the test extra installed):
python bench/pipeline_local.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import run_checked, write_results

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pipeline"
NAME = "plbench"
ROUNDS = 3


def timed(argv: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stdout}{proc.stderr}")
    return round(time.perf_counter() - start, 1)


def main() -> None:
    ehpc = [sys.executable, "-m", "elastichpc"]
    numbers: dict[str, object] = {"workflow": "examples/pipeline (10 jobs)",
                                  "cluster": "local Slurm, 2 compute nodes x 2 CPUs",
                                  "load_average_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state, "EHPC": " ".join(ehpc),
               "EHPC_CLIENT_PYTHON": sys.executable}
        local = []
        for _ in range(ROUNDS):
            work = Path(state) / "here"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            run_checked([sys.executable, str(EXAMPLE / "make_data.py"), str(work / "data")], env)
            shutil.copy(EXAMPLE / "Snakefile", work)
            local.append(timed([sys.executable, "-m", "snakemake", "--profile", "none", "--cores", "2"],
                               env, cwd=str(work)))
        numbers["here_snakemake_cores_2_wall_s"] = local
        root = f"/srv/ehpc-bench-{os.getpid()}"
        numbers["create_with_packages_s"] = timed(
            [*ehpc, "cluster", "create", "--name", NAME, "--size", "2", "--local-root-dir", root,
             "--packages", "bwa,samtools"], env)
        try:
            cluster = []
            for _ in range(ROUNDS):
                run_checked([*ehpc, "ssh", NAME, "--user", "ehpcuser", "--", "rm -rf pipeline"], env)
                out = Path(state) / "out"
                shutil.rmtree(out, ignore_errors=True)
                cluster.append(timed(["bash", str(EXAMPLE / "run.sh"), NAME, str(out)], env))
            numbers["cluster_run_sh_end_to_end_wall_s"] = cluster
            numbers["overhead_s_median"] = round(sorted(cluster)[1] - sorted(local)[1], 1)
        finally:
            run_checked([*ehpc, "cluster", "terminate", NAME], env)
            shutil.rmtree(root, ignore_errors=True)
    numbers["load_average_at_end"] = os.getloadavg()[0]
    print(write_results("pipeline_local", numbers))


if __name__ == "__main__":
    main()
