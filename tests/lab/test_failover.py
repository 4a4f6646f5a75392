"""Issue 12's cloud check, the guide's chapter 6 ("main node can rebuild this cluster over GCE or
Azure") for real in the lab: a cluster whose head is on AWS with a spot pool on GCE, a spot
pool on Azure and an AWS pool, failover order gce, azure, aws. GCE runs out of capacity and
preempts its spot node: the head agent requeues its tasks and rebuilds the node on Azure, the
next cloud. Then Azure runs out too and evicts its spot node: rebuilt on AWS. Each replacement
makes its own overlay key and joins the head's WireGuard hub with it (read from its console
through the cloud's API); every task of the array jobs completes.

One cluster for the module; the tests run in file order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .clouds import (
    LabCli,
    aws_leftovers,
    emulator_leftovers,
    events_of,
    failover_cli,
    machines_of,
    nodes_of,
    reclaim_under_array,
    replaced,
    wait_for,
)
from .control import Lab

pytestmark = pytest.mark.lab

NAME = "lbfo"
GCE_NODE, AZURE_NODE, AWS_NODE = (f"{NAME}-node{n}" for n in (1, 2, 3))  # the pools' order


@pytest.fixture(scope="module")
def cli(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCli]:
    the_cli = failover_cli(lab, tmp_path_factory.mktemp("lab-failover"))
    try:
        yield the_cli
    finally:
        with lab.inside():
            for cloud in ("gce", "azure"):
                lab.call("POST", f"/capacity/{cloud}")
        if NAME in the_cli("cluster", "list").out:
            the_cli("cluster", "terminate", NAME)


PRICED_BY = {"aws": "AWS Price List", "gce": "Cloud Billing Catalog", "azure": "Azure retail"}


def cost_lines(cli: LabCli) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`cluster cost --json` (the head agent's record, priced by the agent through each cloud's
    price API in the lab), and its lines by pool ("head" for the head)."""
    found = cli("cluster", "cost", NAME, "--json")
    assert found.code == 0, found.err
    cost = json.loads(found.out)
    assert cost["note"] == "", cost["note"]  # read from the agent
    return cost, {line["pool"]: line for line in cost["lines"]}


def test_create_across_three_clouds_with_the_agent(cli: LabCli) -> None:
    created = cli("cluster", "create", "--name", NAME, timeout=900)
    assert created.code == 0, created.err
    assert "the head agent did not start" not in created.err, created.err
    listed = nodes_of(cli, NAME)
    assert {n: listed[n]["provider"] for n in (GCE_NODE, AZURE_NODE, AWS_NODE)} == {
        GCE_NODE: "gce", AZURE_NODE: "azure", AWS_NODE: "aws"}
    # Every machine priced by its own cloud's price API: each line, and the sum per hour.
    cost, lines = cost_lines(cli)
    assert {pool: (line["provider"], line["market"], line["running"])
            for pool, line in lines.items()} == {
        "head": ("aws", "on-demand", 1), "aws": ("aws", "on-demand", 1),
        "gce": ("gce", "spot", 1), "azure": ("azure", "spot", 1)}, lines
    assert all(line["source"].startswith(PRICED_BY[line["provider"]]) and line["hourly"] > 0
               for line in lines.values()), lines
    assert cost["hourly"] == pytest.approx(sum(line["hourly"] for line in lines.values()))
    assert cost["so_far"] > 0 and cost["unknown_hours"] == 0


