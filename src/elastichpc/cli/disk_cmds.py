"""ehpc disk create|snapshot|attach|detach|list|delete: data disks on any provider (guide 4.a-4.g)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .options import add_access_flags, settings_from
from .output import print_json, print_table

if TYPE_CHECKING:
    from .registry import Commands


def _dest(key: str) -> str:
    return f"cfg:DISK:{key}"


def _where(parser: argparse.ArgumentParser, *sections: str) -> None:
    """--provider / --cluster pick the cloud; provider flags carry its credentials."""
    parser.add_argument("--cluster", default="", help="the cluster whose provider to use; "
                        "`disk create` also tags the disk with it (removed at terminate)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_access_flags(parser, *sections, accept_all=True)


def _mount_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node", dest=_dest("DISK_INSTANCE"), metavar="NODE",
                        help="node name (head, node2) or the guide's index (0 = head); default head")
    parser.add_argument("--mount-point", dest=_dest("MOUNT_POINT"), metavar="DIR",
                        help="where to mount it (default /mnt/<disk>)")
    parser.add_argument("--filesystem", dest=_dest("FILESYSTEM"), metavar="ext4|xfs")
    parser.add_argument("--format", dest=_dest("FORMAT_DISK"), action=argparse.BooleanOptionalAction,
                        help="make a new file system (default yes; refused on a disk that has "
                        "one unless --force)")
    parser.add_argument("--force", action="store_true",
                        help="format even a disk that holds a file system")


def register(commands: Commands) -> None:
    commands.add(
        "disk create", create_args, create_cmd,
        "new empty disk(s), or from a snapshot; --attach mounts them too",
        description="Create DISK_NUMBER disks (NAME, or NAME-1..NAME-N). With --cluster the "
        "disks carry the cluster's tag and go when it is terminated; without, they are kept.",
    )
    commands.add("disk snapshot", snapshot_args, snapshot_cmd, "snapshot a disk")
    commands.add("disk attach", attach_args, attach_cmd,
                 "attach a disk to a cluster node, format and mount it")
    commands.add("disk detach", detach_args, detach_cmd, "unmount (fstab too) and detach a disk")
    commands.add("disk list", list_args, list_cmd, "disks (or snapshots) as the provider sees them")
    commands.add("disk delete", delete_args, delete_cmd, "delete disks (or snapshots)",
                 aliases=("remove",))


def create_args(create: argparse.ArgumentParser) -> None:
    create.add_argument("name", nargs="?", help="disk name (default: [DISK] DISK_NAME)")
    create.add_argument("--size", dest=_dest("DISK SIZE"), metavar="SIZE", help="e.g. 10G")
    create.add_argument("--number", dest=_dest("DISK_NUMBER"), metavar="N")
    create.add_argument("--zone", dest=_dest("DISK_ZONE"), metavar="ZONE")
    create.add_argument("--type", dest=_dest("DISK_TYPE"), metavar="TYPE")
    create.add_argument("--snapshot", default="", help="make the disk from this snapshot")
    create.add_argument("--url", dest=_dest("AZURE_DISK_URL"), metavar="URL",
                        help="make the disk from this disk image (a VHD blob on Azure)")
    create.add_argument("--attach", action="store_true",
                        help="attach to --cluster's node, format and mount")
    create.add_argument("--keep", action="store_true",
                        help="with --cluster: do not tag, so terminate keeps the disk")
    _mount_flags(create)
    _where(create, "DISK")


def snapshot_args(snapshot: argparse.ArgumentParser) -> None:
    snapshot.add_argument("disk")
    snapshot.add_argument("snapshot", help="name of the new snapshot")
    _where(snapshot)


def attach_args(attach: argparse.ArgumentParser) -> None:
    attach.add_argument("disk")
    attach.add_argument("target_cluster", metavar="CLUSTER")
    _mount_flags(attach)
    attach.add_argument("--json", action="store_true")
    add_access_flags(attach, "DISK", accept_all=True)


def detach_args(detach: argparse.ArgumentParser) -> None:
    detach.add_argument("disk")
    detach.add_argument("--force", action="store_true", help="even when the unmount fails")
    _where(detach)


def list_args(listing: argparse.ArgumentParser) -> None:
    listing.add_argument("--snapshots", action="store_true", help="list snapshots instead")
    _where(listing)


def delete_args(delete: argparse.ArgumentParser) -> None:
    delete.add_argument("disks", nargs="+", metavar="DISK")
    delete.add_argument("--snapshot", action="store_true", help="the names are snapshots")
    delete.add_argument("--force", action="store_true", help="detach attached disks first")
    _where(delete)


def _mount_options(settings: Any, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "format_disk": settings.get("DISK", "FORMAT_DISK"),
        "filesystem": settings.get("DISK", "FILESYSTEM"),
        "force": args.force,
    }


def _print_mounted(attached: Any) -> None:
    mount = attached.mount
    if mount is None:
        print(f"{attached.disk.name}: attached to {attached.node} as {attached.disk.device}")
        return
    print(f"{attached.disk.name}: {mount.filesystem} on {attached.node}:{mount.mount_point} "
          f"({attached.disk.device}), {mount.size_bytes / 2**30:.1f} GiB, "
          f"{mount.used_bytes / 2**20:.0f} MiB used")


def create_cmd(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..orchestration.disks import attach_disk, create_disks, provider_for, refuse_cluster_dir

    settings = settings_from(args)
    name = args.name or settings.require("DISK", "DISK_NAME")
    if args.attach and not args.cluster:
        raise ConfigError("--attach needs --cluster CLUSTER (the cluster whose node gets it)")
    provider, context = provider_for(settings, args.cluster)
    base = settings.get("DISK", "MOUNT_POINT") or ""
    number = settings.get("DISK", "DISK_NUMBER")
    if args.attach and context is not None and base:  # refused before any disk is made
        for mount_point in {base, *(f"{base}{i}" for i in range(1, number + 1))}:
            refuse_cluster_dir(context.spec, mount_point)
    disks = create_disks(
        provider, name, settings.get("DISK", "DISK SIZE"),
        number=number,
        cluster="" if args.keep else args.cluster,
        zone=settings.get("DISK", "DISK_ZONE") or "",
        disk_type=settings.get("DISK", "DISK_TYPE") or "",
        snapshot=args.snapshot or settings.get("DISK", "GCE_SNAPSHOT") or "",
        source_url=settings.get("DISK", "AZURE_DISK_URL") or "",
        journal=context.journal if context is not None else None,
    )
    attached = []
    if args.attach and context is not None:
        with context.journal.cluster_lock(context.name, "getting a disk"):
            for index, disk in enumerate(disks, start=1):
                mount_point = f"{base}{index}" if base and len(disks) > 1 else base
                attached.append(attach_disk(
                    context, disk.disk_id, settings.get("DISK", "DISK_INSTANCE") or 0,
                    mount_point=mount_point, **_mount_options(settings, args),
                ))
    if args.json:
        print_json({"disks": attached or disks})
        return 0
    for item in attached:
        _print_mounted(item)
    if not attached:
        for disk in disks:
            print(f"Created disk {disk.name} ({disk.size_gb} GiB) on {provider.name}")
    return 0


def snapshot_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.disks import provider_for, snapshot_disk

    provider, _ = provider_for(settings_from(args), args.cluster)
    snapshot = snapshot_disk(provider, args.disk, args.snapshot)
    if args.json:
        print_json(snapshot)
    else:
        print(f"Snapshot {snapshot.name} of disk {args.disk} ({snapshot.size_gb} GiB)")
    return 0


def attach_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.disks import attach_disk, over_cluster, provider_for, refuse_cluster_dir

    _, context = provider_for(settings_from(args), args.target_cluster)
    assert context is not None
    settings = over_cluster(context, settings_from(args))
    mount_point = settings.get("DISK", "MOUNT_POINT") or ""
    if mount_point:
        refuse_cluster_dir(context.spec, mount_point)
    with context.journal.cluster_lock(context.name, "getting a disk"):
        attached = attach_disk(
            context, args.disk, settings.get("DISK", "DISK_INSTANCE") or 0,
            mount_point=mount_point, **_mount_options(settings, args),
        )
    if args.json:
        print_json(attached)
    else:
        _print_mounted(attached)
    return 0


def detach_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.disks import detach_disk, provider_for

    settings = settings_from(args)
    provider, _ = provider_for(settings, args.cluster)
    disk = detach_disk(provider, args.disk, force=args.force, settings=settings)
    if args.json:
        print_json(disk)
    else:
        print(f"Detached disk {disk.name}")
    return 0


def list_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.disks import provider_for

    provider, _ = provider_for(settings_from(args), args.cluster)
    if args.snapshots:
        snapshots = provider.snapshots(args.cluster)
        if args.json:
            print_json(snapshots)
        else:
            print_table(["NAME", "ID", "DISK", "SIZE", "STATE"],
                        [[s.name, s.snapshot_id, s.disk_id, f"{s.size_gb}G", s.state]
                         for s in snapshots])
        return 0
    disks = provider.disks(args.cluster)
    if args.json:
        print_json(disks)
    elif disks:
        print_table(
            ["NAME", "ID", "SIZE", "STATE", "ATTACHED TO", "DEVICE", "CLUSTER"],
            [[d.name, d.disk_id, f"{d.size_gb}G", d.state, d.attached_to or "-",
              d.device or "-", d.cluster or "-"] for d in disks],
        )
    else:
        print(f"No disks on {provider.name}.", file=sys.stderr)
    return 0


def delete_cmd(args: argparse.Namespace) -> int:
    from ..orchestration.disks import delete_disk, delete_snapshot, provider_for

    settings = settings_from(args)
    provider, _ = provider_for(settings, args.cluster)
    deleted = []
    for ref in args.disks:
        if args.snapshot:
            deleted.append(delete_snapshot(provider, ref).name)
        else:
            deleted.append(delete_disk(provider, ref, force=args.force, settings=settings).name)
    if args.json:
        print_json({"deleted": deleted})
    else:
        print(f"Deleted {', '.join(deleted)}")
    return 0
