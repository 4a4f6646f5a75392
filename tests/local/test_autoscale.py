"""Autoscaling on real local clusters: no compute node until jobs wait, nodes powered up for them
(Slurm's own power saving through the head agent; the agent from the queue for Grid Engine),
and powered down again after the idle time."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, Ehpc, leftovers

TASK = {"slurm": "$SLURM_ARRAY_TASK_ID", "sge": "$SGE_TASK_ID"}


@pytest.fixture(params=["slurm", "sge"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Ehpc, str, str]]:
    scheduler = request.param
    name = f"agas{scheduler}"
    ehpc = Ehpc(tmp_path / "state", ROOT / f"ag-{tmp_path.name}")
    try:
        # The one pool of --size autoscaled with --max-nodes, and a pool of MIN-MAX: the same.
        bounds = ["--max-nodes", "2"] if scheduler == "slurm" else ["--pool", "local:0-2"]
        ehpc.run("cluster", "create", "--name", name, "--scheduler", scheduler, *bounds,
                 "--scaledown-idle", "15", "--local-root-dir", str(ehpc.local_root))
    except AssertionError:  # a failed create leaves what it made: remove it
        ehpc.run("cluster", "terminate", name, check=False)
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
        raise
    yield ehpc, name, scheduler
    ehpc.run("cluster", "terminate", name, check=False)
    assert leftovers(name, ehpc.local_root, tmp_path / "state", []) == []
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def test_nodes_come_for_jobs_and_go_when_idle(cluster: tuple[Ehpc, str, str]) -> None:
    ehpc, name, scheduler = cluster
    assert [n["role"] for n in ehpc.json("nodes", "list", name)] == ["head"]
    out = ehpc.run("job", "submit", name, "--array", "1-6", "--wait", "--",
                   f"sleep 2; echo task {TASK[scheduler]} on $(hostname)", timeout=400)
    lines = out.stdout.splitlines()
    assert sorted(int(line.split()[1]) for line in lines) == list(range(1, 7))
    assert {line.split()[-1] for line in lines} <= {f"{name}-node1", f"{name}-node2"}
    kinds = [e["kind"] for e in ehpc.json("cluster", "events", name)]
    assert "power-up" in kinds and "joined" in kinds
    deadline = time.monotonic() + 180
    while any(Path("/run/netns").glob(f"ehpc.{name}.{name}-node*")):
        assert time.monotonic() < deadline, "autoscaled nodes still there after the idle time"
        time.sleep(1)
    assert "power-down" in [e["kind"] for e in ehpc.json("cluster", "events", name)]


def test_idle_cluster_stops_itself(tmp_path: Path) -> None:
    name = "agidle"
    ehpc = Ehpc(tmp_path / "state", ROOT / f"ag-{tmp_path.name}")
    try:
        ehpc.create(name, 1, "--autostop", "0.25", "--down")  # minutes
        ehpc.run("job", "submit", name, "--wait", "--", "true")  # use resets the idle clock
        started = time.monotonic()
        while any(Path("/run/netns").glob(f"ehpc.{name}.*")) or (ehpc.local_root / name).exists():
            assert time.monotonic() - started < 120, "an idle cluster still runs after 15 s idle"
            time.sleep(2)
        assert time.monotonic() - started > 14  # not before the idle quarter minute
        assert "Nothing to terminate" in ehpc.run("cluster", "terminate", name).stdout
        assert leftovers(name, ehpc.local_root, tmp_path / "state", []) == []
    finally:
        ehpc.run("cluster", "terminate", name, check=False)
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
