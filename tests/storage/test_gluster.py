"""A 2-compute-node local cluster created with --gluster: the shared directory is a replica-2
GlusterFS volume, jobs on different nodes share files, one server can go, terminate cleans up."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..local.helpers import alive, cmdline, leftovers, node_pids
from .helpers import StorageCli, host_mounts_of, local_cluster

NAME = "stgl"
BRICK = "/var/spool/ehpc-bricks/gv0"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageCli]:
    with local_cluster(tmp_path_factory, NAME, 2, "--gluster", "--glusterfs-replicate", "2",
                       mounts=("/gluster/gv0", "/gluster")) as ehpc:
        yield ehpc


def test_both_shared_file_systems_at_once_are_refused(cli: StorageCli) -> None:
    out = cli.run("cluster", "create", "--name", "stboth", "--size", "1", "--gluster", "--nfs",
                  "--local-root-dir", str(cli.local_root), check=False)
    assert out.returncode == 2
    assert out.stderr.endswith("ehpc: error: choose one shared file system: --gluster or --nfs, "
                               "not both\n")
    assert [c["name"] for c in cli.json("cluster", "list")] == [NAME]
    assert node_pids("stboth") == []


def test_shared_dir_is_the_replicated_volume_on_every_node(cli: StorageCli) -> None:
    info = cli.on(NAME, "node1", "gluster volume info gv0")
    assert "Type: Replicate" in info
    assert "Number of Bricks: 1 x 2 = 2" in info
    for node in ("head", "node1", "node2"):
        mounts = cli.on(NAME, node, "findmnt -rn -t fuse.glusterfs -o TARGET").split()
        assert sorted(mounts) == ["/gluster/gv0", "/shared"], node
    assert host_mounts_of("fuse.glusterfs") == []  # only inside the nodes


def test_job_on_one_node_writes_a_file_a_job_on_another_reads(cli: StorageCli) -> None:
    script = (
        f"cd /shared/jobs && sbatch --wait -Q -w {NAME}-node1 -o /dev/null "
        "--wrap 'hostname > /shared/jobs/from-node1.txt' && "
        f"sbatch --wait -Q -w {NAME}-node2 -o read.out --wrap 'cat /shared/jobs/from-node1.txt; hostname'"
        " && cat read.out"
    )
    assert cli.on(NAME, "head", script) == f"{NAME}-node1\n{NAME}-node2\n"
    for node in ("node1", "node2"):  # both bricks hold the file: replica 2
        assert cli.on(NAME, node, f"cat {BRICK}/jobs/from-node1.txt") == f"{NAME}-node1\n"


def test_replica_stays_readable_and_writable_with_one_server_stopped(cli: StorageCli) -> None:
    pids = cli.on(NAME, "node2", "cat /run/glusterd.pid /run/gluster/vols/gv0/*.pid").split()
    assert len(pids) == 2
    cli.on(NAME, "node2", f"kill {' '.join(pids)}")
    deadline = time.monotonic() + 20
    while any(alive(int(pid)) for pid in pids):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert cli.on(NAME, "head", "cat /shared/jobs/from-node1.txt") == f"{NAME}-node1\n"
    cli.on(NAME, "head", "echo written-while-down > /shared/jobs/down.txt")
    assert cli.on(NAME, "node1", "cat /shared/jobs/down.txt") == "written-while-down\n"
    assert cli.on(NAME, "node2", "cat /shared/jobs/down.txt") == "written-while-down\n"


def test_terminate_leaves_no_gluster_process_volume_or_mount(cli: StorageCli) -> None:
    pids = node_pids(NAME)
    gluster = [pid for pid in pids if any("gluster" in arg for arg in cmdline(pid)[:1])]
    assert len(gluster) >= 5  # glusterd, brick, self-heal on node1; FUSE clients on every node
    cli.run("cluster", "terminate", NAME)
    assert leftovers(NAME, cli.local_root, cli.state_dir, pids) == []
    assert [pid for pid in gluster if alive(pid)] == []
    assert not (cli.local_root / NAME).exists()  # node dirs: glusterd state and bricks
