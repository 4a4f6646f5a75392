"""The emulated project state: instances, disks, snapshots, firewalls, images, operations.

Resources are kept as the JSON objects the real API returns (camelCase, int64 as strings, full
self links). Mutations return an Operation; it is DONE at once unless an operation delay is set,
in which case it is RUNNING until the delay has passed (`wait` blocks until then), as real
long-running operations are. Limits are the documented ones: metadata values 256 KiB, all
metadata 512 KiB, resource names per RFC 1035, label keys and values 63 characters.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

from .filters import FilterError, parse_filter

BASE = "https://www.googleapis.com/compute/v1/"
NAME_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_RE = re.compile(r"^[a-z][-_a-z0-9]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[-_a-z0-9]{0,63}$")
ZONES = ("us-central1-a", "us-central1-b", "europe-west1-b")
MACHINE_TYPES = {  # name -> (vCPUs, MB)
    "e2-micro": (2, 1024), "e2-small": (2, 2048), "e2-medium": (2, 4096),
    "e2-standard-2": (2, 8192), "e2-standard-4": (4, 16384), "n2-standard-2": (2, 8192),
    "n2-standard-4": (4, 16384), "n2-standard-8": (8, 32768), "c2-standard-8": (8, 32768),
    "f1-micro": (1, 614),
}
DISK_TYPES = ("pd-standard", "pd-balanced", "pd-ssd")
IMAGES = {  # (project, image) -> (family, size GB): public images the emulator knows
    ("debian-cloud", "debian-12-bookworm-v20250101"): ("debian-12", 10),
    ("ubuntu-os-cloud", "ubuntu-2204-jammy-v20250101"): ("ubuntu-2204-lts", 10),
}
METADATA_VALUE_LIMIT = 256 * 1024
METADATA_TOTAL_LIMIT = 512 * 1024


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global",
                                      "reason": self.reason}]}}


def not_found(link: str) -> ApiError:
    return ApiError(404, "notFound", f"The resource '{link}' was not found")


def invalid(field: str, value: Any, why: str) -> ApiError:
    return ApiError(400, "invalid", f"Invalid value for field '{field}': '{value}'. {why}")


def now_rfc3339() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")


def last_segment(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def relative(link: str) -> str:
    """`projects/p/zones/z/disks/d` from a full URL or a partial path."""
    return link.split("/compute/v1/", 1)[-1].lstrip("/")


class ComputeState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(4_000_000_000_000_000_001)
        self._addresses = itertools.count(2)
        self.instances: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.disks: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.snapshots: dict[tuple[str, str], dict[str, Any]] = {}
        self.firewalls: dict[tuple[str, str], dict[str, Any]] = {}
        self.operations: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.request_ids: dict[str, dict[str, Any]] = {}
        self.networks = {"default"}
        self.cpu_quota: dict[str, float] = {}  # region -> CPUS limit (no entry: unlimited)
        self.operation_delay = 0.0
        self.page_size = 500  # items per list page when the caller gives no maxResults
        self.spot_instances_preempted: list[str] = []
        # (project, zone, instance) -> what its serial port 1 printed: fed by whoever runs the
        # instance (the cloud lab's machine, or a test through /_emulator/serial)
        self.serial: dict[tuple[str, str, str], str] = {}

    # ---- helpers ------------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(next(self._ids))

    @staticmethod
    def zone_url(project: str, zone: str) -> str:
        return f"{BASE}projects/{project}/zones/{zone}"

    def check_zone(self, project: str, zone: str) -> None:
        if zone not in ZONES:
            raise not_found(f"projects/{project}/zones/{zone}")

    def zonal(self, kind: str, project: str, zone: str, name: str) -> dict[str, Any]:
        """An instance or disk (`kind`: "instances" or "disks") of a zone, or a 404."""
        self.check_zone(project, zone)
        found: dict[str, Any] | None = getattr(self, kind).get((project, zone, name))
        if found is None:
            raise not_found(f"projects/{project}/zones/{zone}/{kind}/{name}")
        return found

    @staticmethod
    def check_name(name: Any, field: str = "resource.name") -> str:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise invalid(field, name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
        return name

    @staticmethod
    def check_labels(labels: Any) -> dict[str, str]:
        labels = labels or {}
        for key, value in labels.items():
            if not LABEL_RE.match(key) or not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
                raise invalid("resource.labels", f"{key}={value}", "Label keys and values must be "
                              "lowercase letters, digits, '-' or '_', at most 63 characters.")
        return dict(labels)

    def operation(self, project: str, zone: str | None, kind: str, target: str, target_id: str = "",
                  error: tuple[str, str] | None = None, request_id: str = "") -> dict[str, Any]:
        scope = f"zones/{zone}" if zone else "global"
        name = f"operation-{int(time.time() * 1000)}-{self.new_id()[-12:]}"
        stamp = now_rfc3339()
        op: dict[str, Any] = {
            "kind": "compute#operation", "id": self.new_id(), "name": name,
            "operationType": kind, "targetLink": target, "status": "RUNNING",
            "user": "ehpc-emulator@example.com", "progress": 0, "insertTime": stamp,
            "startTime": stamp, "selfLink": f"{BASE}projects/{project}/{scope}/operations/{name}",
        }
        if target_id:
            op["targetId"] = target_id
        if zone:
            op["zone"] = self.zone_url(project, zone)
        op["_done_at"] = time.monotonic() + self.operation_delay
        if error:
            op["_error"] = {"errors": [{"code": error[0], "message": error[1]}]}
        self.operations[(project, scope, name)] = op
        if request_id:
            self.request_ids[request_id] = op
        return self.render_operation(op)

    def render_operation(self, op: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in op.items() if not k.startswith("_")}
        if time.monotonic() >= op["_done_at"]:
            out.update(status="DONE", progress=100, endTime=op.get("endTime") or now_rfc3339())
            op["endTime"] = out["endTime"]
            if "_error" in op:
                out["error"] = op["_error"]
                out["httpErrorStatusCode"] = 403 if "QUOTA" in op["_error"]["errors"][0]["code"] else 400
                out["httpErrorMessage"] = "FORBIDDEN" if out["httpErrorStatusCode"] == 403 else "BAD REQUEST"
        return out

    def find_operation(self, project: str, scope: str, name: str) -> dict[str, Any]:
        op = self.operations.get((project, scope, name))
        if op is None:
            raise not_found(f"projects/{project}/{scope}/operations/{name}")
        return op

    def replay(self, query: dict[str, str]) -> dict[str, Any] | None:
        """A retried mutation with the same requestId gets the first call's operation."""
        request_id = query.get("requestId", "")
        op = self.request_ids.get(request_id) if request_id else None
        return self.render_operation(op) if op else None

    def listing(self, kind: str, self_link: str, items: list[dict[str, Any]], query: dict[str, str]
                ) -> dict[str, Any]:
        if "filter" in query:
            try:
                keep = parse_filter(query["filter"])
            except FilterError as err:
                raise ApiError(400, "invalid", str(err)) from None
            items = [item for item in items if keep(item)]
        items = sorted(items, key=lambda item: item["name"])
        start = int(query.get("pageToken") or 0)
        size = min(int(query.get("maxResults") or self.page_size), 500)
        out: dict[str, Any] = {"kind": kind, "id": self_link, "selfLink": BASE + self_link,
                               "items": copy.deepcopy(items[start:start + size])}
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    # ---- images, networks, machine types ------------------------------------------------------
    def resolve_image(self, link: str) -> tuple[str, str, int]:
        """(project, image, size GB) of `projects/P/global/images/NAME` or `.../images/family/F`."""
        path = relative(link)
        match = re.fullmatch(r"projects/([^/]+)/global/images/(?:family/)?([^/]+)", path)
        if match:
            project, name = match.groups()
            for (image_project, image), (family, size) in IMAGES.items():
                wanted = family if "/family/" in path else image
                if image_project == project and wanted == name:
                    return image_project, image, size
        raise not_found(path)

    def machine_type(self, project: str, zone: str, link: str) -> tuple[str, int, int]:
        name = last_segment(link)
        if name not in MACHINE_TYPES:
            raise invalid("resource.machineType", link,
                          f"Machine type with name '{name}' does not exist in zone '{zone}'.")
        return (f"{self.zone_url(project, zone)}/machineTypes/{name}", *MACHINE_TYPES[name])

    def network_url(self, project: str, link: str) -> str:
        name = last_segment(link or "global/networks/default")
        if name not in self.networks:
            raise not_found(f"projects/{project}/global/networks/{name}")
        return f"{BASE}projects/{project}/global/networks/{name}"

    def region_cpus(self, project: str, region: str) -> int:
        return sum(int(i["_cpus"]) for (p, z, _), i in self.instances.items()
                   if p == project and z.rsplit("-", 1)[0] == region and i["status"] != "TERMINATED")

    def quota_error(self, project: str, zone: str, cpus: int) -> tuple[str, str] | None:
        region = zone.rsplit("-", 1)[0]
        limit = self.cpu_quota.get(region)
        if limit is not None and self.region_cpus(project, region) + cpus > limit:
            return ("QUOTA_EXCEEDED",
                    f"Quota 'CPUS' exceeded.  Limit: {limit:.1f} in region {region}.")
        return None
