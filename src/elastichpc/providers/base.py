"""What every provider offers: machines, disks and tags. Nothing about SSH or schedulers.

A provider turns `NodePlan`s into running machines that execute the plan's boot script (cloud
user-data, or the local provider's equivalent), finds them again from the cloud by the tag
`ehpc-cluster=<name>`, and removes everything so tagged. Disks and snapshots are optional
capabilities; a provider that lacks one says so in one line.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..bootstrap.layout import CLUSTER_UID
from ..config import CAPABILITIES, Capabilities, ClusterSpec, Settings
from ..errors import EhpcError
from .preview import MachineGroup, Preview

TAG = "ehpc-cluster"  # key of the tag/label every resource carries; its value is the cluster name

Report = Callable[[str], None]  # progress lines, e.g. "3/16 machines running"


def no_report(_: str) -> None:
    pass


@dataclass
class NodePlan:
    name: str  # host name, e.g. "demo-head", "demo-node3"
    role: str  # "head" or "compute"
    instance_type: str | None
    boot_script: str  # run as root on first boot (user-data / custom data / startup-script)
    spot: bool = False
    ssh_public_key: str = ""  # the cluster's login key, for clouds that install it themselves
    pool: str = ""  # the place it goes ("gce", "local/b"); the head's is the head's place
    # Reachable from outside: the head, and a compute node away from the head's place, which
    # the CLI reaches over SSH only at its own address until it is on the overlay (only Azure
    # gives a compute node no public address otherwise).
    public: bool = False


@dataclass
class Machine:
    name: str
    role: str
    provider_id: str  # instance id, VM name, network namespace...
    address: str  # how this machine reaches it ("" when only through the head)
    private_address: str  # the address other nodes use
    state: str  # pending | running | stopped | terminated | preempted
    login_user: str  # user the cluster key logs in as (sudo when not root)
    spot: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by the fleet: which provider, pool ("" for the head) and region/zone/site it is in.
    provider: str = ""
    pool: str = ""
    region: str = ""


@dataclass
class Disk:
    disk_id: str
    name: str
    size_gb: int
    zone: str = ""
    state: str = "available"  # available | in-use | creating | deleting
    attached_to: str = ""  # machine name
    device: str = ""  # device path on that machine
    # Other paths the same device may appear under on the machine (first to appear wins).
    device_aliases: list[str] = field(default_factory=list)
    cluster: str = ""  # tag value, "" when not made with a cluster
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Snapshot:
    snapshot_id: str
    name: str
    disk_id: str
    size_gb: int
    state: str = "completed"


@dataclass
class SpotPrice:
    zone: str
    instance_type: str
    price: float  # per hour
    at: float  # unix time


@dataclass
class SpotRequest:
    request_id: str
    state: str  # open | active | closed | cancelled | failed
    status: str  # the cloud's status code, e.g. pending-fulfillment, fulfilled, price-too-low
    price: float | None
    instance_id: str = ""  # set once fulfilled
    cluster: str = ""
    created: float = 0.0


class Provider(ABC):
    """One cloud (or the local host). Subclasses live in providers/<name>/ and are loaded lazily."""

    name: ClassVar[str]

    @property
    def capabilities(self) -> Capabilities:
        """What this provider can do (declared in config/capabilities.py, the one place)."""
        return CAPABILITIES[self.name]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def login_user(self) -> str:
        """The user the cluster's key logs in as on this provider's images."""
        return "root"

    def cluster_uid(self, cluster: str) -> int:
        """The cluster user's uid and gid. One per cluster where clusters share a machine."""
        return CLUSTER_UID

    @abstractmethod
    def check_ready(self, spec: ClusterSpec | None = None) -> None:
        """Raise PrerequisiteError (one line) for missing credentials, packages or privileges."""

    def preview(self, spec: ClusterSpec, groups: list[MachineGroup]) -> Preview:
        """What `launch` would make here, with prices and checks, from read-only calls only:
        sets each group's `hourly` where the provider's API tells prices."""
        self.price(spec, groups)
        return Preview()

    def price(self, spec: ClusterSpec, groups: list[MachineGroup]) -> None:
        """Set each group's `hourly` (USD per machine-hour, its type and market here) and
        `price_source` from the provider's price API; a price it cannot tell stays None, with
        the reason as its source. Read-only (the dry run and `cluster cost` both use it)."""
        for group in groups:
            group.price_source = f"{self.name}: no price API"

    @abstractmethod
    def launch(self, spec: ClusterSpec, plans: list[NodePlan], report: Report) -> list[Machine]:
        """Create what is missing of `plans` (idempotent: a rerun never doubles) and return all
        machines of the plans once they run. Networks and firewall rules come with it."""

    @abstractmethod
    def machines(self, cluster: str) -> list[Machine]:
        """The cluster's machines as the cloud sees them (found by tag, not from local state)."""

    @abstractmethod
    def terminate(self, cluster: str, report: Report) -> list[str]:
        """Remove every resource tagged with the cluster; return what was removed. Idempotent."""

    def terminate_nodes(self, cluster: str, names: list[str], report: Report = no_report) -> list[str]:
        """Remove these compute nodes of the cluster (resize, repair); return what was removed."""
        raise self._unsupported("removing single nodes")

    def agent_access(self, cluster: str) -> dict[str, str]:
        """Secrets the cluster's head agent needs to call this provider beyond the cluster's own
        settings (the local provider: its control endpoint and token). Never logged or stored
        outside the head's root-only credentials file."""
        return {}

    def agent_environment(self) -> dict[str, str]:
        """The environment under which the head agent's copy of this provider's SDK calls the
        cloud as this client does: the credentials its chain resolved here, the region, any
        endpoint override. Secret as agent_access."""
        return {}

    def agent_files(self) -> dict[tuple[str, str], bytes]:
        """The client's files the head agent needs, by the (section, key) setting naming them
        (a sign-in certificate, a CA bundle): the head keeps a root-only copy and the setting
        names that copy there. Secret as agent_access."""
        return {}

    def agent_keeps(self, path: str) -> bool:
        """Whether the head agent needs this file of a library (path under site-packages): a
        provider leaves out what its SDK carries for services it never calls."""
        return True

    def allow_overlay(self, cluster: str, port: int, sources: list[str]) -> None:
        """Open the overlay's UDP `port` on the cluster's head to `sources` (the public addresses
        of its other nodes) and to nothing else. Only providers that can host the hub."""
        raise self._unsupported("hosting the overlay's hub (the head of a cluster across places)")

    def console_output(self, machine: Machine) -> str:
        """What the machine printed on its serial console so far ("" while nothing yet)."""
        raise self._unsupported("reading a machine's console")

    # Disks: optional. Default: one clear line.
    def _unsupported(self, what: str) -> EhpcError:
        return EhpcError(f"the {self.name} provider does not support {what}")

    def create_disk(
        self,
        name: str,
        size_gb: int | None,
        *,
        cluster: str = "",
        zone: str = "",
        disk_type: str = "",
        snapshot: str = "",
        source_url: str = "",
    ) -> Disk:
        raise self._unsupported("disks")

    def snapshot_disk(self, disk_id: str, name: str) -> Snapshot:
        raise self._unsupported("snapshots")

    def attach_disk(self, disk_id: str, machine: Machine, device: str = "") -> Disk:
        """Attach; the returned Disk's `device` is the block device path on the machine."""
        raise self._unsupported("attaching disks")

    def detach_disk(self, disk_id: str) -> Disk:
        raise self._unsupported("detaching disks")

    def disks(self, cluster: str = "") -> list[Disk]:
        raise self._unsupported("listing disks")

    def delete_disk(self, disk_id: str, force: bool = False) -> None:
        """Delete; an attached disk is refused unless `force`, which detaches it first."""
        raise self._unsupported("deleting disks")

    def snapshots(self, cluster: str = "") -> list[Snapshot]:
        raise self._unsupported("listing snapshots")

    def delete_snapshot(self, snapshot_id: str) -> None:
        raise self._unsupported("deleting snapshots")

    def fallback_share_dir(self, cluster: str, key: str) -> str:
        """A directory every node of the cluster sees as the same one, for nodes that cannot
        mount a network file system (the local provider: a host directory). "" = none."""
        return ""

    # Spot capacity: optional (the guide offers it on AWS only).
    def spot_prices(self, instance_type: str, zone: str = "") -> list[SpotPrice]:
        raise self._unsupported("spot instances")

    def request_spot(self, spec: ClusterSpec, plans: list[NodePlan], price: float) -> dict[str, str]:
        """Ask for one spot machine per plan at most `price`/hour: node name -> request id."""
        raise self._unsupported("spot instances")

    def spot_requests(self, cluster: str = "", ids: list[str] | None = None) -> list[SpotRequest]:
        raise self._unsupported("spot instances")

    def adopt_spot(self, cluster: str, names: dict[str, str]) -> None:
        """Mark machines of fulfilled requests (machine id -> node name) as compute nodes."""
        raise self._unsupported("spot instances")

    def cancel_spot(self, request_ids: list[str]) -> None:
        raise self._unsupported("spot instances")
