"""Data disks on a real 2-node local cluster: sparse images, loop devices mounted in one node,
format refusals, snapshots, the guide's [DISK] section, and a terminate that cleans up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..local.helpers import leftovers, node_pids
from .helpers import StorageCli, host_mounts_of, local_cluster, loop_backing_files

NAME = "stdisk"
MOUNTS = ("/ehpc-st-data", "/ehpc-st-back", "/ehpc-st-many1", "/ehpc-st-many2", "/ehpc-st-kill")

# The guide's [DISK] example (chapter 2, "Data disk and block storage configurations"), its
# placeholders filled in; the GCE/Azure-only keys keep theirs.
GUIDE_DISK = """
[DISK]
# BLOCK STORAGE CONFIGURATION
GCE_SNAPSHOT = <GCE SNAPSHOT> # create Disk from snapshot
GCE_SNAPSHOT_PROJECT = <PROJECT ID> # snapshot project id
AZURE_DISK_URL = <DATA DISK VALID VHD FILE>
DISK_NAME = stmany
DISK_ZONE = local
DISK_INSTANCE = 2
DISK_NUMBER = 2
DISK SIZE = 1
MOUNT_POINT = /ehpc-st-many
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageCli]:
    with local_cluster(tmp_path_factory, NAME, 2, mounts=MOUNTS) as ehpc:
        yield ehpc


def mounted(cli: StorageCli, node: str, path: str) -> str:
    return cli.on(NAME, node, f"findmnt -rn -o SOURCE,FSTYPE {path} || true").strip()


def test_create_makes_a_sparse_tagged_image(cli: StorageCli) -> None:
    created = cli.disk_json("create", "stdata", "--size", "10G", "--cluster", NAME)
    (disk,) = created["disks"]
    assert (disk["size_gb"], disk["state"], disk["cluster"]) == (10, "available", NAME)
    image = Path(disk["extra"]["image"])
    assert image.stat().st_size == 10 * 2**30
    assert image.stat().st_blocks * 512 < 2**20  # sparse: nothing written yet
    again = cli.disk("create", "stdata", "--size", "1G", check=False)
    assert again.returncode == 1
    assert again.stderr == "ehpc: error: a disk named 'stdata' already exists on local: pick another name\n"


@pytest.mark.parametrize(("mount_point", "shared"), [
    ("/shared", "/shared is the cluster's shared directory"),
    ("/shared/data", "/shared is the cluster's shared directory"),
    ("/home", "/home is the users' homes"),
    ("/gluster", "/gluster/gv0 is GlusterFS's mount point"),
])
def test_a_disk_is_never_mounted_over_what_the_nodes_share(cli: StorageCli, mount_point: str,
                                                           shared: str) -> None:
    refused = cli.disk("attach", "stdata", NAME, "--node", "node1", "--mount-point", mount_point,
                       check=False)
    assert (refused.returncode, refused.stderr) == (2, (
        f"ehpc: error: --mount-point {mount_point}: {shared}, which a disk mounted there would "
        "hide on its node (pick another, such as /mnt/data)\n")), refused.stderr
    assert cli.disks()["stdata"]["state"] == "available"  # refused before anything was done


def test_attached_disk_is_mounted_in_its_node_only(cli: StorageCli) -> None:
    out = cli.disk_json("attach", "stdata", NAME, "--node", "node1", "--mount-point",
                   MOUNTS[0], "--filesystem", "xfs")
    device = out["disk"]["device"]
    assert device.startswith("/dev/loop")
    assert (out["node"], out["mount"]["filesystem"]) == (f"{NAME}-node1", "xfs")
    assert out["mount"]["size_bytes"] > 9 * 2**30
    assert mounted(cli, "node1", MOUNTS[0]) == f"{device} xfs"
    assert mounted(cli, "node2", MOUNTS[0]) == ""
    assert mounted(cli, "head", MOUNTS[0]) == ""
    assert host_mounts_of(f" {MOUNTS[0]} ") == []
    fstab = cli.on(NAME, "node1", "cat /etc/fstab")
    assert f"# ehpc-disk stdata\nUUID={out['mount']['uuid']} {MOUNTS[0]} xfs defaults,nofail 0 2\n" in fstab
    assert "ehpc-disk" not in cli.on(NAME, "node2", "cat /etc/fstab")
    listed = cli.disks()["stdata"]
    assert (listed["state"], listed["attached_to"], listed["device"]) == ("in-use", f"{NAME}-node1", device)


def test_delete_refuses_an_attached_disk(cli: StorageCli) -> None:
    out = cli.disk("delete", "stdata", check=False)
    assert out.returncode == 1
    assert out.stderr == (f"ehpc: error: disk stdata is attached to {NAME}-node1: detach it first, "
                          "or delete with --force\n")
    assert cli.disks()["stdata"]["state"] == "in-use"


