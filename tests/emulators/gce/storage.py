"""disks.* (insert empty or from a snapshot, get, list, aggregatedList, delete, createSnapshot)
and snapshots.* (get, list, delete)."""

from __future__ import annotations

import copy
from typing import Any

from .instances import aggregated
from .resources import (
    BASE,
    DISK_TYPES,
    ApiError,
    ComputeState,
    invalid,
    last_segment,
    not_found,
    now_rfc3339,
    relative,
)

Params = dict[str, str]
Body = dict[str, Any]
MAX_DISK_GB = 65536


def _snapshot_by_link(state: ComputeState, link: str) -> dict[str, Any]:
    path = relative(link)
    parts = path.split("/")
    if len(parts) != 5 or parts[2:4] != ["global", "snapshots"]:
        raise invalid("resource.sourceSnapshot", link, "Expected projects/P/global/snapshots/NAME.")
    snapshot = state.snapshots.get((parts[1], parts[4]))
    if snapshot is None:
        raise not_found(path)
    return snapshot


def insert_disk(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    project, zone = p["project"], p["zone"]
    state.check_zone(project, zone)
    if replayed := state.replay(q):
        return replayed
    name = state.check_name(body.get("name"))
    if (project, zone, name) in state.disks:
        raise ApiError(409, "alreadyExists",
                       f"The resource 'projects/{project}/zones/{zone}/disks/{name}' already exists")
    disk_type = last_segment(body.get("type") or "pd-standard")
    if disk_type not in DISK_TYPES:
        raise invalid("resource.type", body.get("type"), f"Disk type '{disk_type}' does not exist.")
    disk: dict[str, Any] = {
        "kind": "compute#disk", "id": state.new_id(), "creationTimestamp": now_rfc3339(),
        "name": name, "zone": state.zone_url(project, zone), "status": "READY",
        "selfLink": f"{state.zone_url(project, zone)}/disks/{name}",
        "type": f"{state.zone_url(project, zone)}/diskTypes/{disk_type}",
        "labels": state.check_labels(body.get("labels")), "labelFingerprint": "42WmSpB8rSM=",
        "physicalBlockSizeBytes": "4096", "users": [],
    }
    size = int(body["sizeGb"]) if body.get("sizeGb") else None
    if body.get("sourceSnapshot"):
        snapshot = _snapshot_by_link(state, body["sourceSnapshot"])
        minimum = int(snapshot["diskSizeGb"])
        if size is not None and size < minimum:
            raise invalid("resource.sizeGb", size,
                          f"The disk size must be at least the snapshot's size ({minimum} GB).")
        size = size or minimum
        disk.update(sourceSnapshot=snapshot["selfLink"], sourceSnapshotId=snapshot["id"])
    if size is None:
        size = 500 if disk_type == "pd-standard" else 100  # the service's defaults
    if not 1 <= size <= MAX_DISK_GB:
        raise invalid("resource.sizeGb", size, f"Must be between 1 and {MAX_DISK_GB}.")
    disk["sizeGb"] = str(size)
    state.disks[(project, zone, name)] = disk
    return state.operation(project, zone, "insert", disk["selfLink"], disk["id"],
                           request_id=q.get("requestId", ""))


def _disk(state: ComputeState, p: Params) -> dict[str, Any]:
    return state.zonal("disks", p["project"], p["zone"], p["disk"])


def get_disk(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    return copy.deepcopy(_disk(state, p))


def aggregated_disks(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    return aggregated(state, p["project"], "disks", "compute#diskAggregatedList", state.disks, q)


def delete_disk(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if replayed := state.replay(q):
        return replayed
    disk = _disk(state, p)
    if disk["users"]:
        raise ApiError(400, "resourceInUseByAnotherResource",
                       f"The disk resource '{relative(disk['selfLink'])}' is already being used by "
                       f"'{relative(disk['users'][0])}'")
    del state.disks[(p["project"], p["zone"], p["disk"])]
    return state.operation(p["project"], p["zone"], "delete", disk["selfLink"], disk["id"],
                           request_id=q.get("requestId", ""))


def create_snapshot(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if replayed := state.replay(q):
        return replayed
    disk = _disk(state, p)
    project = p["project"]
    name = state.check_name(body.get("name"))
    if (project, name) in state.snapshots:
        raise ApiError(409, "alreadyExists",
                       f"The resource 'projects/{project}/global/snapshots/{name}' already exists")
    snapshot = {
        "kind": "compute#snapshot", "id": state.new_id(), "creationTimestamp": now_rfc3339(),
        "name": name, "status": "READY", "sourceDisk": disk["selfLink"], "sourceDiskId": disk["id"],
        "diskSizeGb": disk["sizeGb"], "storageBytes": "0", "storageBytesStatus": "UP_TO_DATE",
        "selfLink": f"{BASE}projects/{project}/global/snapshots/{name}",
        "labels": state.check_labels(body.get("labels")), "labelFingerprint": "42WmSpB8rSM=",
        "storageLocations": [p["zone"].split("-")[0]],
    }
    state.snapshots[(project, name)] = snapshot
    return state.operation(project, p["zone"], "createSnapshot", disk["selfLink"], disk["id"],
                           request_id=q.get("requestId", ""))


def _snapshot(state: ComputeState, p: Params) -> dict[str, Any]:
    snapshot = state.snapshots.get((p["project"], p["snapshot"]))
    if snapshot is None:
        raise not_found(f"projects/{p['project']}/global/snapshots/{p['snapshot']}")
    return snapshot


def get_snapshot(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    return copy.deepcopy(_snapshot(state, p))


def list_snapshots(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    items = [s for (pr, _), s in state.snapshots.items() if pr == p["project"]]
    return state.listing("compute#snapshotList", f"projects/{p['project']}/global/snapshots", items, q)


def delete_snapshot(state: ComputeState, p: Params, q: Params, body: Body) -> Body:
    if replayed := state.replay(q):
        return replayed
    snapshot = _snapshot(state, p)
    del state.snapshots[(p["project"], p["snapshot"])]
    return state.operation(p["project"], None, "delete", snapshot["selfLink"], snapshot["id"],
                           request_id=q.get("requestId", ""))
