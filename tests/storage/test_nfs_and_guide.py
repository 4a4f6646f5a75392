"""A 2-compute-node local cluster created with --nfs, then the guide's [NFS] and [GLUSTERFS]
example sections run on it with `ehpc fs`. This kernel has no NFS client: the head runs a real
nfs-ganesha server, each compute node proves the export over NFS (libnfs) and bind-mounts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..local.helpers import alive, cmdline, leftovers, node_pids
from .helpers import StorageCli, local_cluster, loop_backing_files

NAME = "stfs"
MOUNTS = ("/gluster/WGA", "/ehpc-st-gvs", "/ehpc-st-bricks", "/gluster", "/ehpc-st-nfs")
FALLBACK = ": no kernel NFS client: proved {server} over NFS (libnfs), bind-mounted the same " \
           "directory at {mount}"

# The guide's [NFS] and [GLUSTERFS] examples (chapter 2, sections 8 and 9) as printed.
GUIDE_NFS = """
[NFS]
# NFS CONFIGURATION
MOUNTING_POINT=/home  # Mounting Point `GCE, Azure'
DEVICE=/home  # Device Name `GCE, Azure'
FSID=0  # File System ID `GCE, Azure'
# AWS ONLY attach new volume
AWS_VOLUME_SIZE=10  # New EBS volume Size
AWS_MOUNT_POINT=/gluster  # Mounting point AWS only
# in case of attach an exist volume
AWS_VOLUME_DEVICE=  # EBS Device
AWS_VOLUME_NAME=
"""
GUIDE_GLUSTERFS = """
[GLUSTERFS]

MOUNT_POINT=/gluster/WGA/\t# Mounting Point
VOLUME_NAME =gv0\t# Volume Name
STRIPE = 1\t# Stripped data '1' to disable
REPLICATE = 1\t# Replicate data '1' to disable
FORMAT_DISK= False\t#Format Data Disk as XFS Filesystem
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageCli]:
    with local_cluster(tmp_path_factory, NAME, 2, "--nfs", mounts=MOUNTS) as ehpc:
        yield ehpc


def head_address(cli: StorageCli) -> str:
    return next(n["address"] for n in cli.json("nodes", "list", NAME) if n["role"] == "head")


def test_shared_dir_is_exported_by_the_head_and_proven_over_nfs(cli: StorageCli) -> None:
    head = head_address(cli)
    assert "nfs" in cli.on(NAME, "head", "rpcinfo -p 127.0.0.1").split()
    assert "Path = \"/shared\";" in cli.on(NAME, "head", "cat /etc/ganesha/ganesha.conf")
    listing = cli.on(NAME, "node2", f"nfs-ls nfs://{head}/shared").split()
    assert "jobs" in listing and ".ehpc" in listing  # the export is the shared directory
    script = (
        f"cd /shared/jobs && sbatch --wait -Q -w {NAME}-node1 -o /dev/null "
        "--wrap 'hostname > /shared/jobs/n1.txt' && "
        f"sbatch --wait -Q -w {NAME}-node2 -o read.out --wrap 'cat /shared/jobs/n1.txt' && cat read.out"
    )
    assert cli.on(NAME, "head", script) == f"{NAME}-node1\n"
    assert cli.on(NAME, "node2", f"nfs-cat nfs://{head}/shared/jobs/n1.txt") == f"{NAME}-node1\n"


def test_guide_nfs_section_exports_home_to_the_compute_nodes(cli: StorageCli, tmp_path: Path) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(GUIDE_NFS)
    out = cli.run("fs", "nfs", NAME, "-c", str(conf))
    head = head_address(cli)
    for node in ("node1", "node2"):
        assert f"{NAME}-{node}" + FALLBACK.format(server=f"{head}:/home", mount="/home") in out.stderr
    assert out.stdout == (f"nfs mounted at /home on {NAME}-node1, {NAME}-node2 "
                          f"({NAME}-head:/home fsid 0, server nfs-ganesha)\n")
    ganesha = cli.on(NAME, "head", "cat /etc/ganesha/ganesha.conf")
    assert 'Path = "/home";' in ganesha and "Filesystem_Id = 0.0;" in ganesha
    assert cli.on(NAME, "head", "stat -c %a /home") == "755\n"  # /home keeps its mode
    cli.on(NAME, "node1", "echo via-home > /home/probe.txt")
    assert cli.on(NAME, "node2", "cat /home/probe.txt") == "via-home\n"
    assert cli.on(NAME, "node2", f"nfs-cat nfs://{head}/home/probe.txt") == "via-home\n"
    assert "/home" in cli.on(NAME, "node1", "cat /etc/fstab")
    # AWS ONLY keys: not on the local provider, so no volume was made.
    assert [p for p in loop_backing_files() if str(cli.local_root) in p] == []


