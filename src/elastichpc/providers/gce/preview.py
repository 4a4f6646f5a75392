"""The GCE half of a dry run, in read-only calls: the project and zone (which proves the
credentials), each machine type, and the region's CPUS quota. Compute Engine's API tells no
prices (they are in the separate Cloud Billing Catalog API, which is not used), so GCE pools
show no price."""

from __future__ import annotations

from typing import Any

from google.cloud import compute_v1

from ...config import ClusterSpec
from ...errors import EhpcError
from ..preview import MachineGroup, Preview
from .api import ComputeApi

NO_PRICE = "gce: no price API in Compute Engine (Cloud Billing Catalog not used)"


def preview(api: ComputeApi, spec: ClusterSpec, groups: list[MachineGroup], zone: str,
            image: str) -> Preview:
    region = zone.rsplit("-", 1)[0]
    found = Preview(region=zone, image=image)
    found.notes.append(f"gce: the image {image} is checked when the create runs")
    try:
        got = api.call(f"read zone {zone}", api._client(compute_v1.ZonesClient).get,
                       project=api.project, zone=zone)
        found.check("project and zone", True, f"project {api.project}, zone {zone} ({got.status})")
    except EhpcError as err:
        found.check("project and zone", False, str(err))
        return found  # the rest would only repeat the same refusal
    cpus: dict[str, int] = {}
    types = api._client(compute_v1.MachineTypesClient)
    for name in sorted({g.instance_type for g in groups if g.instance_type}):
        try:
            machine: Any = api.call(f"read machine type {name}", types.get, project=api.project,
                                    zone=zone, machine_type=name)
            cpus[name] = int(machine.guest_cpus)
            found.check(f"machine type {name}", True,
                        f"{machine.guest_cpus} vCPUs, {machine.memory_mb} MB")
        except EhpcError as err:
            found.check(f"machine type {name}", False, str(err))
    need = sum(g.count * cpus.get(g.instance_type or "", 0) for g in groups)
    try:
        got_region = api.call(f"read region {region}", api._client(compute_v1.RegionsClient).get,
                              project=api.project, region=region)
        quota = next((q for q in got_region.quotas if q.metric == "CPUS"), None)
        if quota is None:
            found.notes.append(f"gce: region {region} reports no CPUS quota")
        else:
            free = quota.limit - quota.usage
            found.check("CPUS quota", need <= free,
                        f"{need} needed, {free:g} free of {quota.limit:g} in {region}")
    except EhpcError as err:
        found.notes.append(f"gce: the CPUS quota was not checked: {err}")
    for group in groups:
        group.price_source = NO_PRICE
    return found
