"""Data disks on any provider: create, snapshot, attach + format + mount, detach, list, delete.

The provider does the cloud part (its Provider disk methods); mounting is the bootstrap disk
step run on the node over SSH, the same script everywhere. Disks are found from the provider,
by id or name; the journal only tells which cluster a machine belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..bootstrap.storage import DiskMount, disk_mount_script, disk_unmount_script
from ..config import ClusterSpec, Settings
from ..errors import ConfigError, EhpcError, RemoteCommandError
from ..providers import Disk, Machine, Provider, Snapshot
from ..state import Journal
from .context import ClusterContext, open_cluster
from .fleet import account_provider


@dataclass
class AttachedDisk:
    disk: Disk
    node: str
    mount: DiskMount | None  # what the disk step reported (size, usage, UUID)


def provider_for(
    settings: Settings, cluster: str = "", journal: Journal | None = None
) -> tuple[Provider, ClusterContext | None]:
    """The cluster's provider when a cluster is named, else [CLUSTER] PROVIDER's."""
    if cluster:
        context = open_cluster(cluster, journal, settings)
        return context.provider, context
    return account_provider(settings, "local"), None


def over_cluster(context: ClusterContext, settings: Settings) -> Settings:
    """This call's settings (file and flags) over those the cluster was created with."""
    stored = context.spec.settings
    return Settings({**stored.values, **settings.values}, {**stored.sources, **settings.sources},
                    {**stored.placeholders, **settings.placeholders})


def disk_names(name: str, number: int) -> list[str]:
    """DISK_NUMBER disks: `name` alone, or name-1 .. name-N."""
    if number < 1:
        raise ConfigError(f"[DISK] DISK_NUMBER must be at least 1, got {number}")
    return [name] if number == 1 else [f"{name}-{i}" for i in range(1, number + 1)]


def find_disk(provider: Provider, ref: str) -> Disk:
    """The disk with this id, else the one disk with this name (several: refused, never one of
    them at random)."""
    disks = provider.disks()
    for disk in disks:
        if ref == disk.disk_id:
            return disk
    named = [disk for disk in disks if ref == disk.name]
    if len(named) > 1:
        ids = ", ".join(disk.disk_id for disk in named)
        raise EhpcError(f"{len(named)} disks on {provider.name} are named {ref!r} ({ids}): "
                        "name the one you mean by its id")
    if named:
        return named[0]
    known = ", ".join(d.name or d.disk_id for d in disks) or "none"
    raise EhpcError(f"no disk {ref!r} on {provider.name} (disks: {known})")


def find_snapshot(provider: Provider, ref: str) -> Snapshot:
    for snapshot in provider.snapshots():
        if ref in (snapshot.snapshot_id, snapshot.name):
            return snapshot
    raise EhpcError(f"no snapshot {ref!r} on {provider.name}")


def create_disks(
    provider: Provider,
    name: str,
    size_gb: int | None,
    *,
    number: int = 1,
    cluster: str = "",
    zone: str = "",
    disk_type: str = "",
    snapshot: str = "",
    source_url: str = "",
    journal: Journal | None = None,
) -> list[Disk]:
    """Empty disks, or copies of a snapshot or of a disk image at a URL (Azure VHD blobs).

    With a cluster and its `journal`, a rerun of the same create (cut short, or done) takes the
    disks it made for the cluster instead of refusing their names."""
    if not size_gb and not snapshot and not source_url:
        raise ConfigError("a new disk needs a size (--size 10G, [DISK] DISK SIZE), --snapshot or --url")
    names = disk_names(name, number)
    taken = {d.name: d for d in provider.disks()}
    for each in names:
        if each in taken and not _made_here(journal, cluster, taken[each], size_gb):
            disk_id = taken[each].disk_id
            known = f" ({disk_id})" if disk_id != each else ""
            raise EhpcError(f"a disk named {each!r} already exists on {provider.name}{known}: "
                            "pick another name")
    disks = []
    for each in names:
        if each not in taken:
            if journal is not None and cluster:
                journal.event(cluster, "disk", f"{each} creating")
            taken[each] = provider.create_disk(each, size_gb, cluster=cluster, zone=zone,
                                               disk_type=disk_type, snapshot=snapshot,
                                               source_url=source_url)
        disks.append(taken[each])
    return disks


def _made_here(journal: Journal | None, cluster: str, disk: Disk, size_gb: int | None) -> bool:
    """`disk` is one a `disk create` for `cluster` made (the journal heard it start; the disk
    carries the cluster's tag), of the size asked again."""
    return (journal is not None and bool(cluster) and disk.cluster == cluster
            and (not size_gb or disk.size_gb == size_gb)
            and f"{disk.name} creating" in journal.messages(cluster, "disk"))


def snapshot_disk(provider: Provider, ref: str, name: str) -> Snapshot:
    return provider.snapshot_disk(find_disk(provider, ref).disk_id, name)


def node_machine(context: ClusterContext, node: str | int = 0) -> Machine:
    """A node by name (`node2`, `demo-node2`, `head`) or by the guide's index (0 = head)."""
    wanted = str(node)
    if wanted.isdigit():
        wanted = "head" if wanted == "0" else f"node{wanted}"
    machines = context.fleet.machines()
    for machine in machines:
        if machine.name in (wanted, f"{context.name}-{wanted}"):
            return machine
    names = ", ".join(m.name for m in machines) or "none"
    raise EhpcError(f"cluster {context.name} has no node {node!r} (nodes: {names})")