def test_guide_gluster_section_runs_on_a_running_cluster(cli: StorageCli, tmp_path: Path) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(GUIDE_GLUSTERFS)
    out = cli.json("fs", "gluster", NAME, "-c", str(conf))
    assert (out["kind"], out["mount_point"]) == ("glusterfs", "/gluster/WGA")
    assert out["detail"].startswith("volume gv0: Distribute, bricks ")
    cli.on(NAME, "head", "echo on-gluster > /gluster/WGA/g.txt")
    assert cli.on(NAME, "node2", "cat /gluster/WGA/g.txt") == "on-gluster\n"
    # jobs run as the cluster user: the volume's root is theirs to write (issue 14, item 6)
    job = cli.run("job", "submit", NAME, "--wait", "--", "touch /gluster/WGA/by-job && stat -c %U "
                  "/gluster/WGA/by-job")
    assert job.stdout == "ehpcuser\n"
    assert cli.on(NAME, "node1", "findmnt -rn -o FSTYPE /shared").strip() != "fuse.glusterfs"


def test_stripe_becomes_a_distributed_volume_on_xfs_brick_disks(cli: StorageCli) -> None:
    out = cli.run("fs", "gluster", NAME, "--volume", "gvs", "--stripe", "2", "--mount-point",
                  "/ehpc-st-gvs", "--brick-dir", "/ehpc-st-bricks", "--format-disk",
                  "--brick-disk-size", "1G", "--json")
    assert ("GlusterFS 6+ has no striping: STRIPE=2 gives a distributed volume over 2 brick "
            "sets (whole files spread over them)") in out.stderr
    assert json.loads(out.stdout)["detail"].startswith("volume gvs: Distribute, bricks ")
    disks = cli.disks()
    assert {d["attached_to"] for d in disks.values()} == {f"{NAME}-node1", f"{NAME}-node2"}
    for node in ("node1", "node2"):
        brick_fs = cli.on(NAME, node, "findmnt -rn -o SOURCE,FSTYPE /ehpc-st-bricks").split()
        assert brick_fs[0].startswith("/dev/loop") and brick_fs[1] == "xfs"
    cli.on(NAME, "node1", "for i in 1 2 3 4 5 6 7 8; do echo $i > /ehpc-st-gvs/f$i; done")
    on_bricks = [set(cli.on(NAME, n, "ls /ehpc-st-bricks/gvs").split()) for n in ("node1", "node2")]
    assert on_bricks[0] | on_bricks[1] == {f"f{i}" for i in range(1, 9)}
    assert not on_bricks[0] & on_bricks[1]  # distributed: each file whole on one brick


def test_an_nfs_export_is_writable_by_jobs(cli: StorageCli) -> None:
    """Jobs run as the cluster user: the export's root is theirs to write (issue 14, item 6)."""
    cli.run("fs", "nfs", NAME, "--device", MOUNTS[4], "--mount-point", MOUNTS[4], "--fsid", "7")
    job = cli.run("job", "submit", NAME, "--wait", "--", f"touch {MOUNTS[4]}/by-job && stat -c %U "
                  f"{MOUNTS[4]}/by-job")
    assert job.stdout == "ehpcuser\n"
    assert cli.on(NAME, "head", f"stat -c %a {MOUNTS[4]}") == "1777\n"


def test_replicate_beyond_the_compute_nodes_is_refused(cli: StorageCli) -> None:
    out = cli.run("fs", "gluster", NAME, "--volume", "gv3", "--replicate", "3", check=False)
    assert out.returncode == 2
    assert out.stderr.endswith("ehpc: error: [GLUSTERFS] REPLICATE=3 STRIPE=1 needs 3 compute "
                               "nodes for bricks; the cluster has 2\n")


def test_terminate_leaves_no_server_mount_disk_or_loop_device(cli: StorageCli) -> None:
    pids = node_pids(NAME)
    servers = [pid for pid in pids if cmdline(pid)[:1] in (["/usr/bin/ganesha.nfsd"],
                                                            ["/usr/sbin/rpcbind"])]
    assert len(servers) == 2
    removed = cli.json("cluster", "terminate", NAME)["removed"]
    assert {f"disk {NAME}-node1-brick", f"disk {NAME}-node2-brick"} <= set(removed)
    assert leftovers(NAME, cli.local_root, cli.state_dir, pids) == []
    assert [pid for pid in servers if alive(pid)] == []
    assert cli.disks() == {}
    assert [p for p in loop_backing_files() if str(cli.local_root) in p] == []
