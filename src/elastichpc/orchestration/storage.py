"""Shared file systems on a cluster (guide 4.d, 4.e): GlusterFS over the compute nodes, NFS
from the head. Same bootstrap steps on every provider; run at create time (`--gluster`,
`--nfs`: then the cluster's shared directory lives on it; on a cloud the shared directory is on
NFS from the head unless GlusterFS is chosen) or on a running cluster (`ehpc fs`).

GlusterFS 6 and later have no striped volumes: STRIPE=n asks for a distributed volume of at
least n brick sets (files are spread whole over the sets, not cut into stripes), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bootstrap.storage import GlusterVolume, NfsExport
from ..config import CAPABILITIES, ClusterSpec, Settings, check_name
from ..errors import ConfigError, EhpcError
from ..providers import Machine
from ..remote import in_parallel
from ..system_packages import require_packages
from .context import ClusterContext
from .disks import attach_disk, create_disks, find_disk, run_step
from .progress import Progress

GLUSTER_COMMANDS = {"glusterd": "glusterfs-server", "mount.glusterfs": "glusterfs-client"}
NFS_COMMANDS = {"ganesha.nfsd": "nfs-ganesha", "rpcbind": "rpcbind", "nfs-cp": "libnfs-utils"}


@dataclass
class StorageResult:
    kind: str  # "glusterfs" | "nfs"
    mount_point: str
    nodes: list[str]
    detail: str  # volume type, or which NFS server runs
    notes: list[str] = field(default_factory=list)


def check_shared_choice(spec: ClusterSpec) -> None:
    """Create-time check, before any machine exists."""
    settings = spec.settings
    if settings.get("CLUSTER", "GLUSTER") and settings.get("CLUSTER", "NFS"):
        raise ConfigError("choose one shared file system: --gluster or --nfs, not both")
    if settings.get("CLUSTER", "GLUSTER"):
        _bricks_needed(settings, spec.size)


def _bricks_needed(settings: Settings, computes: int) -> int:
    """The compute nodes a volume of [GLUSTERFS] REPLICATE x STRIPE needs (at most `computes`)."""
    replicate = settings.get("GLUSTERFS", "REPLICATE")
    stripe = settings.get("GLUSTERFS", "STRIPE")
    if replicate < 1 or stripe < 1:
        raise ConfigError("[GLUSTERFS] REPLICATE and STRIPE must be at least 1")
    needed = int(replicate * stripe)
    if computes < needed:
        raise ConfigError(
            f"[GLUSTERFS] REPLICATE={replicate} STRIPE={stripe} needs {needed} compute nodes "
            f"for bricks; the cluster has {computes}"
        )
    return needed


def _machines(context: ClusterContext) -> list[Machine]:
    context.shell  # noqa: B018  (reads the journal here: SQLite stays in this thread)
    machines = [m for m in context.machines() if m.state == "running"]
    if not any(m.role == "head" for m in machines):
        raise EhpcError(f"cluster {context.name} has no running head node")
    return machines


def _needs_host_packages(context: ClusterContext, commands: dict[str, str], what: str) -> None:
    if context.provider.capabilities.shares_host_software:  # nodes run this host's /usr
        require_packages(commands, what)


def _notes(output: str, prefix: str = "ehpc-note ") -> list[str]:
    return [line[len(prefix):] for line in output.splitlines() if line.startswith(prefix)]


# ---- GlusterFS -------------------------------------------------------------------------------
def gluster_volume(settings: Settings, machines: list[Machine]) -> tuple[GlusterVolume, list[str]]:
    """The volume's servers (compute nodes) and layout from [GLUSTERFS]; notes for the user."""
    computes = [m for m in machines if m.role == "compute"]
    name = settings.get("GLUSTERFS", "VOLUME_NAME")
    check_name(name, "[GLUSTERFS] VOLUME_NAME")
    replicate = settings.get("GLUSTERFS", "REPLICATE")
    stripe = settings.get("GLUSTERFS", "STRIPE")
    _bricks_needed(settings, len(computes))
    usable = len(computes) - len(computes) % replicate
    servers, notes = computes[:usable], []
    if stripe > 1:
        notes.append(f"GlusterFS 6+ has no striping: STRIPE={stripe} gives a distributed volume "
                     f"over {usable // replicate} brick sets (whole files spread over them)")
    if usable < len(computes):
        idle = ", ".join(m.name for m in computes[usable:])
        notes.append(f"REPLICATE={replicate} takes bricks in sets of {replicate}: {idle} "
                     "holds no brick (it still mounts the volume)")
    volume = GlusterVolume(
        name=name,
        servers=[m.private_address for m in servers],
        layout=["replica", str(replicate)] if replicate > 1 else [],
        brick_dir=settings.get("GLUSTERFS", "BRICK_DIR"),
        mount_point=settings.get("GLUSTERFS", "MOUNT_POINT").rstrip("/") or "/",
        hosts="\n".join(f"{m.private_address} {m.name}" for m in machines),
    )
    return volume, notes


