"""Every Compute Engine route the emulator serves, named as in the discovery document.

Each route is (discovery method id, HTTP method, path template as written in compute.v1.json,
handler). tests/gce/test_gce_emulator_contract.py holds this table to the official document.
Also here: firewalls.* and the zone/global operation methods.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import instances, storage
from .resources import BASE, ZONES, ApiError, ComputeState, invalid, not_found, now_rfc3339

Params = dict[str, str]
Body = dict[str, Any]
Handler = Callable[[ComputeState, Params, Params, Body], Body]
WAIT_LIMIT = 120.0  # operations.wait returns after at most this long, DONE or not


def insert_firewall(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if replayed := state.replay(q):
        return replayed
    project = p["project"]
    name = state.check_name(body.get("name"))
    if (project, name) in state.firewalls:
        raise ApiError(409, "alreadyExists",
                       f"The resource 'projects/{project}/global/firewalls/{name}' already exists")
    allowed = body.get("allowed") or []
    for rule in allowed:
        if rule.get("IPProtocol") not in ("tcp", "udp", "icmp", "all"):
            raise invalid("resource.allowed[].IPProtocol", rule.get("IPProtocol"), "Unknown protocol.")
    if not (body.get("sourceRanges") or body.get("sourceTags")):
        raise invalid("resource.sourceRanges", "", "An ingress rule needs sourceRanges or sourceTags.")
    firewall = {
        "kind": "compute#firewall", "id": state.new_id(), "creationTimestamp": now_rfc3339(),
        "name": name, "description": body.get("description", ""),
        "network": state.network_url(project, body.get("network", "")),
        "priority": body.get("priority", 1000),
        "direction": body.get("direction", "INGRESS"), "allowed": allowed,
        "sourceRanges": body.get("sourceRanges", []), "sourceTags": body.get("sourceTags", []),
        "targetTags": body.get("targetTags", []), "disabled": False, "logConfig": {"enable": False},
        "selfLink": f"{BASE}projects/{project}/global/firewalls/{name}",
    }
    state.firewalls[(project, name)] = firewall
    return state.operation(project, None, "insert", firewall["selfLink"], firewall["id"],
                           request_id=q.get("requestId", ""))


def list_firewalls(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    items = [f for (pr, _), f in state.firewalls.items() if pr == p["project"]]
    return state.listing("compute#firewallList", f"projects/{p['project']}/global/firewalls", items, q)


def delete_firewall(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if replayed := state.replay(q):
        return replayed
    firewall = state.firewalls.pop((p["project"], p["firewall"]), None)
    if firewall is None:
        raise not_found(f"projects/{p['project']}/global/firewalls/{p['firewall']}")
    return state.operation(p["project"], None, "delete", firewall["selfLink"], firewall["id"],
                           request_id=q.get("requestId", ""))


def _scope(p: Params) -> str:
    return f"zones/{p['zone']}" if "zone" in p else "global"


def get_operation(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if "zone" in p:
        state.check_zone(p["project"], p["zone"])
    return state.render_operation(state.find_operation(p["project"], _scope(p), p["operation"]))


def wait_operation(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    op = state.find_operation(p["project"], _scope(p), p["operation"])
    remaining = min(op["_done_at"] - time.monotonic(), WAIT_LIMIT)
    if remaining > 0:
        state.lock.release()  # let other requests proceed while this one waits
        try:
            time.sleep(remaining)
        finally:
            state.lock.acquire()
    return state.render_operation(op)


def list_zone_operations(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    state.check_zone(p["project"], p["zone"])
    scope = _scope(p)
    items = [state.render_operation(op) for (pr, sc, _), op in state.operations.items()
             if pr == p["project"] and sc == scope]
    return state.listing("compute#operationList", f"projects/{p['project']}/{scope}/operations", items, q)


def get_zone(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    state.check_zone(p["project"], p["zone"])
    return {"kind": "compute#zone", "id": "2000", "creationTimestamp": now_rfc3339(), "name": p["zone"],
            "region": f"{BASE}projects/{p['project']}/regions/{p['zone'].rsplit('-', 1)[0]}",
            "status": "UP", "selfLink": state.zone_url(p["project"], p["zone"])}


def get_machine_type(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    state.check_zone(p["project"], p["zone"])
    url, cpus, memory = state.machine_type(p["project"], p["zone"], p["machineType"])
    return {"kind": "compute#machineType", "id": str(3000 + cpus), "name": p["machineType"],
            "description": f"{cpus} vCPUs, {memory / 1024:g} GB RAM", "guestCpus": cpus,
            "memoryMb": memory, "maximumPersistentDisks": 128,
            "maximumPersistentDisksSizeGb": "263168", "zone": p["zone"],
            "isSharedCpu": False, "selfLink": url}


def get_region(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    """A region with its CPUS quota: the emulator's limit (1000 when none was set) and the
    CPUs of the project's live instances there, as the real API counts them."""
    region = p["region"]
    zones = [z for z in ZONES if z.rsplit("-", 1)[0] == region]
    if not zones:
        raise not_found(f"projects/{p['project']}/regions/{region}")
    url = f"{BASE}projects/{p['project']}/regions/{region}"
    return {"kind": "compute#region", "id": "1000", "creationTimestamp": now_rfc3339(),
            "name": region, "status": "UP", "selfLink": url,
            "zones": [state.zone_url(p["project"], z) for z in zones],
            "quotas": [{"metric": "CPUS", "limit": state.cpu_quota.get(region, 1000.0),
                        "usage": float(state.region_cpus(p["project"], region))}]}


