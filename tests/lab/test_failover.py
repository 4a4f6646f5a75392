"""Issue 12's cloud check, the guide's chapter 6 ("main node can rebuild this cluster over GCE or
Azure") for real in the lab, and issue 26's spot storms: a cluster whose head is on AWS with spot
pools on GCE, Azure and AWS (two nodes), failover order gce, azure, aws. First the guide's own
case: AWS has no spot capacity left and takes both its spot nodes back at once; the head agent
sees both in one round, requeues their tasks, and rebuilds both on GCE in one launch. Then a
storm over two clouds: GCE, out of capacity, preempts its three nodes while Azure evicts its
one, all in the same second; AWS still cooling down after its refusal is skipped, GCE refuses,
and the three come back on Azure while Azure's own node is relaunched there at the same time.
Each replacement makes its own overlay key and joins the head's WireGuard hub with it (read from
its console through the cloud's API), then is given the cluster's preshared key over its
tunnel; every task of the array jobs completes.

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
    aws_spot_requests,
    emulator_leftovers,
    events_of,
    failover_cli,
    machines_of,
    nodes_of,
    reclaim_under_array,
    replaced,
    replaced_in,
    wait_for,
)
from .control import Lab

pytestmark = pytest.mark.lab

NAME = "lbfo"
GCE_NODE, AZURE_NODE, AWS_NODE, AWS_NODE2 = (f"{NAME}-node{n}" for n in (1, 2, 3, 4))  # pools' order


@pytest.fixture(scope="module")
def cli(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCli]:
    the_cli = failover_cli(lab, tmp_path_factory.mktemp("lab-failover"))
    try:
        yield the_cli
    finally:
        with lab.inside():
            for cloud in ("aws", "gce", "azure"):
                lab.call("POST", f"/capacity/{cloud}")
        if NAME in the_cli("cluster", "list").out:
            the_cli("cluster", "terminate", NAME)


PRICED_BY = {("aws", "on-demand"): "AWS Price List", ("aws", "spot"): "spot price",
             ("gce", "spot"): "Cloud Billing Catalog", ("azure", "spot"): "Azure retail"}


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
    assert {n: listed[n]["provider"] for n in (GCE_NODE, AZURE_NODE, AWS_NODE, AWS_NODE2)} == {
        GCE_NODE: "gce", AZURE_NODE: "azure", AWS_NODE: "aws", AWS_NODE2: "aws"}
    # Every machine priced by its own cloud's price API: each line, and the sum per hour.
    cost, lines = cost_lines(cli)
    assert {pool: (line["provider"], line["market"], line["running"])
            for pool, line in lines.items()} == {
        "head": ("aws", "on-demand", 1), "aws": ("aws", "spot", 2),
        "gce": ("gce", "spot", 1), "azure": ("azure", "spot", 1)}, lines
    assert all(line["source"].startswith(PRICED_BY[line["provider"], line["market"]])
               and line["hourly"] > 0 for line in lines.values()), lines
    assert cost["hourly"] == pytest.approx(sum(line["hourly"] for line in lines.values()))
    assert cost["so_far"] > 0 and cost["unknown_hours"] == 0


def fail_over(cli: LabCli, lab: Lab, victims: list[str], out: str, to: dict[str, str],
              running: dict[str, int]) -> list[str]:
    """With `out` out of (spot) capacity, take `victims` away at once while a task of an array
    job runs on each; the job completes, every victim was seen lost in one round and runs again
    where `to` says, reached over the overlay with the preshared key, and the cost's lines count
    the machines `running` on each cloud then. Returns the cluster's events."""
    with lab.inside():
        lab.call("POST", f"/capacity/{out}?none")
    before = reclaim_under_array(cli, lab, NAME, victims, 8, "--cpus", "2")  # a task a node
    for victim in victims:
        seen = replaced(cli, NAME, victim)
    # One round saw them all: one event takes them all down, their tasks requeued at once.
    down = [e for e in seen if e.startswith("down ")]
    assert any(e.startswith(f"down {', '.join(sorted(victims))} down;") and "requeued: none" not in e
               for e in down), down
    assert any(e.startswith(f"launch-failed {out}") for e in seen), seen
    for victim in victims:  # each in a replacement on its new cloud
        assert any(victim in replaced_in(e) and e.endswith(f"running again on {to[victim]}")
                   for e in seen), seen
    assert not [e for e in seen if e.startswith(("setup-failed", "leftover"))], seen
    for victim in victims:
        wait_for(lambda v=victim: nodes_of(cli, NAME)[v]["scheduler_state"] == "idle", 180, f"{victim} idle")
    # Listed once, on its new cloud: what the old cloud kept of it (a preempted VM, an evicted
    # VM's NIC, a spot request) went with the rebuild.
    listed = json.loads(cli.checked("nodes", "list", NAME, "--json"))
    assert sorted((n["name"], n["provider"], n["state"]) for n in listed if n["name"] in victims) == [
        (v, to[v], "running") for v in sorted(victims)], listed
    assert "aws" not in to.values() and aws_spot_requests(lab, NAME) == []  # no AWS spot node is left
    # The hourly figure follows the nodes to their new clouds at once.
    cost, lines = cost_lines(cli)
    assert {pool: line["running"] for pool, line in lines.items()} == running, lines
    assert cost["hourly"] == pytest.approx(sum(line["hourly"] for line in lines.values()
                                               if line["running"]))
    after = machines_of(lab)
    for victim in victims:
        assert after[victim]["alive"] and after[victim]["id"] != before[victim]["id"], (before, after)
        # Reached through the head over the overlay, its host key pinned, its tunnel mixing in
        # the cluster's preshared key on both ends.
        seen_on = cli("ssh", NAME, victim, "--", "hostname; ip -4 -o addr show ehpc-wg; "
                      "sudo -n wg show ehpc-wg preshared-keys")
        assert seen_on.code == 0, seen_on.err
        assert seen_on.out.split()[0] == victim and "10.250." in seen_on.out
        assert "(none)" not in seen_on.out, seen_on.out
    hub = cli("ssh", NAME, "--", "sudo -n wg show ehpc-wg preshared-keys")
    assert hub.code == 0 and "(none)" not in hub.out, hub.out
    return seen


def test_aws_out_of_spot_takes_both_nodes_rebuilt_on_gce(cli: LabCli, lab: Lab) -> None:
    """The guide's own case: AWS refuses spot and reclaims its two spot nodes at once."""
    fail_over(cli, lab, [AWS_NODE, AWS_NODE2], "aws", {AWS_NODE: "gce", AWS_NODE2: "gce"},
              {"head": 1, "aws": 0, "gce": 3, "azure": 1})
    with lab.inside():
        lab.call("POST", "/capacity/aws")  # back, but the agent keeps AWS in its cool-down


def test_a_storm_over_two_clouds_is_rebuilt_on_azure(cli: LabCli, lab: Lab) -> None:
    """GCE's three nodes and Azure's one go in the same second, GCE refusing new ones."""
    victims = [GCE_NODE, AZURE_NODE, AWS_NODE, AWS_NODE2]
    seen = fail_over(cli, lab, victims, "gce", dict.fromkeys(victims, "azure"),
                     {"head": 1, "aws": 0, "gce": 0, "azure": 4})
    # AWS, still in its cool-down after its refusal, was skipped, and the events say so.
    assert any(e.startswith("skipped aws: cooling down") for e in seen), seen


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