def _brick_disks(context: ClusterContext, settings: Settings, servers: list[Machine],
                 brick_dir: str) -> None:
    """[GLUSTERFS] FORMAT_DISK: a new XFS data disk per server, mounted where its brick goes."""
    size = settings.require("DISK", "DISK SIZE")
    provider = context.provider

    for machine in servers:
        name = f"{machine.name}-brick"
        try:
            disk = find_disk(provider, name)
        except EhpcError:
            disk = create_disks(provider, name, size, cluster=context.name)[0]
        if not disk.attached_to:
            attach_disk(context, disk.disk_id, machine.name, mount_point=brick_dir,
                        format_disk=True, filesystem="xfs")


def setup_gluster(
    context: ClusterContext, settings: Settings, progress: Progress, shared_dir: str = ""
) -> StorageResult:
    """Servers (glusterd + brick) on the compute nodes, the volume, the FUSE mount on every
    node. With `shared_dir`, that directory becomes the volume on every node."""
    _needs_host_packages(context, GLUSTER_COMMANDS, "GlusterFS")
    machines = _machines(context)
    volume, notes = gluster_volume(settings, machines)
    servers = [m for m in machines if m.private_address in volume.servers]
    for note in notes:
        progress.note(note)
    if settings.get("GLUSTERFS", "FORMAT_DISK"):
        progress.detail("an XFS data disk per brick node")
        _brick_disks(context, settings, servers, volume.brick_dir)
    progress.detail(f"glusterd on {len(servers)} nodes")
    in_parallel(lambda m: run_step(context, m.name, volume.server_script()), servers)
    progress.detail(f"volume {volume.name}")
    output = run_step(context, servers[0].name, volume.volume_script())
    kind = next((line.split(" ", 1)[1] for line in output.splitlines()
                 if line.startswith("ehpc-gluster-type ")), "?")
    progress.detail(f"mounting {volume.name} on {len(machines)} nodes")
    in_parallel(lambda m: run_step(context, m.name, volume.client_script(shared_dir)), machines)
    context.journal.event(context.name, "storage",
                          f"GlusterFS {volume.name} ({kind}) at {volume.mount_point}")
    return StorageResult("glusterfs", volume.mount_point, [m.name for m in machines],
                         f"volume {volume.name}: {kind}, bricks {' '.join(volume.bricks)}", notes)


# ---- NFS -------------------------------------------------------------------------------------
def _nfs_volume(context: ClusterContext, settings: Settings, head: Machine) -> str:
    """The guide's AWS variant: a new EBS volume (AWS_VOLUME_SIZE) or an existing one
    (AWS_VOLUME_NAME) attached to the head and mounted at AWS_MOUNT_POINT; "" when unset or
    not on AWS (the guide marks these keys AWS ONLY: elsewhere DEVICE is exported)."""
    size = settings.get("NFS", "AWS_VOLUME_SIZE")
    name = settings.get("NFS", "AWS_VOLUME_NAME")
    if not context.provider.capabilities.ebs_nfs or (not size and not name):
        return ""
    mount_point = settings.get("NFS", "AWS_MOUNT_POINT") or settings.get("NFS", "MOUNTING_POINT")
    provider = context.provider
    name = name or f"{context.name}-nfs"
    try:
        disk = find_disk(provider, name)
        is_new = False
    except EhpcError:
        if not size:
            raise
        disk, is_new = create_disks(provider, name, size, cluster=context.name)[0], True
    if disk.attached_to != head.name:
        attach_disk(context, disk.disk_id, head.name, mount_point=mount_point,
                    format_disk=is_new, filesystem="ext4",
                    device=settings.get("NFS", "AWS_VOLUME_DEVICE") or "")
    return mount_point