@dataclass(frozen=True)
class Route:
    method_id: str  # as in the discovery document, e.g. compute.instances.insert
    http_method: str
    template: str  # the discovery document's `path`, e.g. projects/{project}/zones/{zone}/instances
    handler: Handler

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(f"^{regex}$")


ZONE = "projects/{project}/zones/{zone}"
ROUTES = [
    Route("compute.instances.insert", "POST", f"{ZONE}/instances", instances.insert),
    Route("compute.instances.bulkInsert", "POST", f"{ZONE}/instances/bulkInsert", instances.bulk_insert),
    Route("compute.instances.list", "GET", f"{ZONE}/instances", instances.list_),
    Route("compute.instances.get", "GET", f"{ZONE}/instances/{{instance}}", instances.get),
    Route("compute.instances.getSerialPortOutput", "GET", f"{ZONE}/instances/{{instance}}/serialPort",
          instances.serial_port_output),
    Route("compute.instances.delete", "DELETE", f"{ZONE}/instances/{{instance}}", instances.delete),
    Route("compute.instances.attachDisk", "POST", f"{ZONE}/instances/{{instance}}/attachDisk",
          instances.attach_disk),
    Route("compute.instances.detachDisk", "POST", f"{ZONE}/instances/{{instance}}/detachDisk",
          instances.detach_disk),
    Route("compute.instances.aggregatedList", "GET", "projects/{project}/aggregated/instances",
          instances.aggregated_list),
    Route("compute.disks.insert", "POST", f"{ZONE}/disks", storage.insert_disk),
    Route("compute.disks.get", "GET", f"{ZONE}/disks/{{disk}}", storage.get_disk),
    Route("compute.disks.delete", "DELETE", f"{ZONE}/disks/{{disk}}", storage.delete_disk),
    Route("compute.disks.createSnapshot", "POST", f"{ZONE}/disks/{{disk}}/createSnapshot",
          storage.create_snapshot),
    Route("compute.disks.aggregatedList", "GET", "projects/{project}/aggregated/disks",
          storage.aggregated_disks),
    Route("compute.snapshots.list", "GET", "projects/{project}/global/snapshots", storage.list_snapshots),
    Route("compute.snapshots.get", "GET", "projects/{project}/global/snapshots/{snapshot}",
          storage.get_snapshot),
    Route("compute.snapshots.delete", "DELETE", "projects/{project}/global/snapshots/{snapshot}",
          storage.delete_snapshot),
    Route("compute.firewalls.insert", "POST", "projects/{project}/global/firewalls", insert_firewall),
    Route("compute.firewalls.list", "GET", "projects/{project}/global/firewalls", list_firewalls),
    Route("compute.firewalls.delete", "DELETE", "projects/{project}/global/firewalls/{firewall}",
          delete_firewall),
    Route("compute.zoneOperations.get", "GET", f"{ZONE}/operations/{{operation}}", get_operation),
    Route("compute.zoneOperations.wait", "POST", f"{ZONE}/operations/{{operation}}/wait", wait_operation),
    Route("compute.zoneOperations.list", "GET", f"{ZONE}/operations", list_zone_operations),
    Route("compute.globalOperations.get", "GET", "projects/{project}/global/operations/{operation}",
          get_operation),
    Route("compute.globalOperations.wait", "POST",
          "projects/{project}/global/operations/{operation}/wait", wait_operation),
    Route("compute.zones.get", "GET", ZONE, get_zone),
    Route("compute.machineTypes.get", "GET", f"{ZONE}/machineTypes/{{machineType}}", get_machine_type),
    Route("compute.regions.get", "GET", "projects/{project}/regions/{region}", get_region),
]


def match(http_method: str, path: str) -> tuple[Route, Params]:
    for route in ROUTES:
        if route.http_method == http_method and (found := route.pattern.match(path)):
            return route, found.groupdict()
    raise ApiError(404, "notFound", f"No such method: {http_method} {path}")
