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

from collections.abc import Iterator

import pytest

from .clouds import (
    LabCli,
    aws_leftovers,
    emulator_leftovers,
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


def test_create_across_three_clouds_with_the_agent(cli: LabCli) -> None:
    created = cli("cluster", "create", "--name", NAME, timeout=900)
    assert created.code == 0, created.err
    assert "the head agent did not start" not in created.err, created.err
    listed = nodes_of(cli, NAME)
    assert {n: listed[n]["provider"] for n in (GCE_NODE, AZURE_NODE, AWS_NODE)} == {
        GCE_NODE: "gce", AZURE_NODE: "azure", AWS_NODE: "aws"}


def fail_over(cli: LabCli, lab: Lab, victim: str, cloud: str, to: str) -> None:
    """With `cloud` out of capacity, take `victim` away while a task of an array job runs on
    it; the job completes, and `victim` runs again on `to`, reached over the overlay."""
    with lab.inside():
        lab.call("POST", f"/capacity/{cloud}?none")
    before = reclaim_under_array(cli, lab, NAME, victim, 6, "--cpus", "2")  # a task a node
    seen = replaced(cli, NAME, victim)
    assert any(e.startswith(f"down {victim}") and "requeued: none" not in e for e in seen), seen
    assert any(e.startswith(f"launch-failed {cloud}") for e in seen), seen
    assert f"replaced {victim} running again on {to}" in seen, seen
    wait_for(lambda: nodes_of(cli, NAME)[victim]["scheduler_state"] == "idle", 180, f"{victim} idle")
    assert nodes_of(cli, NAME)[victim]["provider"] == to
    after = machines_of(lab)[victim]
    assert after["alive"] and after["id"] != before["id"], (before, after)
    # Reached through the head over the overlay, its host key pinned: the tunnel works.
    seen_on = cli("ssh", NAME, victim, "--", "hostname; ip -4 -o addr show ehpc-wg")
    assert seen_on.code == 0, seen_on.err
    assert seen_on.out.split()[0] == victim and "10.250." in seen_on.out


def test_gce_preemption_is_rebuilt_on_azure(cli: LabCli, lab: Lab) -> None:
    fail_over(cli, lab, GCE_NODE, "gce", "azure")


def test_azure_eviction_is_rebuilt_on_aws(cli: LabCli, lab: Lab) -> None:
    fail_over(cli, lab, AZURE_NODE, "azure", "aws")


def test_terminate_leaves_nothing(cli: LabCli, lab: Lab) -> None:
    done = cli("cluster", "terminate", NAME)
    assert done.code == 0, done.err
    wait_for(lambda: not [n for n in machines_of(lab) if n.startswith(NAME)], 180, "machines gone")
    assert aws_leftovers(lab, NAME) == []
    assert emulator_leftovers(lab, NAME) == []
