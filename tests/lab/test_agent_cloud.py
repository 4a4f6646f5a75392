"""The head agent on a cloud head (issue 12), in the lab on AWS, GCE and Azure: create installs
it on the head's stock Debian python3 with the client's libraries (the cloud's SDK among them)
and the credentials the client signed in with (on Azure the certificate file and the CA bundle
it names); when the lab takes a spot compute node away the way the cloud does (an EC2 spot
interruption, a GCE preemption, an Azure eviction), the agent notices it, marks it down,
requeues its tasks and launches a replacement through the cloud's API from the head (the lab's
emulator, at the address the machines reach), bootstraps it, and the array job completes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .clouds import (
    GCE_REFRESH_TOKEN,
    LabCli,
    aws_leftovers,
    cli_for,
    emulator_leftovers,
    events_of,
    machines_of,
    nodes_of,
    reclaim_under_array,
    replaced,
    spot_agent_argv,
    wait_for,
)
from .control import Lab

pytestmark = pytest.mark.lab

CLOUDS = {"aws": "lbagaws", "gce": "lbaggce", "azure": "lbagaz"}  # cloud -> cluster name
AGENT_DIR = "/var/lib/ehpc-agent"


@dataclass
class Cluster:
    cloud: str
    name: str
    cli: LabCli
    secret: str  # what the client signs in with, which only the head's credentials may hold


def azure_key_line(lab: Lab) -> str:
    """A line of the private key in the lab's Azure sign-in certificate (CERTIFICATE PATH)."""
    conf = Path(lab.env()["EHPC_LAB_AZURE_CONF"]).read_text()
    path = next(line.split("=", 1)[1].strip() for line in conf.splitlines()
                if line.startswith("CERTIFICATE PATH"))
    return Path(path).read_text().splitlines()[1]


@pytest.fixture(scope="module", params=list(CLOUDS))
def cluster(request: pytest.FixtureRequest, lab: Lab, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Cluster]:
    cloud, name = request.param, CLOUDS[request.param]
    home = tmp_path_factory.mktemp(f"lab-agent-{cloud}")
    cli = cli_for(lab, cloud, home)
    secret = {"aws": lab.env()["AWS_SECRET_ACCESS_KEY"], "gce": GCE_REFRESH_TOKEN,
              "azure": azure_key_line(lab)}[cloud]
    created = cli(*spot_agent_argv(lab, cloud, name, 2, home))
    try:
        assert created.code == 0, created.err
        assert "the head agent did not start" not in created.err, created.err
        yield Cluster(cloud, name, cli, secret)
    finally:
        if name in cli("cluster", "list").out:
            cli("cluster", "terminate", name)


def test_agent_runs_on_the_cloud_head_with_root_only_credentials(cluster: Cluster) -> None:
    cli, name = cluster.cli, cluster.name
    assert any(e.startswith("agent agent") and "started" in e for e in events_of(cluster.cli, cluster.name))
    seen = cli("ssh", name, "--", f"sudo stat -c '%a %U' {AGENT_DIR} {AGENT_DIR}/credentials.json")
    assert seen.code == 0, seen.err
    assert seen.out.split("\n")[:2] == ["700 root", "600 root"], seen.out
    # The client's secret is in the head's credentials file and nowhere else: not in the client's
    # state, the agent's journal and log, or what the instances were given.
    found = cli("ssh", name, "--", f"sudo grep -rlF -e {cluster.secret} {AGENT_DIR} /var/lib/cloud "
                "/var/log /etc /root")
    # On Azure, the head's copy of the certificate file (credentials.json holds it encoded).
    held = f"{AGENT_DIR}/{'files/AZURE.CERTIFICATE_PATH' if cluster.cloud == 'azure' else 'credentials.json'}"
    assert found.out.split() == [held], (found.out, found.err)
    assert not [f for f in cli.state.rglob("*") if f.is_file() and cluster.secret.encode() in f.read_bytes()]


def test_spot_node_taken_away_is_replaced_by_the_agent(cluster: Cluster, lab: Lab) -> None:
    cli, name, victim = cluster.cli, cluster.name, f"{cluster.name}-node2"
    # Software installed on the live cluster is remembered: the replacement installs it too.
    # (Not on Azure: its compute nodes have no way out to the mirror, test_clouds.NO_OUTBOUND.)
    software = cluster.cloud != "azure"
    if software:
        installed = cli("cluster", "install", name, "samtools", timeout=900)
        assert installed.code == 0, installed.err
    before = reclaim_under_array(cli, lab, name, victim, 8)
    seen = replaced(cli, name, victim)
    for kind in ("reclaimed", "down"):
        assert any(e.startswith(f"{kind} {victim}") for e in seen), seen
    assert any(e.startswith("down") and "requeued: none" not in e for e in seen), seen
    after = machines_of(lab)[victim]
    assert after["alive"] and after["id"] != before["id"], (before, after)
    wait_for(lambda: nodes_of(cli, name)[victim]["scheduler_state"] == "idle", 120, f"{victim} idle")
    assert nodes_of(cli, name)[victim]["state"] == "running"
    # The client takes the new instance's host key from the agent (with its node list): ssh,
    # which refuses any key but the pinned one, reaches the replacement.
    reached = cli("ssh", name, victim, "--", "hostname")
    assert reached.code == 0 and reached.out.strip() == victim, reached.err
    if software:
        has = cli("ssh", name, victim, "--", "samtools --version | head -1")
        assert has.code == 0 and has.out.startswith("samtools "), has.err


def test_terminate_leaves_nothing(cluster: Cluster, lab: Lab) -> None:
    cli, name = cluster.cli, cluster.name
    done = cli("cluster", "terminate", name)
    assert done.code == 0, done.err
    # First, so that it does not take the compute nodes going away for lost ones to replace.
    assert "✓ stopping the head agent" in done.err and "not stopped" not in done.err, done.err
    wait_for(lambda: not [n for n in machines_of(lab) if n.startswith(name)], 180, "machines gone")
    left = aws_leftovers if cluster.cloud == "aws" else emulator_leftovers
    assert left(lab, name) == []
