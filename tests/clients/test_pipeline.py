"""Issue 20's acceptance test, as a newcomer runs it: examples/pipeline/run.sh on the package's
Slurm cluster. bwa and samtools come by `ehpc cluster install`, the workflow and its reads go in
by `ehpc cp`, Snakemake on the head runs every rule as a job with the cluster's profile, and the
results come back by `ehpc cp` and are checked here (tests/pipeline.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..pipeline import RUN, check_results
from .conftest import Cluster


def test_the_example_pipeline_end_to_end(clusters: dict[str, Cluster], tmp_path: Path) -> None:
    cluster = clusters["cl-slurm"]
    cluster.cli.run("cluster", "install", cluster.name, "bwa", "samtools", timeout=600)
    env = {**cluster.cli.env, "EHPC": f"{sys.executable} -m elastichpc",
           "EHPC_CLIENT_PYTHON": sys.executable}
    run = subprocess.run(["bash", str(RUN), cluster.name, str(tmp_path / "out")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    check_results(tmp_path / "out", run.stdout + run.stderr)
