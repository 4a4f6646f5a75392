"""The scheduler outlives its last compute node, on Slurm, Grid Engine and PBS: with every compute
node removed it still takes jobs, which wait, and run once a node is added."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..local.helpers import ROOT, Ehpc, cluster_for_a_test
from .test_jobs import reason

if reason:
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(params=["slurm", "sge", "pbs"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Ehpc, str]]:
    cli = Ehpc(tmp_path / "state", ROOT / f"zero-{tmp_path.name}")
    name = f"zero-{request.param}"
    with cluster_for_a_test(cli, name, 1, "--scheduler", request.param):
        yield cli, name


def test_jobs_wait_through_zero_compute_nodes(cluster: tuple[Ehpc, str]) -> None:
    cli, name = cluster
    cli.run("cluster", "resize", name, "--remove", f"{name}-node1")
    job_id = json.loads(cli.run("job", "submit", name, "--json", "--", "hostname").stdout)["job_id"]
    time.sleep(3)
    (task,) = cli.json("job", "status", name, job_id)
    assert task["state"] == "pending", task  # accepted, and waiting: the scheduler is up
    cli.run("cluster", "resize", name, "--add", "1")
    out = cli.run("job", "wait", name, job_id, timeout=180)
    assert out.stdout.strip().startswith(f"{name}-node"), out.stdout
