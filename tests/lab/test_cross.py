"""Issue 11's lab check, the guide's chapter 6 for real: `[CROSS] AWS = 1, GCE = 2, AZURE = 1,
MASTER = aws` made with `ehpcutils --cross --create` on the lab's three clouds at once. The
nodes are real machines on three cloud networks that reach each other only through public
addresses; the Azure node's outbound traffic leaves through its subnet's NAT gateway. Every
compute node joins the head's WireGuard overlay, runs a task of an array job, shares the
cluster's directory (GlusterFS over the overlay: the lab's kernel has no NFS), and
`ehpcutils --cross --terminate` leaves nothing tagged on any of the three clouds.

One cluster for the module (its create is most of the time); the tests run in file order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from .clouds import (
    EHPCUTILS,
    LabCli,
    Result,
    accounts_conf,
    aws_leftovers,
    emulator_leftovers,
    lab_ec2,
    machines_of,
)
from .control import Lab

pytestmark = pytest.mark.lab

NAME = "lbx"
# The guide's node numbering: the head, then node1.. across the pools in [CROSS] order.
CLOUD_OF = {f"{NAME}-node1": "aws", f"{NAME}-node2": "gce", f"{NAME}-node3": "gce",
            f"{NAME}-node4": "azure"}
OVERLAY_PORT = 51820


def cross_conf(lab: Lab) -> str:
    """The guide's cluster.conf for a cross cluster, with the lab's accounts (the Azure one's
    [FIREWALL] and [AZURE] sections as the lab writes them)."""
    return (f"[CLUSTER]\nCLUSTER_PREFIX = {NAME}\nGLUSTER = true\n\n"
            "[CROSS]\nAWS = 1\nGCE = 2\nAZURE = 1\nMASTER = aws\n\n" + accounts_conf(lab))


class Cross:
    def __init__(self, cli: LabCli, created: Result, seconds: float) -> None:
        self.cli, self.created, self.seconds = cli, created, seconds

    def ready(self) -> None:
        """Skip the steps after a create that did not make the cluster."""
        if self.created.code != 0:
            pytest.skip(f"{NAME} was not created")


@pytest.fixture(scope="module")
def cross(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cross]:
    home = tmp_path_factory.mktemp("lab-cross")
    conf = home / "cluster.conf"
    conf.write_text(cross_conf(lab))
    cli = LabCli(lab, home / "state", conf)
    started = time.monotonic()
    created = cli("--cross", "--create", program=EHPCUTILS)
    yield Cross(cli, created, time.monotonic() - started)
    if NAME in cli("cluster", "list").out:
        cli("cluster", "terminate", NAME)


def test_create_joins_every_cloud_to_the_overlay(cross: Cross, lab: Lab) -> None:
    cli, created = cross.cli, cross.created
    assert created.code == 0, created.err
    listed = cli("nodes", "list", NAME, "--json")
    assert listed.code == 0, listed.err
    nodes = {n["name"]: n for n in json.loads(listed.out)}
    assert {name: n["provider"] for name, n in nodes.items() if n["role"] == "compute"} == CLOUD_OF
    assert {n["state"] for n in nodes.values()} == {"running"}
    # Compute nodes are reached through the head over the overlay (ssh_config's ProxyJump to
    # their overlay address): each answering proves its tunnel, and its pinned host key.
    for node in [f"{NAME}-head", *CLOUD_OF]:
        seen = cli("ssh", NAME, node, "--", "hostname; ip -4 -o addr show ehpc-wg")
        assert seen.code == 0, (node, seen.err)
        assert seen.out.split()[0] == node and "10.250." in seen.out
    # The head lets the overlay's port in from the cluster's own addresses only: each compute
    # node's public address and the Azure subnet's NAT gateway, which the Azure node's tunnel
    # comes from.
    with lab.inside():
        (group,) = lab_ec2(lab).describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [f"ehpc-{NAME}"]}])["SecurityGroups"]
    udp = [p for p in group["IpPermissions"] if p["IpProtocol"] == "udp"]
    nat = {m["nat_ip"] for m in lab_machines(lab) if m.get("nat_ip")}
    assert len(nat) == 1
    publics = {nodes[n]["address"] for n in CLOUD_OF} | nat
    assert [(p["FromPort"], {r["CidrIp"] for r in p["IpRanges"]}) for p in udp] == [
        (OVERLAY_PORT, {f"{a}/32" for a in publics})]
    print(f"ehpcutils --cross --create: {cross.seconds:.0f} s")


def lab_machines(lab: Lab) -> list[dict[str, str]]:
    with lab.inside():
        return list(lab.call("GET", "/machines"))


def tasks_by_node(logs: str) -> dict[str, list[str]]:
    """`task N on HOST: ...` lines of an array job's output, by host."""
    found: dict[str, list[str]] = {}
    for line in logs.splitlines():
        words = line.split()
        if len(words) >= 4 and words[0] == "task" and words[2] == "on":
            found.setdefault(words[3].rstrip(":"), []).append(line)
    return found


def array_job(cli: LabCli, command: str) -> dict[str, list[str]]:
    """An array job of one task per compute node (each task takes a node's 2 CPUs, so the
    scheduler spreads them) printing `task N on HOST: <command's output>`, its output read
    back with `ehpc job logs`."""
    submitted = cli("job", "submit", NAME, "--array", f"1-{len(CLOUD_OF)}", "--cpus", "2",
                    "--wait", "--json", "--command",
                    f'echo "task $SLURM_ARRAY_TASK_ID on $(hostname): $({command})"')
    assert submitted.code == 0, (submitted.out, submitted.err)
    assert {t["state"] for t in json.loads(submitted.out)["tasks"]} == {"completed"}
    logs = cli("job", "logs", NAME, json.loads(submitted.out)["job_id"])
    assert logs.code == 0, logs.err
    return tasks_by_node(logs.out)


def test_array_job_runs_on_every_node_and_shares_files_across_clouds(cross: Cross) -> None:
    cross.ready()
    # Each task writes a file named after its node in the shared directory (each job works in a
    # directory of its own under it)...
    written = array_job(cross.cli, "mkdir -p ../xcloud && echo from $(hostname) > ../xcloud/$(hostname) "
                                   "&& echo wrote")
    assert sorted(written) == sorted(CLOUD_OF), written
    assert all("wrote" in lines[0] for lines in written.values()), written
    # ...and a second array job's tasks, one on every node again, read them all: each node on
    # one cloud reads what jobs on the other clouds wrote, over the overlay.
    read = array_job(cross.cli, "cat ../xcloud/* | tr '\\n' ' '")
    assert sorted(read) == sorted(CLOUD_OF), read
    for node, lines in read.items():
        assert all(f"from {other}" in lines[0] for other in CLOUD_OF), (node, lines)


def test_terminate_leaves_nothing_on_any_cloud(cross: Cross, lab: Lab) -> None:
    started = time.monotonic()
    done = cross.cli("--cross", "--terminate", program=EHPCUTILS)
    assert done.code == 0, done.err
    terminated = time.monotonic()
    deadline = terminated + 60  # the lab halts them within a poll or two, then removes them
    while [n for n in machines_of(lab) if n.startswith(NAME)]:
        assert time.monotonic() < deadline, machines_of(lab)
        time.sleep(0.2)
    print(f"ehpcutils --cross --terminate: {terminated - started:.0f} s, the machines gone "
          f"{time.monotonic() - terminated:.0f} s later")
    assert NAME not in cross.cli("cluster", "list").out
    assert aws_leftovers(lab, NAME) == []
    assert emulator_leftovers(lab, NAME) == []
