"""`ehpc cluster create --dry-run`: the plan of a create, its hourly cost where the clouds tell
prices, and read-only checks of what it needs (credentials, image, quotas, the name), so that
a plan that prints is a create that starts. Nothing is made: no journal row, no key, no
resource, no SSH, no lookup of this machine's address."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import ClusterSpec
from ..errors import EhpcError
from ..providers.preview import Check, MachineGroup
from ..state import Journal
from .fleet import Fleet
from .plan import instance_type
from .prechecks import precheck_results

RESUMABLE = ("creating", "failed", "provisioned")


@dataclass
class PlacePlan:
    place: str  # aws, gce/europe-west1-b, local/a
    provider: str
    region: str
    image: str
    groups: list[MachineGroup]

    @property
    def hourly(self) -> float | None:
        if any(g.hourly is None for g in self.groups):
            return None
        return sum(g.hourly * g.count for g in self.groups if g.hourly is not None)


@dataclass
class CreatePlan:
    name: str
    scheduler: str
    cluster_user: str
    shared_fs: str
    firewall: list[str]
    disks: list[str]
    places: list[PlacePlan]
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def hourly(self) -> float | None:
        """The whole cluster's price per hour; None when a place's prices are unknown."""
        prices = [p.hourly for p in self.places]
        return None if any(p is None for p in prices) else sum(p for p in prices if p is not None)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def preview_create(spec: ClusterSpec, journal: Journal | None = None) -> CreatePlan:
    journal = journal or Journal()
    fleet = Fleet(spec)
    plan = CreatePlan(
        name=spec.name, scheduler=spec.scheduler, cluster_user=spec.cluster_user,
        shared_fs=_shared_fs(spec), firewall=_firewall(spec), disks=_disks(spec), places=[],
    )
    plan.checks.append(_name_check(spec, journal))
    plan.checks += precheck_results(spec)
    for place in fleet.places:
        groups = []
        if place.name == spec.head.name:
            groups.append(MachineGroup("head", instance_type(spec, spec.head, "head"), 1))
        for pool in spec.pools:
            if pool.name == place.name and pool.count:
                groups.append(MachineGroup("compute", instance_type(spec, pool, "compute"),
                                           pool.count, pool.spot, pool.max_price))
        at = PlacePlan(place.name, place.provider, "", "", groups)
        plan.places.append(at)
        try:
            provider = fleet.provider(place.name)
            provider.check_ready(spec.at(place))
            found = provider.preview(spec.at(place), groups)
            existing = provider.machines(spec.name)
        except EhpcError as err:
            plan.checks.append(Check(f"{place.name}: ready", False, str(err)))
            continue
        at.region = found.region or fleet.region(place.name)
        at.image = found.image
        plan.checks += [Check(f"{place.name}: {c.what}", c.ok, c.detail) for c in found.checks]
        plan.notes += found.notes
        if existing and not _resumable(spec, journal):
            plan.checks.append(Check(
                f"{place.name}: name", False,
                f"{len(existing)} machines tagged ehpc-cluster={spec.name} already exist "
                f"(`ehpc cluster terminate {spec.name}` removes them)"))
    return plan


def _resumable(spec: ClusterSpec, journal: Journal) -> bool:
    row = journal.get_cluster(spec.name)
    return row is not None and row.status in RESUMABLE


def _name_check(spec: ClusterSpec, journal: Journal) -> Check:
    row = journal.get_cluster(spec.name)
    if row is None:
        return Check("name", True, f"no cluster is named {spec.name}")
    if row.status in RESUMABLE and row.provider == spec.provider:
        return Check("name", True, f"{spec.name} is {row.status}: the create finishes it")
    return Check("name", False, f"cluster {spec.name!r} already exists on {row.provider} "
                 f"({row.status}): pick another name or `ehpc cluster terminate {spec.name}`")


def _shared_fs(spec: ClusterSpec) -> str:
    settings = spec.settings
    if settings.get("CLUSTER", "GLUSTER"):
        return (f"{spec.shared_dir} on GlusterFS volume {settings.get('GLUSTERFS', 'VOLUME_NAME')}"
                " of the compute nodes")
    if settings.get("CLUSTER", "NFS") or settings.is_set("NFS", "AWS_VOLUME_SIZE"):
        return f"{spec.shared_dir} exported by the head over NFS"
    return f"{spec.shared_dir} (a directory of the head, shared with the nodes)"


def _firewall(spec: ClusterSpec) -> list[str]:
    clouds = [p for p in spec.providers if p != "local"]
    if not clouds:
        return ["none: the nodes sit on a private bridge of this machine"]
    source = spec.settings.get("FIREWALL", "FW_SOURCE") or (
        "this machine's public address range (looked up when the create runs)")
    rules = [f"tcp 22 (ssh) from {source}"]
    rules += [f"{r.protocol} {r.port} ({r.name}) from {source}" for r in spec.firewall]
    return [*rules, "all traffic between the cluster's own nodes"]


def _disks(spec: ClusterSpec) -> list[str]:
    settings, disks = spec.settings, []
    if settings.is_set("NFS", "AWS_VOLUME_SIZE"):
        mount = settings.get("NFS", "AWS_MOUNT_POINT") or spec.shared_dir
        disks.append(f"{settings.get('NFS', 'AWS_VOLUME_SIZE')} GiB volume on the head for NFS "
                     f"at {mount}")
    if settings.get("CLUSTER", "GLUSTER") and settings.get("GLUSTERFS", "FORMAT_DISK"):
        disks.append(f"a {settings.get('DISK', 'DISK SIZE')} GiB data disk per brick node (XFS)")
    return disks
