"""ehpc fs gluster|nfs CLUSTER: a shared file system on a running cluster (guide 4.d, 4.e)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .options import PROVIDER_SECTIONS, add_settings_flags, settings_from
from .output import ConsoleProgress, print_json

if TYPE_CHECKING:
    from .registry import Commands


def register(commands: Commands) -> None:
    commands.add(
        "fs gluster", gluster_args, gluster_cmd,
        "a GlusterFS volume of the compute nodes, mounted on every node",
        description="Bricks on the compute nodes ([GLUSTERFS] BRICK_DIR, or a new XFS data disk "
        "each with FORMAT_DISK), one volume, the FUSE mount at MOUNT_POINT on every node. "
        "GlusterFS 6+ has no striping: STRIPE=n gives a distributed volume of n brick sets.",
    )
    commands.add(
        "fs nfs", nfs_args, nfs_cmd, "the head exports a directory, the compute nodes mount it",
        description="The head exports [NFS] DEVICE with FSID (or a new/existing volume: "
        "AWS_VOLUME_SIZE / AWS_VOLUME_NAME, mounted at AWS_MOUNT_POINT); the compute nodes "
        "mount it at MOUNTING_POINT. Where the kernel cannot mount NFS (this machine), the "
        "export is proven over NFS with libnfs and a bind mount of the same directory is used.",
    )


def gluster_args(gluster: argparse.ArgumentParser) -> None:
    gluster.add_argument("name", metavar="CLUSTER")
    for flag, key in (("--volume", "VOLUME_NAME"), ("--mount-point", "MOUNT_POINT"),
                      ("--replicate", "REPLICATE"), ("--stripe", "STRIPE"),
                      ("--brick-dir", "BRICK_DIR")):
        gluster.add_argument(flag, dest=f"cfg:GLUSTERFS:{key}", metavar="VALUE")
    gluster.add_argument("--format-disk", dest="cfg:GLUSTERFS:FORMAT_DISK", nargs="?",
                         const="true", metavar="BOOL", help="a new XFS data disk per brick node")
    gluster.add_argument("--brick-disk-size", dest="cfg:DISK:DISK SIZE", metavar="SIZE",
                         help="size of those disks, e.g. 10G")
    gluster.add_argument("--json", action="store_true")
    add_settings_flags(gluster, ("GLUSTERFS", "DISK"), access=PROVIDER_SECTIONS,
                       hidden=PROVIDER_SECTIONS)


def nfs_args(nfs: argparse.ArgumentParser) -> None:
    nfs.add_argument("name", metavar="CLUSTER")
    for flag, key in (("--device", "DEVICE"), ("--mount-point", "MOUNTING_POINT"),
                      ("--fsid", "FSID")):
        nfs.add_argument(flag, dest=f"cfg:NFS:{key}", metavar="VALUE")
    nfs.add_argument("--json", action="store_true")
    add_settings_flags(nfs, ("NFS",), access=PROVIDER_SECTIONS, hidden=PROVIDER_SECTIONS)


def _run(args: argparse.Namespace, kind: str) -> int:
    from ..orchestration.context import open_cluster
    from ..orchestration.disks import over_cluster
    from ..orchestration.storage import setup_gluster, setup_nfs

    context = open_cluster(args.name, settings=settings_from(args))
    settings = over_cluster(context, settings_from(args))
    progress = ConsoleProgress()
    setup = setup_gluster if kind == "gluster" else setup_nfs
    with (context.journal.cluster_lock(args.name, "getting a shared file system"),
          progress.step(f"{'GlusterFS' if kind == 'gluster' else 'NFS'} on {args.name}")):
        result = setup(context, settings, progress)
    if args.json:
        print_json(result)
    else:
        print(f"{result.kind} mounted at {result.mount_point} on {', '.join(result.nodes)} "
              f"({result.detail})")
    return 0


def gluster_cmd(args: argparse.Namespace) -> int:
    return _run(args, "gluster")


def nfs_cmd(args: argparse.Namespace) -> int:
    return _run(args, "nfs")
