"""The budget, kept by the head agent of a real local cluster on Slurm, Grid Engine and PBS: a
warning at 80%, then the budget action (stop-jobs, scale-to-zero, terminate), and a new budget
that lets jobs run again.

Local machines cost $0, so the test gives this cluster's head agent a price as a cloud's price
API would (a row in the agent's own journal, which only this cluster's agent reads; the test's
client journal is its own). Everything after that is the product's own path: the agent prices
the runs, decides, and acts on the real scheduler. The clouds' price APIs themselves are
tested against their emulators (tests/aws, tests/gce, tests/azure) and in the lab.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..local.helpers import ROOT, Ehpc, cluster_for_a_test, node_pids
from .test_jobs import reason

if reason:
    pytest.skip(reason, allow_module_level=True)

HOURLY = 7.2  # USD per machine-hour: $0.002 per machine every second
PLANT = (
    "import sys, time; from pathlib import Path; sys.path.insert(0, '/var/lib/ehpc-agent/lib'); "
    "from elastichpc.state import Journal; from elastichpc.state.runs import Price; "
    "Journal(Path('/var/lib/ehpc-agent/state')).add_prices("
    f"[Price('local', '', '', 'on-demand', time.time(), {HOURLY}, 'the test')])"
)


@pytest.fixture(params=["slurm", "sge", "pbs"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Ehpc, str, str]]:
    cli = Ehpc(tmp_path / "state", ROOT / f"budget-{tmp_path.name}")
    name = f"bud-{request.param}"
    with cluster_for_a_test(cli, name, 1, "--scheduler", request.param):
        cli.run("ssh", name, "--", sys.executable, "-c", PLANT)
        yield cli, name, request.param


def budget_events(cli: Ehpc, name: str) -> list[str]:
    return [e["message"] for e in cli.json("cluster", "events", name) if e["kind"] == "budget"]


def set_budget(cli: Ehpc, name: str, action: str, left: float = 0.05) -> float:
    """A budget `left` dollars above what the cluster has cost so far."""
    budget = round(cli.json("cluster", "cost", name)["so_far"] + left, 4)
    cli.run("cluster", "budget", name, str(budget), "--budget-action", action)
    return budget


def spend(cli: Ehpc, name: str, action: str) -> None:
    """Set a budget a little above the cost so far; wait until the agent says it is spent,
    after its 80% warning."""
    budget = set_budget(cli, name, action)
    words = f"the ${budget:g} budget"
    deadline = time.monotonic() + 90
    while not any(m.startswith(f"spent {words}") for m in budget_events(cli, name)):
        assert time.monotonic() < deadline, budget_events(cli, name)
        time.sleep(2)
    said = budget_events(cli, name)
    assert any(m.startswith(f"80% of {words}") for m in said), said
    assert said[-1].endswith(f": {action}"), said


def test_a_spent_budget_stops_jobs_until_a_new_one(cluster: tuple[Ehpc, str, str]) -> None:
    cli, name, scheduler = cluster
    cost = cli.json("cluster", "cost", name)
    assert cost["hourly"] == pytest.approx(2 * HOURLY), cost  # the head and one compute node
    assert {line["source"] for line in cost["lines"]} == {"the test"}
    cli.run("cluster", "agent", name)  # the agent installed and started again keeps the record
    again = cli.json("cluster", "cost", name)
    assert again["since"] == cost["since"] and again["so_far"] > cost["so_far"], (cost, again)
    refused = cli.run("cluster", "budget", name, str(cost["so_far"] / 2), check=False)
    assert refused.returncode != 0 and "would be spent at once" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    spend(cli, name, "stop-jobs")
    status = cli.run("cluster", "status", name).stdout
    assert "then stop-jobs" in status and "spent the $" in status, status
    submitted = cli.run("job", "submit", name, "--json", "--", "hostname", check=False)
    if scheduler == "sge":  # Grid Engine queues it, in a disabled queue: it does not start
        job_id = json.loads(submitted.stdout)["job_id"]
        time.sleep(5)
        assert cli.json("job", "status", name, job_id)[0]["state"] == "pending"
    else:  # Slurm's inactive partition refuses it: one line
        assert submitted.returncode != 0, submitted.stdout
        assert len(submitted.stderr.strip().splitlines()) == 1, submitted.stderr
        job_id = ""
    cli.run("cluster", "budget", name, "1000")  # a new budget: jobs run again
    job_id = job_id or json.loads(
        cli.run("job", "submit", name, "--json", "--", "hostname").stdout)["job_id"]
    out = cli.run("job", "wait", name, job_id, timeout=120)
    assert out.stdout.strip() == f"{name}-node1", out.stdout

    if scheduler == "slurm":
        spend(cli, name, "scale-to-zero")
        deadline = time.monotonic() + 60
        while [n for n in cli.json("nodes", "list", name) if n["role"] == "compute"]:
            assert time.monotonic() < deadline, "the compute node was not removed"
            time.sleep(2)
        time.sleep(5)  # the agent does not repair (or autoscale) on a spent budget
        assert [n["name"] for n in cli.json("nodes", "list", name)] == [f"{name}-head"]
    if scheduler == "sge":  # the agent goes with the head: the machines going is the sign
        set_budget(cli, name, "terminate")
        deadline = time.monotonic() + 90
        while node_pids(name):
            assert time.monotonic() < deadline, "the cluster's machines are still there"
            time.sleep(2)
