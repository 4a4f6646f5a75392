"""Node names and launch plans: what create, spot requests and resizing all make nodes from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..bootstrap import boot_script
from ..config import ClusterSpec, Placement
from ..providers import NodePlan
from ..remote import ClusterKeys

if TYPE_CHECKING:
    from .fleet import Fleet


def node_names(spec: ClusterSpec) -> list[tuple[str, str, str]]:
    """(name, role, place) of every node: `<cluster>-head`, then `<cluster>-node1..N` numbered
    across the pools in their order."""
    names = [(f"{spec.name}-head", "head", spec.head.name)]
    for pool in spec.pools:
        start = len(names)
        names += [(f"{spec.name}-node{i}", "compute", pool.name) for i in range(start, start + pool.count)]
    return names


def cloud_nodes(spec: ClusterSpec) -> dict[str, str]:
    """Autoscaled node name -> pool: the nodes above each pool's count up to its maximum,
    numbered after every node a create makes. They exist only while powered up."""
    names: dict[str, str] = {}
    number = spec.size
    for pool in spec.pools:
        for _ in range(max(0, (pool.max_nodes or 0) - pool.count)):
            number += 1
            names[f"{spec.name}-node{number}"] = pool.name
    return names


def planned_pools(spec: ClusterSpec) -> dict[str, str]:
    """Compute node name -> pool, as a create plans them (and the autoscaled ones)."""
    return {**{name: place for name, role, place in node_names(spec) if role == "compute"},
            **cloud_nodes(spec)}


def instance_type(spec: ClusterSpec, place: Placement, role: str) -> str | None:
    if place.instance_type or place.provider == "local":
        return place.instance_type
    key = "MASTER TYPE" if role == "head" else "INSTANCE TYPE"
    return str(spec.settings.get(place.provider.upper(), key))


def plan_node(spec: ClusterSpec, fleet: Fleet, keys: ClusterKeys, name: str, role: str,
              place: str) -> NodePlan:
    provider = fleet.provider(place)
    _, login_pub = keys.login_key()
    # Compute nodes of a provider that launches many from one call share one script, naming none.
    shared = role == "compute" and provider.capabilities.shared_compute_boot
    host_key = keys.host_key(name) if provider.capabilities.private_boot else None
    placement = fleet.place(place)
    spot = role == "compute" and spec.pool(place).spot
    return NodePlan(
        name=name,
        role=role,
        instance_type=instance_type(spec, placement, role),
        boot_script=boot_script("" if shared else name, provider.login_user, login_pub, host_key),
        spot=spot,
        ssh_public_key=login_pub,
        pool=place,
        public=role == "head" or place != spec.head.name,
    )


def plan_nodes(spec: ClusterSpec, fleet: Fleet, keys: ClusterKeys) -> list[NodePlan]:
    return [plan_node(spec, fleet, keys, name, role, place) for name, role, place in node_names(spec)]
