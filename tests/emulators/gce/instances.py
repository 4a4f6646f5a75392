"""instances.*: insert, bulkInsert, get, list, aggregatedList, delete, attachDisk, detachDisk.

Addresses handed out are fake and unroutable on purpose: private 10.128.x.x, public from
198.18.0.0/15 (reserved for benchmarking, never routed on the internet). Nothing may connect
to them.
"""

from __future__ import annotations

import copy
import ipaddress
import time
from typing import Any

from .resources import (
    BASE,
    DISK_TYPES,
    METADATA_TOTAL_LIMIT,
    METADATA_VALUE_LIMIT,
    ZONES,
    ApiError,
    ComputeState,
    invalid,
    last_segment,
    not_found,
    now_rfc3339,
    relative,
)

PRIVATE_BASE = ipaddress.ip_address("10.128.0.0")
PUBLIC_BASE = ipaddress.ip_address("198.18.0.0")
Params = dict[str, str]
Body = dict[str, Any]


def render(state: ComputeState, instance: dict[str, Any]) -> dict[str, Any]:
    if instance["status"] == "PROVISIONING" and time.monotonic() >= instance["_ready_at"]:
        instance["status"] = "RUNNING"
        instance["lastStartTimestamp"] = now_rfc3339()
    return {k: copy.deepcopy(v) for k, v in instance.items() if not k.startswith("_")}


def _metadata(metadata: Body | None) -> Body:
    items = (metadata or {}).get("items", [])
    keys = [item.get("key") for item in items]
    if len(keys) != len(set(keys)):
        raise invalid("resource.metadata", keys, "Duplicate metadata keys.")
    total = 0
    for item in items:
        size = len(item.get("value", "").encode())
        total += size + len(item["key"].encode())
        if size > METADATA_VALUE_LIMIT:
            raise ApiError(400, "invalid", f"Value for metadata key '{item['key']}' exceeds the "
                           f"limit of {METADATA_VALUE_LIMIT} bytes.")
    if total > METADATA_TOTAL_LIMIT:
        raise ApiError(400, "invalid", "Metadata exceeds the total limit of 512 KB.")
    return {"kind": "compute#metadata", "fingerprint": "ZW1wdHkK", "items": items}


def _boot_disk(state: ComputeState, project: str, zone: str, name: str, spec: Body,
               labels: dict[str, str]) -> dict[str, Any]:
    params = spec.get("initializeParams") or {}
    image_project, image, image_size = state.resolve_image(params.get("sourceImage", ""))
    size = int(params.get("diskSizeGb") or image_size)
    disk_type = last_segment(params.get("diskType") or "pd-standard")
    if disk_type not in DISK_TYPES:
        raise invalid("resource.disks[0].initializeParams.diskType", disk_type, "Unknown disk type.")
    disk_name = params.get("diskName") or name
    if (project, zone, disk_name) in state.disks:
        raise ApiError(409, "alreadyExists",
                       f"The resource 'projects/{project}/zones/{zone}/disks/{disk_name}' already exists")
    return {
        "kind": "compute#disk", "id": state.new_id(), "creationTimestamp": now_rfc3339(),
        "name": disk_name, "sizeGb": str(max(size, image_size)), "zone": state.zone_url(project, zone),
        "status": "READY", "selfLink": f"{state.zone_url(project, zone)}/disks/{disk_name}",
        "sourceImage": f"{BASE}projects/{image_project}/global/images/{image}",
        "type": f"{state.zone_url(project, zone)}/diskTypes/{disk_type}",
        "labels": state.check_labels(params.get("labels") or labels),
        "labelFingerprint": "42WmSpB8rSM=", "physicalBlockSizeBytes": "4096", "users": [],
    }