def setup_nfs(
    context: ClusterContext, settings: Settings, progress: Progress, shared_dir: str = "",
    fsid: int | None = None,
) -> StorageResult:
    """The head exports [NFS] DEVICE (or `shared_dir`, or the AWS-style volume) with FSID (or
    `fsid`); the compute nodes mount it at MOUNTING_POINT (the same path for `shared_dir` and
    the volume)."""
    _needs_host_packages(context, NFS_COMMANDS, "NFS")
    machines = _machines(context)
    head = next(m for m in machines if m.role == "head")
    computes = [m for m in machines if m.role == "compute"]
    fsid = settings.get("NFS", "FSID") if fsid is None else fsid
    export = shared_dir or _nfs_volume(context, settings, head)
    mount_point = export or settings.get("NFS", "MOUNTING_POINT")
    export = export or settings.get("NFS", "DEVICE")
    key = "shared" if shared_dir else f"nfs-{fsid}"
    plan = NfsExport(
        server=head.private_address, export=export.rstrip("/") or "/",
        mount_point=mount_point.rstrip("/") or "/", fsid=fsid,
        clients=[m.private_address for m in computes],
        host_dir=context.provider.fallback_share_dir(context.name, key),
    )
    progress.detail(f"{head.name} exports {plan.export}")
    output = run_step(context, head.name, plan.server_script())
    server = _notes(output, "ehpc-nfs-server ")
    progress.detail(f"{len(computes)} compute nodes mount it")
    outputs = in_parallel(lambda m: run_step(context, m.name, plan.client_script()), computes)
    notes = [note for out in outputs for note in _notes(out)]
    for note in notes:
        progress.note(note)
    context.journal.event(context.name, "storage",
                          f"NFS {head.name}:{plan.export} at {plan.mount_point} (fsid {fsid})")
    return StorageResult("nfs", plan.mount_point, [m.name for m in computes],
                         f"{head.name}:{plan.export} fsid {fsid}, server "
                         f"{server[0] if server else '?'}", notes)


def _aws_volume(spec: ClusterSpec) -> bool:
    keys = ("AWS_VOLUME_SIZE", "AWS_VOLUME_NAME")
    return CAPABILITIES[spec.provider].ebs_nfs and any(spec.settings.get("NFS", key) for key in keys)


def _shared_on_nfs(spec: ClusterSpec) -> bool:
    """--nfs, or by default where a provider gives the nodes no shared directory itself (every
    cloud): job files, `job logs`, `--wait` output and `--input-files` must meet the job."""
    return bool(spec.settings.get("CLUSTER", "NFS")) or not _all_local(spec)


def _all_local(spec: ClusterSpec) -> bool:
    """Every node on a provider that shares this machine's work directory (the local one)."""
    return all(CAPABILITIES[place.provider].shares_work_dir for place in [spec.head, *spec.pools])


def create_time_storage(spec: ClusterSpec) -> str:
    """What storage step a create runs before the scheduler ("" for none): the shared directory
    on GlusterFS or NFS from the head, and the guide's AWS NFS on an EBS volume (4.e:
    --nfs-newVolume)."""
    if spec.settings.get("CLUSTER", "GLUSTER"):
        return f"shared directory {spec.shared_dir} on GlusterFS"
    steps = ["NFS from the head on an EBS volume"] if _aws_volume(spec) else []
    if spec.overlay:  # nodes in other places share nothing else: NFS from the head, tunnelled
        steps.insert(0, f"shared directory {spec.shared_dir} on NFS from the head, over the overlay")
    elif _shared_on_nfs(spec):
        steps.insert(0, f"shared directory {spec.shared_dir} on NFS from the head")
    return ", ".join(steps)


def setup_shared_dir(context: ClusterContext, progress: Progress) -> StorageResult | None:
    """Create time: the steps `create_time_storage` names. With both NFS exports, the shared
    directory takes FSID + 1."""
    spec = context.spec
    if spec.settings.get("CLUSTER", "GLUSTER"):
        return setup_gluster(context, spec.settings, progress, shared_dir=spec.shared_dir)
    result = setup_nfs(context, spec.settings, progress) if _aws_volume(spec) else None
    # An overlay's nodes in other places share nothing else; local nodes whose kernel cannot
    # mount NFS bind-mount the host's directory instead (nfs.sh), cloud nodes cannot.
    must = spec.settings.get("CLUSTER", "NFS") or (spec.overlay and _all_local(spec))
    if must or ((_shared_on_nfs(spec) or spec.overlay) and _kernels_mount_nfs(context, progress)):
        fsid = spec.settings.get("NFS", "FSID") + (1 if result else 0)
        result = setup_nfs(context, spec.settings, progress, shared_dir=spec.shared_dir, fsid=fsid)
    return result


def _kernels_mount_nfs(context: ClusterContext, progress: Progress) -> bool:
    """Whether every compute node's kernel can mount NFS (a cloud image's can). The default
    shared directory is skipped, with a note, where one cannot (a kernel built without NFS, as
    this project's test machine has): `--nfs` then fails in one line, `--gluster` works."""
    computes = [m for m in _machines(context) if m.role == "compute"]
    probe = ["sh", "-c", "grep -qw nfs /proc/filesystems || modprobe -q nfs 2>/dev/null"]
    answers = in_parallel(lambda m: context.shell.run(m.name, probe, check=False).returncode, computes)
    unable = [m.name for m, code in zip(computes, answers, strict=True) if code != 0]
    if unable:
        progress.note(f"no shared work directory: the kernel of {', '.join(unable[:3])} cannot mount "
                      "NFS (job output stays on the compute node; --gluster gives one over FUSE)")
        context.journal.event(context.name, "storage", "no shared directory: no NFS in the kernel")
    return not unable
