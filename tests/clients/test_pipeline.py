"""Issue 20's acceptance test, as a newcomer runs it: examples/pipeline/run.sh on the package's
Slurm cluster. bwa and samtools come by `ehpc cluster install`, the workflow and its reads go in
by `ehpc cp`, Snakemake on the head runs every rule as a job with the cluster's profile, and the
results come back by `ehpc cp` and are checked here: whole BAMs and the read counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import Cluster

RUN = Path(__file__).resolve().parents[2] / "examples" / "pipeline" / "run.sh"

# examples/pipeline/make_data.py: reads per sample, and how many of them come from the reference
EXPECTED = {"s1": (1000, 1000), "s2": (1500, 1500), "s3": (2000, 2000), "s4": (1200, 1000)}


def test_the_example_pipeline_end_to_end(clusters: dict[str, Cluster], tmp_path: Path) -> None:
    cluster = clusters["cl-slurm"]
    cluster.cli.run("cluster", "install", cluster.name, "bwa", "samtools", timeout=600)
    env = {**cluster.cli.env, "EHPC": f"{sys.executable} -m elastichpc",
           "EHPC_CLIENT_PYTHON": sys.executable}
    run = subprocess.run(["bash", str(RUN), cluster.name, str(tmp_path / "out")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    results = tmp_path / "out" / "results"
    bams = sorted(p.name for p in results.glob("*.bam"))
    assert bams == [f"{s}.bam" for s in EXPECTED], bams
    checked = subprocess.run(["samtools", "quickcheck", *map(str, results.glob("*.bam"))],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    rows = [line.split("\t") for line in (results / "summary.tsv").read_text().splitlines()]
    assert rows[0] == ["sample", "reads", "mapped"], rows
    assert {r[0]: (int(r[1]), int(r[2])) for r in rows[1:]} == EXPECTED, rows
    # Every rule but `all` ran as a Slurm job: index, 4 align, 4 flagstat, summary.
    assert (run.stdout + run.stderr).count("has been submitted with SLURM jobid") == 10, run.stderr
