"""What the bootstrap needs to know about a cluster: its nodes' names, roles, addresses and size."""

from __future__ import annotations

from dataclasses import dataclass, field

CLUSTER_UID = 1500  # the cluster user's uid (and gid) on every node, so files on shared storage agree


@dataclass
class NodeFacts:
    name: str
    role: str  # head | compute
    address: str  # private address the other nodes use
    cpus: int
    memory_mb: int


@dataclass
class ClusterLayout:
    name: str
    scheduler: str
    shared_dir: str
    cluster_user: str
    nodes: list[NodeFacts]
    munge_key: bytes = field(repr=False)
    accounting: bool = False
    homes: str = "/home"  # where the cluster user's home is: a directory every node shares
    # Autoscaled compute nodes the scheduler knows before they exist (Slurm State=CLOUD), and
    # how long one stays idle before it is powered down.
    cloud: list[NodeFacts] = field(default_factory=list)
    suspend_after_s: int = 120
    cluster_uid: int = CLUSTER_UID  # the provider's choice (one per cluster on a shared machine)
    packages: list[str] = field(default_factory=list)  # [SOFTWARE] PACKAGES to install
    host_keys: dict[str, str] = field(default_factory=dict)  # node -> "ssh-ed25519 KEY", as pinned

    @property
    def head(self) -> NodeFacts:
        return next(n for n in self.nodes if n.role == "head")

    @property
    def computes(self) -> list[NodeFacts]:
        return [n for n in self.nodes if n.role == "compute"]

    def hosts_block(self) -> str:
        return "\n".join(f"{n.address} {n.name}" for n in self.nodes)

    def known_hosts(self) -> str:
        """ssh_known_hosts: each node's pinned host key under its name and address."""
        return "".join(f"{n.name},{n.address} {self.host_keys[n.name]}\n" for n in self.nodes
                       if n.name in self.host_keys)