def build_instance(state: ComputeState, project: str, zone: str, body: Body
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate one instance resource; returns (instance, boot disk) without storing them."""
    name = state.check_name(body.get("name"))
    if (project, zone, name) in state.instances:
        raise ApiError(409, "alreadyExists",
                       f"The resource 'projects/{project}/zones/{zone}/instances/{name}' already exists")
    machine_url, cpus, _memory = state.machine_type(project, zone, body.get("machineType", ""))
    labels = state.check_labels(body.get("labels"))
    disks = body.get("disks") or []
    if len(disks) != 1 or not disks[0].get("boot"):
        raise invalid("resource.disks", len(disks), "Exactly one boot disk is required by the emulator.")
    boot = _boot_disk(state, project, zone, name, disks[0], labels)
    nics = body.get("networkInterfaces") or [{}]
    number = next(state._addresses)
    nic: dict[str, Any] = {
        "kind": "compute#networkInterface", "name": "nic0", "fingerprint": "bm9uZQ==",
        "network": state.network_url(project, nics[0].get("network", "")),
        "subnetwork": f"{BASE}projects/{project}/regions/{zone.rsplit('-', 1)[0]}/subnetworks/default",
        "networkIP": str(PRIVATE_BASE + number), "stackType": "IPV4_ONLY",
    }
    if nics[0].get("accessConfigs"):
        nic["accessConfigs"] = [{"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT",
                                 "name": "External NAT", "natIP": str(PUBLIC_BASE + number),
                                 "networkTier": "PREMIUM"}]
    scheduling = {"onHostMaintenance": "MIGRATE", "automaticRestart": True, "preemptible": False,
                  "provisioningModel": "STANDARD", **(body.get("scheduling") or {})}
    spot = scheduling["provisioningModel"] == "SPOT"
    if spot and (scheduling.get("automaticRestart") or scheduling["onHostMaintenance"] != "TERMINATE"):
        raise invalid("resource.scheduling", "SPOT", "Spot VMs need automaticRestart false "
                      "and onHostMaintenance TERMINATE.")
    instance = {
        "kind": "compute#instance", "id": state.new_id(), "creationTimestamp": now_rfc3339(),
        "name": name, "description": body.get("description", ""),
        "tags": {"items": list((body.get("tags") or {}).get("items", [])), "fingerprint": "42WmSpB8rSM="},
        "machineType": machine_url, "status": "PROVISIONING", "zone": state.zone_url(project, zone),
        "canIpForward": False, "networkInterfaces": [nic],
        "disks": [{"kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE",
                   "source": boot["selfLink"], "deviceName": "persistent-disk-0", "index": 0,
                   "boot": True, "autoDelete": disks[0].get("autoDelete", True),
                   "interface": "SCSI", "diskSizeGb": boot["sizeGb"]}],
        "metadata": _metadata(body.get("metadata")),
        "serviceAccounts": body.get("serviceAccounts", []),
        "selfLink": f"{state.zone_url(project, zone)}/instances/{name}",
        "scheduling": scheduling, "cpuPlatform": "Intel Broadwell",
        "labels": labels, "labelFingerprint": "42WmSpB8rSM=", "fingerprint": "42WmSpB8rSM=",
        "_cpus": cpus, "_ready_at": time.monotonic() + state.operation_delay,
    }
    boot["users"] = [instance["selfLink"]]
    return instance, boot


def _store(state: ComputeState, project: str, zone: str, pairs: list[tuple[dict, dict]]) -> None:
    for instance, boot in pairs:
        state.instances[(project, zone, instance["name"])] = instance
        state.disks[(project, zone, boot["name"])] = boot


def insert(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    state.check_zone(p["project"], p["zone"])
    if replayed := state.replay(q):
        return replayed
    instance, boot = build_instance(state, p["project"], p["zone"], body)
    target = instance["selfLink"]
    error = state.quota_error(p["project"], p["zone"], instance["_cpus"])
    if not error:
        _store(state, p["project"], p["zone"], [(instance, boot)])
    return state.operation(p["project"], p["zone"], "insert", target, instance["id"], error,
                           q.get("requestId", ""))


def bulk_insert(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    project, zone = p["project"], p["zone"]
    state.check_zone(project, zone)
    if replayed := state.replay(q):
        return replayed
    names = list(body.get("perInstanceProperties") or {})
    count = int(body.get("count") or 0)
    pattern = body.get("namePattern", "")
    if count < len(names) or (count > len(names) and "#" not in pattern):
        raise invalid("bulkInsertInstanceResource.count", count,
                      "count must cover perInstanceProperties; extra names need a namePattern.")
    digits = pattern.count("#")
    serial = 1
    while len(names) < count:
        candidate = pattern.replace("#" * digits, str(serial).zfill(digits))
        serial += 1
        if candidate not in names and (project, zone, candidate) not in state.instances:
            names.append(candidate)
    template = copy.deepcopy(body.get("instanceProperties") or {})
    pairs = []
    for name in names:
        props = {**copy.deepcopy(template), "name": name}
        props["machineType"] = f"zones/{zone}/machineTypes/{template.get('machineType', '')}"
        pairs.append(build_instance(state, project, zone, props))
    error = state.quota_error(project, zone, sum(i["_cpus"] for i, _ in pairs))
    if not error:
        _store(state, project, zone, pairs)
    return state.operation(project, zone, "bulkInsert",
                           f"{state.zone_url(project, zone)}/instances/{names[0]}", "", error,
                           q.get("requestId", ""))


def find(state: ComputeState, p: Params) -> dict[str, Any]:
    return state.zonal("instances", p["project"], p["zone"], p["instance"])


def get(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    return render(state, find(state, p))


def serial_port_output(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    """Port 1 from byte `start` on (the whole buffer here: nothing is dropped)."""
    instance = find(state, p)
    text = state.serial.get((p["project"], p["zone"], p["instance"]), "")
    start = min(max(int(q.get("start", "0")), 0), len(text))
    return {"kind": "compute#serialPortOutput", "contents": text[start:], "start": str(start),
            "next": str(len(text)), "selfLink": instance["selfLink"] + "/serialPort"}


def list_(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    state.check_zone(p["project"], p["zone"])
    items = [render(state, i) for (pr, z, _), i in state.instances.items()
             if pr == p["project"] and z == p["zone"]]
    return state.listing("compute#instanceList",
                         f"projects/{p['project']}/zones/{p['zone']}/instances", items, q)


def aggregated_list(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    return aggregated(state, p["project"], "instances", "compute#instanceAggregatedList",
                      {k: render(state, i) for k, i in state.instances.items()}, q)


def aggregated(state: ComputeState, project: str, plural: str, kind: str,
               resources: dict[tuple[str, str, str], dict[str, Any]], q: Params) -> Body:
    """One page over every zone: the filter applies, maxResults and pageToken count items."""
    in_project = [(z, r) for (pr, z, _), r in resources.items() if pr == project]
    page = state.listing(kind, f"projects/{project}/aggregated/{plural}",
                         [{**r, "_zone": z} for z, r in in_project], q)
    items: dict[str, Any] = {}
    for zone in ZONES:
        found = [{k: v for k, v in r.items() if k != "_zone"} for r in page["items"] if r["_zone"] == zone]
        items[f"zones/{zone}"] = {plural: found} if found else {"warning": {
            "code": "NO_RESULTS_ON_PAGE",
            "message": f"There are no results for scope 'zones/{zone}' on this page.",
            "data": [{"key": "scope", "value": f"zones/{zone}"}]}}
    page["items"] = items
    return page


def delete(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if replayed := state.replay(q):
        return replayed
    instance = find(state, p)
    del state.instances[(p["project"], p["zone"], p["instance"])]
    state.serial.pop((p["project"], p["zone"], p["instance"]), None)
    for attached in instance["disks"]:
        key = (p["project"], p["zone"], last_segment(attached["source"]))
        disk = state.disks.get(key)
        if disk is None:
            continue
        disk["users"] = [u for u in disk["users"] if u != instance["selfLink"]]
        if attached.get("autoDelete"):
            del state.disks[key]
    return state.operation(p["project"], p["zone"], "delete", instance["selfLink"], instance["id"],
                           request_id=q.get("requestId", ""))


def attach_disk(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    instance = find(state, p)
    source = relative(body.get("source", ""))
    parts = source.split("/")
    if len(parts) != 6 or parts[2] != "zones" or parts[4] != "disks":
        raise invalid("resource.source", body.get("source"), "Expected a zonal disk.")
    if parts[3] != p["zone"]:
        raise ApiError(400, "invalid", f"Disk must be in the same zone as the instance ({p['zone']}).")
    disk = state.disks.get((parts[1], parts[3], parts[5]))
    if disk is None:
        raise not_found(source)
    if disk["users"] and body.get("mode", "READ_WRITE") == "READ_WRITE":
        raise ApiError(400, "resourceInUseByAnotherResource",
                       f"The disk resource '{source}' is already being used by "
                       f"'{relative(disk['users'][0])}'")
    device = body.get("deviceName") or disk["name"]
    if any(d["deviceName"] == device for d in instance["disks"]):
        raise invalid("resource.deviceName", device, "A disk with this device name is attached.")
    instance["disks"].append({
        "kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": body.get("mode", "READ_WRITE"),
        "source": disk["selfLink"], "deviceName": device, "index": len(instance["disks"]),
        "boot": False, "autoDelete": bool(body.get("autoDelete", False)), "interface": "SCSI",
        "diskSizeGb": disk["sizeGb"]})
    disk["users"].append(instance["selfLink"])
    disk["lastAttachTimestamp"] = now_rfc3339()
    return state.operation(p["project"], p["zone"], "attachDisk", instance["selfLink"], instance["id"])


def detach_disk(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    instance = find(state, p)
    device = q.get("deviceName", "")
    attached = next((d for d in instance["disks"] if d["deviceName"] == device), None)
    if attached is None:
        raise invalid("deviceName", device, "No disk with this device name is attached.")
    if attached.get("boot"):
        raise ApiError(400, "invalid", "The boot disk cannot be detached.")
    instance["disks"].remove(attached)
    disk = state.disks.get((p["project"], p["zone"], last_segment(attached["source"])))
    if disk is not None:
        disk["users"] = [u for u in disk["users"] if u != instance["selfLink"]]
        disk["lastDetachTimestamp"] = now_rfc3339()
    return state.operation(p["project"], p["zone"], "detachDisk", instance["selfLink"], instance["id"])


def preempt(state: ComputeState, project: str, zone: str, name: str) -> None:
    """What Compute Engine does to a Spot VM it reclaims (termination action STOP)."""
    instance = find(state, {"project": project, "zone": zone, "instance": name})
    if instance["scheduling"].get("provisioningModel") != "SPOT":
        raise ApiError(400, "invalid", f"{name} is not a Spot VM")
    instance["status"] = "TERMINATED"
    instance["lastStopTimestamp"] = now_rfc3339()
    state.operation(project, zone, "compute.instances.preempted", instance["selfLink"], instance["id"])