def fail_over(cli: LabCli, lab: Lab, victim: str, cloud: str, to: str,
              running: dict[str, int]) -> None:
    """With `cloud` out of capacity, take `victim` away while a task of an array job runs on
    it; the job completes, and `victim` runs again on `to`, reached over the overlay, and the
    cost's lines count the machines `running` on each cloud and market then."""
    with lab.inside():
        lab.call("POST", f"/capacity/{cloud}?none")
    before = reclaim_under_array(cli, lab, NAME, victim, 6, "--cpus", "2")  # a task a node
    seen = replaced(cli, NAME, victim)
    assert any(e.startswith(f"down {victim}") and "requeued: none" not in e for e in seen), seen
    assert any(e.startswith(f"launch-failed {cloud}") for e in seen), seen
    assert f"replaced {victim} running again on {to}" in seen, seen
    wait_for(lambda: nodes_of(cli, NAME)[victim]["scheduler_state"] == "idle", 180, f"{victim} idle")
    # Listed once, on its new cloud: what the old cloud kept of it (a preempted VM, an evicted
    # VM's NIC) went with the rebuild.
    listed = json.loads(cli.checked("nodes", "list", NAME, "--json"))
    assert [(n["provider"], n["state"]) for n in listed if n["name"] == victim] == [
        (to, "running")], listed
    # The hourly figure follows the node to its new cloud and market at once.
    cost, lines = cost_lines(cli)
    assert {pool: line["running"] for pool, line in lines.items()} == running, lines
    assert cost["hourly"] == pytest.approx(sum(line["hourly"] for line in lines.values()
                                               if line["running"]))
    after = machines_of(lab)[victim]
    assert after["alive"] and after["id"] != before["id"], (before, after)
    # Reached through the head over the overlay, its host key pinned: the tunnel works.
    seen_on = cli("ssh", NAME, victim, "--", "hostname; ip -4 -o addr show ehpc-wg")
    assert seen_on.code == 0, seen_on.err
    assert seen_on.out.split()[0] == victim and "10.250." in seen_on.out


def test_gce_preemption_is_rebuilt_on_azure(cli: LabCli, lab: Lab) -> None:
    fail_over(cli, lab, GCE_NODE, "gce", "azure",
              {"head": 1, "aws": 1, "gce": 0, "azure": 2})


def test_azure_eviction_is_rebuilt_on_aws(cli: LabCli, lab: Lab) -> None:
    fail_over(cli, lab, AZURE_NODE, "azure", "aws",
              {"head": 1, "aws": 2, "gce": 0, "azure": 1})
    # GCE, still in its cool-down after its refusal, was skipped, and the events say so.
    assert any(e.startswith("skipped gce: cooling down") for e in events_of(cli, NAME))


def test_a_spent_budget_scales_the_compute_nodes_to_zero(cli: LabCli, lab: Lab) -> None:
    """The head agent keeps the budget with the clouds' prices: set a few seconds above the
    cost so far, it is spent, and the agent removes every compute node through the clouds'
    APIs, replacing none."""
    cost, _ = cost_lines(cli)
    budget = round(cost["so_far"] + 0.0003, 6)
    done = cli("cluster", "budget", NAME, str(budget), "--budget-action", "scale-to-zero")
    assert done.code == 0, done.err
    spent = f"budget spent the ${budget:g} budget"
    wait_for(lambda: any(e.startswith(spent) for e in events_of(cli, NAME)), 120, "the budget spent")
    wait_for(lambda: [n for n in machines_of(lab) if n.startswith(NAME)] == [f"{NAME}-head"], 300,
             "only the head left")
    # The agent forgets the nodes once the scheduler has been told (after the machines went).
    try:
        wait_for(lambda: not [n for n, node in nodes_of(cli, NAME).items()
                              if node["role"] == "compute"], 180, "no compute node listed")
    except TimeoutError as err:
        listed = [(n["name"], n["provider"], n["state"]) for n in
                  json.loads(cli.checked("nodes", "list", NAME, "--json"))]
        raise AssertionError(f"{err}: {listed}") from None
    before = [e for e in events_of(cli, NAME) if e.startswith(("replaced", "launch"))]
    time.sleep(5)  # nothing is repaired or launched on a spent budget
    assert [e for e in events_of(cli, NAME) if e.startswith(("replaced", "launch"))] == before
    status = cli("cluster", "status", NAME)
    assert "then scale-to-zero" in status.out and "spent the $" in status.out, status.out


def test_terminate_leaves_nothing(cli: LabCli, lab: Lab) -> None:
    done = cli("cluster", "terminate", NAME)
    assert done.code == 0, done.err
    wait_for(lambda: not [n for n in machines_of(lab) if n.startswith(NAME)], 180, "machines gone")
    assert aws_leftovers(lab, NAME) == []
    assert emulator_leftovers(lab, NAME) == []
