"""Containers on a local Slurm cluster: `--packages podman,mmdebstrap` at create, rootless podman
for the cluster user (subordinate ids of its own cluster, images on the node's own disk), a
Debian image built on the cluster from the Debian mirror with examples/containers/ (no registry),
saved to the shared directory and run from jobs on the compute nodes, one added later too.

Local nodes run this machine's /usr: podman, mmdebstrap, uidmap (and runc where crun refuses
this machine's cgroups) are installed here, and left installed. The image build downloads
minbase from the mirror (about 25 s); the first job on a node loads the archive (a few s)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, Ehpc, leftovers

NAME = "ct-pod"
IMAGE = "localhost/debian:bookworm"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "containers"
TIMINGS: dict[str, float] = {}
VERSION: list[str] = []  # the image's /etc/debian_version, as the first job saw it


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / f"ct-{state.parent.name}")
    try:
        ehpc.create(NAME, 1, "--packages", "podman,mmdebstrap")
        yield ehpc
    finally:
        ehpc.run("cluster", "terminate", NAME, check=False)
        assert leftovers(NAME, ehpc.local_root, state, []) == []
        shutil.rmtree(ehpc.local_root, ignore_errors=True)
        print(f"\ncontainer timings: {TIMINGS}")


def as_user(ehpc: Ehpc, command: str, node: str = "", timeout: float = 120) -> str:
    where = [node] if node else []
    return ehpc.run("ssh", NAME, *where, "--user", "ehpcuser", "--", "bash", "-lc", command,
                    timeout=timeout).stdout


def job(ehpc: Ehpc, *command: str) -> tuple[str, str]:
    """Submit, wait; (its output, the node it ran on)."""
    started = time.monotonic()
    job_id = ehpc.run("job", "submit", NAME, "--", *command).stdout.split()[0]
    ehpc.run("job", "wait", NAME, job_id, timeout=180)
    TIMINGS[f"job {' '.join(command)}"] = round(time.monotonic() - started, 1)
    status = ehpc.json("job", "status", NAME, job_id)
    logs = ehpc.json("job", "logs", NAME, job_id)  # [{path, text}]: .out, then .err
    return "".join(log["text"] for log in logs if log["path"].endswith(".out")), str(status)


def test_cluster_user_gets_rootless_podman(cluster: Ehpc) -> None:
    uid = int(as_user(cluster, "id -u", "node1"))
    ids = cluster.run("ssh", NAME, "node1", "--", "cat", "/etc/subuid", "/etc/subgid").stdout
    # its own range, not useradd's 100000 every cluster's user would share
    assert ids.split() == [f"ehpcuser:{uid * 65536}:65536"] * 2
    info = as_user(cluster, "podman info --format '{{.Store.GraphRoot}} {{.Store.GraphDriverName}}'",
                   "node1")
    assert info.split()[-2:] == ["/var/tmp/ehpc-containers/ehpcuser", "overlay"]


def test_image_built_on_the_cluster_runs_in_a_job(cluster: Ehpc) -> None:
    cluster.run("cp", "-r", str(EXAMPLE), f"{NAME}:/shared/")
    started = time.monotonic()
    out = as_user(cluster, "/shared/containers/build-image.sh", timeout=600)
    TIMINGS["build-image.sh"] = round(time.monotonic() - started, 1)
    assert f"{IMAGE} saved to /shared/containers/debian-bookworm.tar" in out
    # first job on the node: loads the archive from the shared directory, then runs
    out, status = job(cluster, "/shared/containers/job.sh", "cat", "/etc/debian_version")
    assert f"{NAME}-node1" in status, status
    # the mirror's Debian 12 point release (this machine's may be older)
    version = out.split()[-1]
    assert re.fullmatch(r"12\.\d+", version), out
    VERSION.append(version)
    # now in the node's store: plain podman run
    out, status = job(cluster, "podman", "run", "--rm", IMAGE, "cat", "/etc/debian_version")
    assert version in out.split() and f"{NAME}-node1" in status, (out, status)
    # the container is the job's: as the cluster user, on the node's network
    out, _ = job(cluster, "podman", "run", "--rm", IMAGE, "sh", "-c",
                 "id -u; cat /proc/sys/kernel/hostname")
    assert out.split()[-2:] == ["0", f"{NAME}-node1"], out


def test_node_added_later_runs_it(cluster: Ehpc) -> None:
    cluster.run("cluster", "resize", NAME, "--add", "1", timeout=300)
    out = as_user(cluster, f"srun -N1 -w {NAME}-node2 /shared/containers/job.sh "
                           "cat /etc/debian_version", timeout=180)
    assert out.split() == VERSION, out
