"""The GCE half of a dry run, in read-only calls: the project and zone (which proves the
credentials), each machine type, the region's CPUS quota, and prices from the Cloud Billing
Catalog API (`prices.py`: vCPUs and memory of the type times its family's core and RAM SKUs in
the region, on-demand or Spot; Compute Engine's own API tells none). Shared-core types and
families the catalog does not list show no price, with the reason."""

from __future__ import annotations

from google.cloud import compute_v1

from ...config import ClusterSpec
from ...errors import EhpcError
from ..preview import MachineGroup, Preview
from .api import ComputeApi
from .prices import Catalog, Shape, price, read_shapes


def preview(api: ComputeApi, spec: ClusterSpec, groups: list[MachineGroup], zone: str,
            image: str, catalog: Catalog) -> Preview:
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
    shapes = read_shapes(api, zone, {g.instance_type for g in groups if g.instance_type})
    for name, shape in shapes.items():
        if isinstance(shape, Shape):
            found.check(f"machine type {name}", True, f"{shape.cpus} vCPUs, {shape.memory_mb} MB")
        else:
            found.check(f"machine type {name}", False, str(shape))
    cpus = {name: shape.cpus for name, shape in shapes.items() if isinstance(shape, Shape)}
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
    price(api, catalog, groups, zone, shapes)
    return found
