"""What nodes can reach (the package registries, through this machine's NAT) and cannot (another
cluster, the host itself), a venv the cluster user makes in the shared home on every node, and
the host firewall that does it."""

from __future__ import annotations

import json
import subprocess

import pytest

from .conftest import Cluster

PROBE = "timeout 3 bash -c 'exec 3<>/dev/tcp/{}/22' && echo open || echo closed"


def _address(cluster: Cluster, node: str) -> str:
    nodes = json.loads(cluster.cli.run("nodes", "list", cluster.name, "--json").stdout)
    return next(n["address"] for n in nodes if n["name"] == f"{cluster.name}-{node}")


@pytest.mark.timeout(240)
def test_venv_in_the_shared_home_installs_from_pypi_and_works_on_every_node(
    clusters: dict[str, Cluster],
) -> None:
    cluster = clusters["cl-slurm"]
    # --isolated: PyPI itself, not a wheel directory or index this machine's pip.conf names.
    cluster.on_head("rm -rf ~/venv-net && /usr/bin/python3 -m venv ~/venv-net && ~/venv-net/bin/pip "
                    "install -q --isolated --no-cache-dir --cert /etc/ssl/certs/ca-certificates.crt "
                    "six", timeout=180)
    run = cluster.on_head("srun -N2 ~/venv-net/bin/python -c "
                          "'import six, socket; print(socket.gethostname(), six.__name__)' | sort")
    assert run.stdout.split("\n")[:2] == ["cl-slurm-node1 six", "cl-slurm-node2 six"], run.stdout
    # The top of the shared directory is the cluster user's.
    cluster.on_head("mkdir /shared/mine-$$ && rmdir /shared/mine-$$")


@pytest.mark.timeout(120)
def test_clusters_cannot_reach_each_other_nor_the_host(clusters: dict[str, Cluster]) -> None:
    one, other = clusters["cl-slurm"], clusters["cl-noacct"]
    own = _address(one, "node1")
    foreign = _address(other, "head")
    host = foreign.rsplit(".", 1)[0] + ".1"  # this machine, on the other cluster's bridge
    own_bridge = own.rsplit(".", 1)[0] + ".1"
    states = [one.on_head(PROBE.format(address)).stdout.strip()
              for address in (own, foreign, host, own_bridge)]
    assert states == ["open", "closed", "closed", "closed"]
    # ... while this machine reaches every node (it runs ehpc over SSH).
    reach = subprocess.run(["bash", "-c", PROBE.format(foreign)], capture_output=True, text=True)
    assert reach.stdout.strip() == "open"
    tables = subprocess.run(["nft", "list", "table", "inet", "ehpc"], capture_output=True, text=True)
    assert "masquerade" in tables.stdout
    with open("/proc/sys/net/ipv4/ip_forward") as forwarding:
        assert forwarding.read().strip() == "1"
