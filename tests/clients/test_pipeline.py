"""Issue 20's acceptance test, as a newcomer runs it: examples/pipeline/run.sh on the package's
Slurm cluster. bwa and samtools come by `ehpc cluster install`, the workflow and its reads go in
by `ehpc cp`, Snakemake on the head runs every rule as a job with the cluster's profile, and the
results come back by `ehpc cp` and are checked here (tests/pipeline.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..pipeline import RUN, check_results
from .conftest import Cluster


@pytest.mark.timeout(900)  # on a loaded machine (the lab on the other worker) it took minutes
def test_the_example_pipeline_end_to_end(clusters: dict[str, Cluster], tmp_path: Path) -> None:
    cluster = clusters["cl-slurm"]
    cluster.cli.run("cluster", "install", cluster.name, "bwa", "samtools", timeout=300)
    env = {**cluster.cli.env, "EHPC": f"{sys.executable} -m elastichpc",
           "EHPC_CLIENT_PYTHON": sys.executable}
    log = tmp_path / "run.log"  # a file, not a pipe: what it said is there if it runs out of time
    with log.open("w") as out:
        try:
            code = subprocess.run(["bash", str(RUN), cluster.name, str(tmp_path / "out")], env=env,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=540).returncode
        except subprocess.TimeoutExpired:
            code = None
    said = log.read_text()
    assert code == 0, f"run.sh {'ran out of time' if code is None else f'exit {code}'}:\n{said[-4000:]}"
    check_results(tmp_path / "out", said)