def run_step(context: ClusterContext, node: str, script: str) -> str:
    """Run a bootstrap step on a node; its `ehpc-error:` line becomes the one-line error."""
    try:
        return context.shell.run(node, ["bash", "-s"], input=script).stdout
    except RemoteCommandError as err:
        for line in (str(err) + "\n" + err.output).splitlines():
            if "ehpc-error: " in line:
                raise EhpcError(line.split("ehpc-error: ", 1)[1]) from None
        raise


def attach_disk(
    context: ClusterContext,
    ref: str,
    node: str | int = 0,
    *,
    mount_point: str = "",
    format_disk: bool = True,
    filesystem: str = "ext4",
    force: bool = False,
    device: str = "",
) -> AttachedDisk:
    """Attach to one node, then format (if asked) and mount there. A refused format detaches
    the disk again, so a refusal leaves things as they were."""
    provider = context.provider
    disk = find_disk(provider, ref)
    machine = node_machine(context, node)
    mount_point = mount_point or f"/mnt/{disk.name}"
    if disk.attached_to and not _rerun(context, disk.name, machine.name, mount_point):
        raise EhpcError(f"disk {disk.name} is already attached to {disk.attached_to}")
    if disk.attached_to:  # this very attach again (cut short, or done): it made the file system
        force = True
    else:
        context.journal.event(context.name, "disk", f"{disk.name} attaching to {machine.name}")
        disk = provider.attach_disk(disk.disk_id, machine, device)
    script = disk_mount_script(disk.disk_id, [disk.device, *disk.device_aliases], mount_point,
                               format_disk=format_disk,
                               filesystem=filesystem, force=force)
    try:
        output = run_step(context, machine.name, script)
    except EhpcError:
        provider.detach_disk(disk.disk_id)
        raise
    context.journal.event(context.name, "disk", f"{disk.name} mounted at {mount_point} on "
                          f"{machine.name}")
    return AttachedDisk(disk, machine.name, DiskMount.parse(output))


def refuse_cluster_dir(spec: ClusterSpec, mount_point: str) -> None:
    """A disk mounted at, over or inside a directory the cluster's nodes share (its shared
    directory, the homes, GlusterFS's and NFS's mount points) would hide it on that node."""
    settings = spec.settings
    shared = {settings.get("GLUSTERFS", "MOUNT_POINT"): "GlusterFS's mount point",
              settings.get("NFS", "MOUNTING_POINT"): "NFS's mount point",  # (/home: as below)
              spec.shared_dir: "the cluster's shared directory", "/home": "the users' homes",
              f"{spec.shared_dir}/home": "the users' homes"}
    for path, what in shared.items():
        if mount_point == path or path.startswith(mount_point + "/") or mount_point.startswith(path + "/"):
            raise ConfigError(f"--mount-point {mount_point}: {path} is {what}, which a disk mounted "
                              f"there would hide on its node (pick another, such as /mnt/data)")


def _rerun(context: ClusterContext, disk: str, machine: str, mount_point: str) -> bool:
    """The last the journal heard of `disk` is this attach: started and never reported (the
    command was killed), or finished: a rerun completes it (or just reports it)."""
    said = [m for m in context.journal.messages(context.name, "disk") if m.startswith(f"{disk} ")]
    return bool(said) and said[-1] in (f"{disk} attaching to {machine}",
                                       f"{disk} mounted at {mount_point} on {machine}")


def cluster_of_machine(journal: Journal, machine: str) -> str:
    for row in journal.clusters():
        if any(machine in (n.name, n.provider_id) for n in journal.nodes(row.name)):
            return row.name
    return ""


def detach_disk(provider: Provider, ref: str, *, force: bool = False,
                journal: Journal | None = None, settings: Settings | None = None) -> Disk:
    """Unmount on the node (fstab entry removed too), then detach. Without a known cluster
    for the machine the unmount cannot happen: only with --force."""
    disk = find_disk(provider, ref)
    if not disk.attached_to:
        raise EhpcError(f"disk {disk.name} is not attached")
    journal = journal or Journal()
    cluster = cluster_of_machine(journal, disk.attached_to)
    if not cluster:
        if not force:
            raise EhpcError(f"disk {disk.name} is attached to {disk.attached_to}, which no known "
                            "cluster has: it cannot be unmounted first (use --force to detach)")
        return provider.detach_disk(disk.disk_id)
    context = open_cluster(cluster, journal, settings)
    with journal.cluster_lock(cluster, "losing a disk"):
        try:
            run_step(context, disk.attached_to,
                     disk_unmount_script(disk.disk_id, disk.device, force=force))
        except EhpcError:
            if not force:
                raise
        context.journal.event(cluster, "disk", f"{disk.name} detached from {disk.attached_to}")
        return provider.detach_disk(disk.disk_id)


def delete_disk(provider: Provider, ref: str, *, force: bool = False,
                journal: Journal | None = None, settings: Settings | None = None) -> Disk:
    """Delete; an attached disk is refused unless forced (then it is detached first)."""
    disk = find_disk(provider, ref)
    if disk.attached_to:
        if not force:
            raise EhpcError(f"disk {disk.name} is attached to {disk.attached_to}: detach it "
                            "first, or delete with --force")
        detach_disk(provider, ref, force=True, journal=journal, settings=settings)
    provider.delete_disk(disk.disk_id)
    return disk


def delete_snapshot(provider: Provider, ref: str) -> Snapshot:
    snapshot = find_snapshot(provider, ref)
    provider.delete_snapshot(snapshot.snapshot_id)
    return snapshot
