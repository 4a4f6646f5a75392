"""Issue 12's autoscaling on a cloud, in the lab: an AWS cluster with no compute node until jobs
wait (`--max-nodes 2`). Slurm's power saving asks the head agent for nodes; the agent launches
them through EC2's API (the lab's moto, from the head), they boot our user-data, join the
running Slurm and run the array; after the idle time Slurm powers them down and the agent
terminates the instances. Terminate then leaves nothing.

One cluster for the module; the tests run in file order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .clouds import (
    LabCli,
    aws_args,
    aws_leftovers,
    cli_for,
    events_of,
    machines_of,
    nodes_of,
    wait_for,
)
from .control import Lab

pytestmark = pytest.mark.lab

NAME = "lbauto"


@pytest.fixture(scope="module")
def cli(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabCli]:
    the_cli = cli_for(lab, "aws", tmp_path_factory.mktemp("lab-autoscale"))
    try:
        yield the_cli
    finally:
        if NAME in the_cli("cluster", "list").out:
            the_cli("cluster", "terminate", NAME)


def test_create_has_no_compute_node(cli: LabCli, lab: Lab) -> None:
    created = cli("cluster", "create", "--provider", "aws", "--name", NAME, *aws_args(lab),
                  "--max-nodes", "2", "--scaledown-idle", "20", timeout=900)
    assert created.code == 0, created.err
    assert "the head agent did not start" not in created.err, created.err
    assert [n["role"] for n in nodes_of(cli, NAME).values()] == ["head"]
    assert [n for n in machines_of(lab) if n.startswith(NAME)] == [f"{NAME}-head"]


def test_pending_jobs_power_up_cloud_nodes(cli: LabCli, lab: Lab) -> None:
    submitted = cli("job", "submit", NAME, "--array", "1-4", "--cpus", "2", "--command",
                    "sleep 5; echo task $SLURM_ARRAY_TASK_ID on $(hostname)")
    assert submitted.code == 0, submitted.err
    job = submitted.out.strip()
    waited = cli("job", "wait", NAME, job, timeout=900)
    assert waited.code == 0, (waited.err, events_of(cli, NAME))
    # The lab's nodes cannot mount the head's NFS (this host's kernel has no NFS): each task's
    # output stays on its node, and `job wait` brings it from the nodes the agent made.
    assert sorted(line.split()[1] for line in waited.out.splitlines()) == ["1", "2", "3", "4"], waited.out
    tasks = json.loads(cli.checked("job", "status", NAME, job, "--json"))
    assert sorted(int(t["task"]) for t in tasks) == [1, 2, 3, 4], tasks
    assert {t["state"] for t in tasks} == {"completed"}, tasks
    seen = events_of(cli, NAME)
    assert any(e.startswith("power-up") for e in seen) and any(e.startswith("joined") for e in seen), seen
    # Real machines, launched by the agent through the cloud's API.
    assert {n for n in machines_of(lab) if n.startswith(f"{NAME}-node")} <= {f"{NAME}-node1", f"{NAME}-node2"}
    assert {n["provider"] for n in nodes_of(cli, NAME).values()} == {"aws"}


def test_idle_nodes_are_powered_down_and_terminated(cli: LabCli, lab: Lab) -> None:
    def gone() -> bool:
        return not any(n.startswith(f"{NAME}-node") and m["alive"] for n, m in machines_of(lab).items())

    wait_for(gone, 300, "the idle nodes to go")
    assert any(e.startswith("power-down") for e in events_of(cli, NAME)), events_of(cli, NAME)
    assert [n["role"] for n in nodes_of(cli, NAME).values()] == ["head"]


def test_terminate_leaves_nothing(cli: LabCli, lab: Lab) -> None:
    done = cli("cluster", "terminate", NAME)
    assert done.code == 0, done.err
    wait_for(lambda: not [n for n in machines_of(lab) if n.startswith(NAME)], 180, "machines gone")
    assert aws_leftovers(lab, NAME) == []
