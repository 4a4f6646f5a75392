"""Snakemake (Slurm executor; cluster-generic on Grid Engine), psij's Slurm executor, dask-jobqueue
and DRMAA against real local clusters, as users run them: examples/clients/run.sh on the head, as
the cluster user. The clients use this test's Python (it has them) instead of a venv installed
from PyPI; test_network makes a venv in the shared home from PyPI with a small package instead.
Every run has a time limit, so a client that hangs fails the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import Cluster

# cluster-generic's status polls every second instead of every 10 s (on Slurm the cluster's
# profile says how often the Slurm plugin polls).
POLLING = "--seconds-between-status-checks 1"
SAMPLES = 6


def _summary(output: str, cluster: str) -> list[str]:
    lines = [line for line in output.splitlines() if " bp, on " in line]
    assert len(lines) == SAMPLES, output
    assert {line.rsplit(" ", 1)[1] for line in lines} <= {f"{cluster}-node1", f"{cluster}-node2"}
    return lines


@pytest.mark.timeout(420)
def test_snakemake_slurm_executor_with_accounting(clusters: dict[str, Cluster]) -> None:
    cluster = clusters["cl-slurm"]
    assoc = cluster.on_head("sacctmgr -n -P show assoc user=ehpcuser format=account")
    assert assoc.stdout.split() == ["ehpc"]  # the cluster user's default account
    # Plain `snakemake`: the cluster's profile is the default. ~50 s on a quiet machine, 2 min at
    # a load average of 9 on 2 cores: a hang fails at 6 min.
    run = cluster.example("snakemake", timeout=360)
    assert run.returncode == 0, run.stdout + run.stderr
    _summary(run.stdout, cluster.name)
    # The plugin found the account and followed its jobs in sacct, which has them all.
    ids = [line.split("SLURM jobid ")[1].split()[0] for line in (run.stdout + run.stderr).splitlines()
           if "SLURM jobid" in line]
    jobs = cluster.on_head(f"sacct -n -P -X -j {','.join(ids)} --format=User,Account,State")
    assert jobs.stdout.split() == ["ehpcuser|ehpc|COMPLETED"] * (SAMPLES + 1), jobs.stdout


@pytest.mark.timeout(300)
def test_without_accounting_there_is_no_sacct_and_snakemake_does_not_hang(
    clusters: dict[str, Cluster],
) -> None:
    cluster = clusters["cl-noacct"]
    for node in (None, "node1"):
        found = cluster.on_head("command -v sacct sacctmgr sreport squeue", node=node, check=False)
        assert found.stdout.split() == ["/usr/bin/squeue"], found.stdout
    assert Path("/usr/bin/sacct").exists()  # hidden in the nodes only, not taken off this machine
    run = cluster.example("snakemake", timeout=180)
    if run.returncode != 0:
        # snakemake-executor-plugin-slurm 2.8 guesses an account with sacct before submitting and
        # does not expect sacct to be missing: it stops at once with this (not a hang).
        assert "No such file or directory: 'sacct'" in run.stdout + run.stderr, run.stdout + run.stderr
    else:
        _summary(run.stdout, cluster.name)


@pytest.mark.timeout(300)
def test_psij_slurm_executor_cases(clusters: dict[str, Cluster]) -> None:
    cluster = clusters["cl-slurm"]
    cluster.put(Path(__file__).with_name("psij_cases.py").read_text(), "~/psij_cases.py")
    run = cluster.on_head(f"cd ~ && {sys.executable} psij_cases.py", timeout=240, check=False)
    results = [line for line in run.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert len(results) == 11 and all(r.startswith("PASS") for r in results), run.stdout + run.stderr
    example = cluster.example("psij", timeout=120)
    assert example.returncode == 0 and example.stdout.count("COMPLETED, exit code 0") == 2, (
        example.stdout + example.stderr)


@pytest.mark.timeout(240)
def test_dask_jobqueue_scales_to_two_slurm_workers(clusters: dict[str, Cluster]) -> None:
    run = clusters["cl-slurm"].example("dask", timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sum of squares 0..99 = 328350 on 2 workers (Slurm jobs), computed on cl-slurm-node" in run.stdout


@pytest.mark.timeout(180)
def test_drmaa_job_on_grid_engine(clusters: dict[str, Cluster]) -> None:
    run = clusters["cl-sge"].example("drmaa", timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(SGE 8.1.9): exit status 0; hello from cl-sge-node" in run.stdout


@pytest.mark.timeout(240)
def test_snakemake_cluster_generic_on_grid_engine(clusters: dict[str, Cluster]) -> None:
    run = clusters["cl-sge"].example("snakemake", timeout=180,
                                     snakemake_args=POLLING)
    assert run.returncode == 0, run.stdout + run.stderr
    _summary(run.stdout, "cl-sge")
