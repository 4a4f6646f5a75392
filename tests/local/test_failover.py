"""Spot failover across sites on a real local cluster: head on site a, spot pools on b and c.
Site b takes its node away and has no spot capacity left; the head agent puts the node down,
requeues its tasks, is refused on b and launches the replacement on c, which joins the overlay,
the shared directory and Slurm: all 20 tasks of the array complete, each exactly once."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, Ehpc, leftovers

NAME = "agfo"


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Ehpc]:
    ehpc = Ehpc(tmp_path / "state", ROOT / f"ag-{tmp_path.name}")
    try:
        ehpc.run("cluster", "create", "--name", NAME, "--head", "local/a", "--pool", "local/b:1:spot",
                 "--pool", "local/c:1:spot", "--local-root-dir", str(ehpc.local_root))
    except AssertionError:  # a failed create leaves what it made: remove it
        ehpc.run("cluster", "terminate", NAME, check=False)
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
        raise
    yield ehpc
    ehpc.run("cluster", "terminate", NAME, check=False)
    assert leftovers(NAME, ehpc.local_root, tmp_path / "state", []) == []
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def test_replacement_on_the_next_site_loses_no_task(cli: Ehpc) -> None:
    out = f"/shared/jobs/{NAME}-array.txt"
    job = cli.run("job", "submit", NAME, "--array", "1-20", "--",
                  f"sleep 3; echo task $SLURM_ARRAY_TASK_ID on $(hostname) >> {out}").stdout.strip()
    deadline = time.monotonic() + 60
    while not any(j["state"] == "running" and j["nodes"] == f"{NAME}-node1"
                  for j in cli.json("job", "list", NAME)):
        assert time.monotonic() < deadline, "no task started on node1"
        time.sleep(0.5)
    cli.run("node", "reclaim", NAME, "node1", "--no-capacity", "600")
    assert cli.run("job", "wait", NAME, job, timeout=400).returncode == 0
    lines = cli.run("ssh", NAME, "--", f"cat {out}").stdout.splitlines()
    assert sorted(int(line.split()[1]) for line in lines) == list(range(1, 21)), lines
    def events() -> list[str]:
        return [f"{e['kind']} {e['message']}" for e in cli.json("cluster", "events", NAME)]

    deadline = time.monotonic() + 120  # the tasks may all be done on node2 before it joins
    while not any(e.startswith(("replaced", "launch-failed local/c")) for e in events()):
        assert time.monotonic() < deadline, events()
        time.sleep(1)
    seen = events()
    assert any(e.startswith("launch-failed local/b refused") for e in seen), seen
    assert f"replaced {NAME}-node1 running again on local/c" in seen, seen
    assert any(e.startswith("down") and "requeued: none" not in e for e in seen), seen
    # The client hears of the agent's repair: node1 is listed on site c now.
    node1 = next(n for n in cli.json("nodes", "list", NAME) if n["name"] == f"{NAME}-node1")
    assert (node1["pool"], node1["state"]) == ("local/c", "running"), node1