def test_format_refuses_a_disk_with_data_unless_forced(cli: StorageCli) -> None:
    cli.on(NAME, "node1", f"echo precious > {MOUNTS[0]}/data.txt")
    cli.disk("detach", "stdata")
    assert mounted(cli, "node1", MOUNTS[0]) == ""
    assert "ehpc-disk" not in cli.on(NAME, "node1", "cat /etc/fstab")
    assert not any(path.endswith("/stdata.img") for path in loop_backing_files())

    refused = cli.disk("attach", "stdata", NAME, "--node", "node1", "--mount-point", MOUNTS[0],
                       check=False)
    assert refused.returncode == 1
    assert refused.stderr == (
        "ehpc: error: disk stdata already holds a file system (xfs): not formatting it (attach "
        "with --no-format to mount it as it is, or --force to erase it)\n"
    )
    assert cli.disks()["stdata"]["state"] == "available"  # a refusal leaves it detached

    cli.disk("attach", "stdata", NAME, "--node", "node1", "--mount-point", MOUNTS[0], "--no-format")
    assert cli.on(NAME, "node1", f"cat {MOUNTS[0]}/data.txt") == "precious\n"
    cli.disk("detach", "stdata")

    cli.disk("attach", "stdata", NAME, "--node", "node1", "--mount-point", MOUNTS[0], "--force")
    assert mounted(cli, "node1", MOUNTS[0]).endswith(" ext4")
    assert cli.on(NAME, "node1", f"ls {MOUNTS[0]}").split() == ["lost+found"]


def test_snapshot_copies_a_disk_and_survives_terminate_when_kept(cli: StorageCli) -> None:
    cli.on(NAME, "node1", f"echo from-snapshot > {MOUNTS[0]}/snap.txt; sync")
    cli.disk("snapshot", "stdata", "stsnap")
    (snap,) = [s for s in cli.disk_json("list", "--snapshots") if s["name"] == "stsnap"]
    assert (snap["disk_id"], snap["size_gb"]) == ("stdata", 10)
    cli.disk("create", "stkept", "--snapshot", "stsnap")  # no --cluster: the user's, kept
    out = cli.run("disk", "attach", "stkept", NAME, "--node", "head", "--mount-point", MOUNTS[1],
                  "--no-format").stdout
    assert out.startswith(f"stkept: ext4 on {NAME}-head:{MOUNTS[1]} (/dev/loop")
    assert cli.on(NAME, "head", f"cat {MOUNTS[1]}/snap.txt") == "from-snapshot\n"
    cli.disk("delete", "stsnap", "--snapshot")
    assert cli.disk_json("list", "--snapshots") == []


def test_guide_disk_section_creates_and_mounts_disk_number_disks(
    cli: StorageCli, tmp_path: Path
) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text(GUIDE_DISK)
    out = cli.disk_json("create", "-c", str(conf), "--cluster", NAME, "--attach")
    mounts = {d["disk"]["name"]: (d["node"], d["mount"]["mount_point"]) for d in out["disks"]}
    assert mounts == {"stmany-1": (f"{NAME}-node2", "/ehpc-st-many1"),
                      "stmany-2": (f"{NAME}-node2", "/ehpc-st-many2")}
    assert mounted(cli, "node2", "/ehpc-st-many2").endswith(" ext4")


def test_create_attach_killed_then_rerun_mounts_that_disk(cli: StorageCli) -> None:
    """kill -9 of `disk create --attach` once the disk is made: the same command again mounts
    that disk (it used to refuse: 'a disk named ... already exists'), and only that one."""
    argv = ["disk", "create", "stkill", "--size", "1G", "--cluster", NAME, "--attach", "--node",
            "node2", "--mount-point", MOUNTS[4], "--local-root-dir", str(cli.local_root)]
    proc = subprocess.Popen([sys.executable, "-m", "elastichpc", *argv], env=cli.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record, deadline = cli.local_root / "disks" / "stkill.json", time.monotonic() + 60
    while not record.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    assert record.exists()
    cli.run(*argv)
    assert mounted(cli, "node2", MOUNTS[4]).endswith(" ext4")
    assert [d["name"] for d in cli.disk_json("list")].count("stkill") == 1
    cli.disk("detach", "stkill")
    cli.disk("delete", "stkill")


def test_terminate_leaves_no_loop_device_mount_or_image(cli: StorageCli) -> None:
    images = {name: d["extra"]["image"] for name, d in cli.disks().items()}
    assert set(images) == {"stdata", "stkept", "stmany-1", "stmany-2"}
    pids = node_pids(NAME)
    removed = cli.json("cluster", "terminate", NAME)["removed"]
    assert {"disk stdata", "disk stmany-1", "disk stmany-2"} <= set(removed)
    assert leftovers(NAME, cli.local_root, cli.state_dir, pids) == []
    backing = loop_backing_files()
    assert [path for path in images.values() if path in backing] == []
    assert [line for line in host_mounts_of("/dev/loop") if str(cli.local_root) in line] == []
    assert [name for name, path in images.items() if os.path.exists(path)] == ["stkept"]
    kept = cli.disks()["stkept"]
    assert (kept["state"], kept["attached_to"]) == ("available", "")
    cli.disk("delete", "stkept")
    assert not os.path.exists(images["stkept"])
    assert cli.disk_json("list") == []
