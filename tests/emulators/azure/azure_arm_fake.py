"""A small Azure Resource Manager over HTTPS on loopback: what the Azure provider uses, no more.

Served: resource groups, generic resource listing by tag or type, virtual networks and subnets,
network security groups, public IP addresses, NAT gateways (a subnet's outbound path), network
interfaces, virtual machines (custom data, SSH keys, Spot priority, `simulateEviction`, data
disks on LUNs, instance view, boot diagnostics: the serial log behind a SAS URL), managed disks
(empty, imported from a VHD page blob read from Azurite, copied from a snapshot), snapshots,
images from a VHD, a storage account entry that points at Azurite, a region's VM sizes and
vCPU usage, the public retail price list (`/api/retail/prices`), and template deployments
(arm_templates.py: copy loops, dependsOn, the functions ehpc's templates use). Also the two Entra ID
(AAD) endpoints a service principal's certificate credential talks to: the fake checks the
signed client assertion against the registered certificate and hands out bearer tokens that
every ARM request must carry.

Long-running operations behave as ARM's do: PUT answers 201/200 with `provisioningState`
`Creating`/`Updating` and an `Azure-AsyncOperation` header that reports `InProgress` once, then
`Succeeded`; DELETE answers 202 with `Location` (202 once, then 200). Bodies are checked by
parsing them into the SDK's model classes, so a field the real service would not know fails.

Faults for tests: `throttle(n)` answers the next n ARM calls with 429 + `Retry-After`,
`latency` delays every VM create, `core_quota` refuses VMs beyond a vCPU quota as Azure does,
`simulateEviction` evicts a Spot VM as Azure does.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from azure.mgmt.compute import models as compute_models
from azure.mgmt.network import models as network_models

from . import arm_templates

GIB = 1024**3
POLL_SECONDS = 0.02  # what the fake asks LRO pollers to wait
# Sizes this fake's "region" offers (a subset of real ones, with their shape).
VM_SIZES = {
    "Standard_B1s": (1, 1024), "Standard_B2s": (2, 4096), "Standard_D2s_v5": (2, 8192),
    "Standard_D4s_v5": (4, 16384), "Standard_D8s_v5": (8, 32768), "Standard_D16s_v5": (16, 65536),
    "Standard_E8s_v5": (8, 65536), "Standard_F4s_v2": (4, 8192), "Standard_B1ms": (1, 2048),
    "Standard_F8s_v2": (8, 16384), "Standard_E2s_v5": (2, 16384), "Standard_E4s_v5": (4, 32768),
}
MODEL_OF = {
    "microsoft.network/virtualnetworks": network_models.VirtualNetwork,
    "microsoft.network/virtualnetworks/subnets": network_models.Subnet,
    "microsoft.network/networksecuritygroups": network_models.NetworkSecurityGroup,
    "microsoft.network/publicipaddresses": network_models.PublicIPAddress,
    "microsoft.network/natgateways": network_models.NatGateway,
    "microsoft.network/networkinterfaces": network_models.NetworkInterface,
    "microsoft.compute/virtualmachines": compute_models.VirtualMachine,
    "microsoft.compute/disks": compute_models.Disk,
    "microsoft.compute/snapshots": compute_models.Snapshot,
    "microsoft.compute/images": compute_models.Image,
}
DEPLOYMENTS = "microsoft.resources/deployments"
# Types whose create answers 202 Accepted (the others 201 Created), as in their API specs.
ACCEPTED_ON_CREATE = {"microsoft.compute/disks", "microsoft.compute/snapshots"}
RESOURCE_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"(?:/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)(?:/(?P<name>[^/]+)"
    r"(?:/(?P<child>[^/]+)(?:/(?P<childname>[^/]+))?)?)?)?$",
    re.IGNORECASE,
)
SUB_LIST = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)$", re.I)
LOCATION_LIST = re.compile(r"^/subscriptions/[^/]+/providers/Microsoft.Compute/locations/"
                           r"(?P<location>[^/]+)/(?P<what>vmSizes|usages)$", re.I)
DEFAULT_CORE_LIMIT = 100  # "Total Regional vCPUs" when no core_quota is set
# The retail price list's Linux pay-as-you-go and Spot prices (USD/hour) of a few sizes, as
# prices.azure.com gives them; illustrative figures of the real order.
RETAIL_PRICES = {"Standard_B2s": (0.0416, 0.0083), "Standard_D2s_v5": (0.096, 0.0192),
                 "Standard_D4s_v5": (0.192, 0.0384), "Standard_F4s_v2": (0.169, 0.0338)}


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Faults:
    throttle: int = 0  # answer this many more ARM calls with 429
    throttle_method: str = ""  # ...only calls of this HTTP method (PATCH, PUT...) when set
    retry_after: float = 0.01  # seconds; under 1 s it is sent as retry-after-ms
    latency: float = 0.0
    core_quota: int | None = None  # regional vCPU quota; None = unlimited
    chaos_rate: float = 0.0  # each ARM call: 429 or 500 (half each) with this probability
    chaos_latency: float = 0.0  # ...and about as many again wait this long first
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def chaos(self) -> tuple[int, float]:
        """(an error status or 0, seconds to wait first) for one call."""
        draw = self.rng.random() if self.chaos_rate else 1.0
        if draw < self.chaos_rate:
            return (429 if draw < self.chaos_rate / 2 else 500), 0.0
        return 0, self.chaos_latency if draw < 2 * self.chaos_rate else 0.0


@dataclass
class Stats:
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    vm_puts_in_flight: int = 0
    max_vm_puts_in_flight: int = 0
    throttled: int = 0
    chaos_failed: int = 0  # calls Faults.chaos answered with an error


class ArmFake:
    def __init__(self, tls_cert: Path, tls_key: Path, subscription: str, host: str = "127.0.0.1"
                 ) -> None:
        self.subscription = subscription
        self.resources: dict[str, dict[str, Any]] = {}  # lower-case id -> resource JSON
        self.operations: dict[str, dict[str, Any]] = {}
        self.principals: dict[str, x509.Certificate] = {}  # client id -> certificate
        self.tokens: set[str] = set()
        self.storage: dict[str, tuple[str, str]] = {}  # account -> (blob endpoint, key)
        self.custom_data: dict[str, bytes] = {}  # VM id (lower case) -> decoded custom data
        # VM id (lower case) -> its serial console log, fed by whoever runs the VM (the cloud
        # lab's machine, or a test); read through boot diagnostics' SAS URL, as on Azure
        self.serial: dict[str, str] = {}
        self.sas: dict[str, str] = {}  # SAS signature -> VM id it reads
        self.faults = Faults()
        self.stats = Stats()
        self.lock = threading.RLock()
        self._next_ip = 4
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls_cert), str(tls_key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ---- life cycle and test controls ------------------------------------------------------
    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"https://{host}:{port}"

    def start(self) -> ArmFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def print_serial(self, vm_id: str, text: str) -> None:
        with self.lock:
            _exists(self, vm_id, "Virtual machine")
            self.serial[vm_id.lower()] = self.serial.get(vm_id.lower(), "") + text

    def serial_log(self, signature: str) -> str | None:
        """The blob a boot diagnostics SAS URL names (None: no such URL)."""
        with self.lock:
            vm_id = self.sas.get(signature)
            return None if vm_id is None else self.serial.get(vm_id, "")

    def add_principal(self, client_id: str, certificate: x509.Certificate) -> None:
        self.principals[client_id] = certificate

    def add_storage_account(self, resource_group: str, name: str, blob_endpoint: str, key: str) -> str:
        """The account VHDs are imported from; its blobs live in Azurite at `blob_endpoint`."""
        rid = f"/subscriptions/{self.subscription}/resourceGroups/{resource_group}"
        self.resources.setdefault(rid.lower(), {"id": rid, "name": resource_group,
                                                "type": "Microsoft.Resources/resourceGroups",
                                                "location": "westus", "tags": {},
                                                "properties": {"provisioningState": "Succeeded"}})
        sid = f"{rid}/providers/Microsoft.Storage/storageAccounts/{name}"
        self.resources[sid.lower()] = {
            "id": sid, "name": name, "type": "Microsoft.Storage/storageAccounts", "location": "westus",
            "tags": {}, "properties": {"primaryEndpoints": {"blob": blob_endpoint.rstrip("/") + "/"}},
        }
        self.storage[name] = (blob_endpoint.rstrip("/"), key)
        return sid

    def throttle(self, calls: int, retry_after: float = 0.01, method: str = "") -> None:
        self.faults.throttle, self.faults.retry_after = calls, retry_after
        self.faults.throttle_method = method

    def tagged(self, key: str, value: str) -> list[str]:
        """Ids of every resource (groups included) carrying tag key=value."""
        with self.lock:
            return sorted(r["id"] for r in self.resources.values()
                          if (r.get("tags") or {}).get(key) == value)

    def find(self, type_: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.resources.values() if r["type"].lower() == type_.lower()]

    # ---- authentication ----------------------------------------------------------------------
    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.endpoint}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "tenant_region_scope": "NA",
        }

    def issue_token(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials" or client_id not in self.principals:
            raise ArmError(400, "unauthorized_client", f"AADSTS700016: application {client_id} not found")
        try:
            header_b64, payload_b64, signature_b64 = form["client_assertion"].split(".")
            payload = json.loads(_b64decode(payload_b64))
            self.principals[client_id].public_key().verify(  # type: ignore[call-arg]
                _b64decode(signature_b64), f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(), hashes.SHA256(),
            )
        except (KeyError, ValueError, InvalidSignature, binascii.Error):
            raise ArmError(401, "invalid_client", "AADSTS700027: bad client assertion signature") from None
        if payload.get("iss") != client_id or payload.get("sub") != client_id:
            raise ArmError(401, "invalid_client", "AADSTS700023: assertion issuer/subject mismatch")
        if payload.get("exp", 0) < time.time() or f"/{tenant}/" not in payload.get("aud", ""):
            raise ArmError(401, "invalid_client", "AADSTS700024: assertion expired or wrong audience")
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    # ---- requests --------------------------------------------------------------------------------
    def arm(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict]:
        if path.lower().startswith(f"/subscriptions/{self.subscription}/providers/microsoft.fake/"):
            return self._operation(path.rsplit("/", 1)[1])
        if not path.lower().startswith(f"/subscriptions/{self.subscription.lower()}"):
            raise ArmError(404, "SubscriptionNotFound",
                           f"The subscription '{path.split('/')[2]}' could not be found.")
        if "api-version" not in query:
            raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        located = LOCATION_LIST.match(path)
        if located and method == "GET":
            return 200, self._location(located["location"], located["what"]), {}
        match = SUB_LIST.match(path)
        if match and method == "GET":
            return 200, {"value": self._list(type_=f"{match['ns']}/{match['type']}")}, {}
        lowered = path.lower()
        if lowered.endswith("/resourcegroups") and method == "GET":
            return 200, {"value": self._list(type_="Microsoft.Resources/resourceGroups",
                                             filter_=query.get("$filter", ""))}, {}
        if lowered.endswith("/resources") and method == "GET":
            rg = RESOURCE_PATH.match(path[: -len("/resources")])
            return 200, {"value": self._list(filter_=query.get("$filter", ""),
                                             group=rg["rg"] if rg else None, groups=False)}, {}
        match = RESOURCE_PATH.match(path)
        if not match:
            raise ArmError(404, "NoRegisteredProviderFound", f"No route for {method} {path}")
        return self._resource(method, match, path, query, body)

    def _location(self, location: str, what: str) -> dict[str, Any]:
        """A region's VM sizes or its vCPU usage against the quota."""
        if what.lower() == "vmsizes":
            return {"value": [{"name": name, "numberOfCores": cores, "memoryInMB": memory,
                               "maxDataDiskCount": 8, "osDiskSizeInMB": 1047552,
                               "resourceDiskSizeInMB": 0} for name, (cores, memory) in VM_SIZES.items()]}
        used = sum(VM_SIZES[vm["properties"]["hardwareProfile"]["vmSize"]][0]
                   for vm in self.find("Microsoft.Compute/virtualMachines")
                   if vm["location"] == location)
        limit = self.faults.core_quota if self.faults.core_quota is not None else DEFAULT_CORE_LIMIT
        return {"value": [{"unit": "Count", "currentValue": used, "limit": limit,
                           "name": {"value": "cores", "localizedValue": "Total Regional vCPUs"}}]}

    def retail_prices(self, filter_: str) -> dict[str, Any]:
        """prices.azure.com/api/retail/prices with an OData `$filter` of `eq` terms."""
        wanted = dict(re.findall(r"(\w+) eq '([^']*)'", filter_))
        items = []
        for sku, prices in RETAIL_PRICES.items():
            short = sku.removeprefix("Standard_").replace("_", " ")
            for price, suffix in zip(prices, ("", " Spot"), strict=True):
                item = {
                    "currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": price,
                    "unitPrice": price, "armRegionName": "westus", "location": "US West",
                    "effectiveStartDate": "2025-01-01T00:00:00Z", "meterId": str(uuid.uuid5(
                        uuid.NAMESPACE_URL, sku + suffix)), "meterName": short + suffix,
                    "productId": "DZH318Z0BQ4W", "skuId": "DZH318Z0BQ4W/00G9",
                    "productName": f"Virtual Machines {short.split()[0][0]}s Series",
                    "skuName": short + suffix, "serviceName": "Virtual Machines",
                    "serviceId": "DZH313Z7MMC8", "serviceFamily": "Compute",
                    "unitOfMeasure": "1 Hour", "type": "Consumption", "priceType": "Consumption",
                    "isPrimaryMeterRegion": True, "armSkuName": sku,
                }
                if all(str(item.get(k)) == v for k, v in wanted.items()):
                    items.append(item)
        return {"BillingCurrency": "USD", "CustomerEntityId": "Default",
                "CustomerEntityType": "Retail", "Items": items, "NextPageLink": None,
                "Count": len(items)}

    def _list(self, type_: str = "", filter_: str = "", group: str | None = None,
              groups: bool = True) -> list[dict[str, Any]]:
        tag = re.search(r"tagName eq '([^']*)'(?: and tagValue eq '([^']*)')?", filter_)
        rtype = re.search(r"resourceType eq '([^']*)'", filter_)
        with self.lock:
            out = []
            for resource in self.resources.values():
                kind = resource["type"].lower()
                if type_ and kind != type_.lower():
                    continue
                if not groups and kind == "microsoft.resources/resourcegroups":
                    continue
                if "/subnets" in resource["id"].lower():  # children are not listed as resources
                    continue
                if kind == DEPLOYMENTS:  # deployments are not resources of the group
                    continue
                tags = resource.get("tags") or {}
                if tag and (tag[1] not in tags or (tag[2] is not None and tags[tag[1]] != tag[2])):
                    continue
                if rtype and kind != rtype[1].lower():
                    continue
                if group and f"/resourcegroups/{group.lower()}/" not in resource["id"].lower():
                    continue
                out.append(self._public(resource))
            return out

    def _public(self, resource: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps(resource))

    def _resource(self, method: str, match: re.Match, path: str, query: dict[str, str],
                  body: Any) -> tuple[int, Any, dict]:
        if match["ns"] is None:  # the resource group itself
            return self._group(method, match, body)
        group_id = f"/subscriptions/{match['sub']}/resourceGroups/{match['rg']}".lower()
        if group_id not in self.resources:
            raise _group_not_found(match["rg"])
        type_ = f"{match['ns']}/{match['type']}"
        if match["name"] is None:
            if method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"{method} on a collection")
            found = self._list(type_=type_, group=match["rg"])
            is_vm = type_.lower() == "microsoft.compute/virtualmachines"
            if query.get("$expand") == "instanceView" and is_vm:
                for vm in found:
                    vm["properties"]["instanceView"] = _instance_view(vm)
            return 200, {"value": found}, {}
        if match["child"] and match["childname"] is None:  # an action, e.g. simulateEviction
            return self._action(method, path.rsplit("/", 1)[0], match["child"])
        if match["child"]:
            type_ = f"{type_}/{match['child']}"
        rid = path
        key = rid.lower()
        if method == "GET":
            with self.lock:
                resource = self.resources.get(key)
                if resource is None:
                    raise ArmError(404, "ResourceNotFound", f"The Resource '{type_}/{match['name']}' "
                                   f"under resource group '{match['rg']}' was not found.")
                out = self._public(resource)
            is_vm = type_.lower() == "microsoft.compute/virtualmachines"
            if query.get("$expand") == "instanceView" and is_vm:
                out["properties"]["instanceView"] = _instance_view(out)
            return 200, out, {}
        if method == "PUT" and type_.lower() == DEPLOYMENTS:
            return self._deploy(rid, match, body)
        if method == "PUT":
            return self._put(rid, type_, match, body)
        if method == "DELETE":
            return self._delete(rid)
        if method == "PATCH":
            return self._patch(rid, body)
        raise ArmError(405, "MethodNotAllowed", f"{method} {path}")

    def _group(self, method: str, match: re.Match, body: Any) -> tuple[int, Any, dict]:
        rid = f"/subscriptions/{match['sub']}/resourceGroups/{match['rg']}"
        key = rid.lower()
        with self.lock:
            if method == "GET":
                if key not in self.resources:
                    raise _group_not_found(match["rg"])
                return 200, self._public(self.resources[key]), {}
            if method == "HEAD":
                return (204 if key in self.resources else 404), None, {}
            if method == "PUT":
                existed = key in self.resources
                self.resources[key] = {
                    "id": rid, "name": match["rg"], "type": "Microsoft.Resources/resourceGroups",
                    "location": _require(body, "location"), "tags": body.get("tags") or {},
                    "properties": {"provisioningState": "Succeeded"},
                }
                return (200 if existed else 201), self._public(self.resources[key]), {}
            if method == "DELETE":
                if key not in self.resources:
                    return 204, None, {}
                for other in [k for k in self.resources if k.startswith(key + "/")]:
                    del self.resources[other]
                    self.serial.pop(other, None)
                del self.resources[key]
                return 202, None, self._location_operation()
        raise ArmError(405, "MethodNotAllowed", method)

    def _put(self, rid: str, type_: str, match: re.Match, body: Any) -> tuple[int, Any, dict]:
        model = MODEL_OF.get(type_.lower())
        if model is None:
            raise ArmError(400, "InvalidResourceType", f"The resource type '{type_}' is not served")
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid")
        _parse_as(model, body)
        is_vm = type_.lower() == "microsoft.compute/virtualmachines"
        if is_vm:
            with self.lock:
                self.stats.vm_puts_in_flight += 1
                self.stats.max_vm_puts_in_flight = max(self.stats.max_vm_puts_in_flight,
                                                       self.stats.vm_puts_in_flight)
        try:
            if is_vm:
                time.sleep(self.faults.latency)  # VM creation is the slow call: show overlap
            with self.lock:
                existing = self.resources.get(rid.lower())
                name = match["childname"] or match["name"]
                resource = {
                    "id": rid, "name": name, "type": type_, "location": body.get("location", ""),
                    "tags": body.get("tags") or {}, "properties": dict(body.get("properties") or {}),
                }
                for extra in ("zones", "sku"):
                    if extra in body:
                        resource[extra] = body[extra]
                if type_.lower() != "microsoft.network/virtualnetworks/subnets" and not resource["location"]:
                    raise ArmError(400, "LocationRequired", "The location property is required.")
                CHECKS[type_.lower()](self, resource, existing)
                resource["properties"]["provisioningState"] = "Succeeded"
                self.resources[rid.lower()] = resource
                answer = self._public(resource)
        finally:
            if is_vm:
                with self.lock:
                    self.stats.vm_puts_in_flight -= 1
        answer["properties"]["provisioningState"] = "Updating" if existing else "Creating"
        created = 202 if type_.lower() in ACCEPTED_ON_CREATE else 201
        return (200 if existing else created), answer, self._async_operation()

    def _deploy(self, rid: str, match: re.Match, body: Any) -> tuple[int, Any, dict]:
        """A template deployment (Incremental): the template's resources PUT in dependency
        order, each checked as its own PUT would be; the first refusal fails the deployment
        with ARM's DeploymentFailed and that resource's error in `details`."""
        props = _require(body, "properties")
        if props.get("mode") != "Incremental":
            raise ArmError(400, "InvalidDeploymentMode", "Only Incremental mode is served.")
        group_id = f"/subscriptions/{match['sub']}/resourceGroups/{match['rg']}"
        try:
            planned = arm_templates.expand(_require(props, "template"), props.get("parameters") or {},
                                           group_id)
        except arm_templates.TemplateError as err:
            raise ArmError(400, err.code, err.message) from None
        def put(item: arm_templates.Planned) -> ArmError | None:
            resource_id, type_, resource = item
            found = RESOURCE_PATH.match(resource_id)
            if found is None:
                return ArmError(400, "InvalidTemplate", f"bad resource id {resource_id}")
            try:
                self._put(resource_id, type_, found, resource)
            except ArmError as err:
                return err
            return None

        made, failures = [], []
        with ThreadPoolExecutor(max_workers=16) as pool:  # a wave's resources at once, as ARM
            for wave in planned:
                results = list(pool.map(put, wave))
                made += [{"id": item[0]} for item, err in zip(wave, results, strict=True) if not err]
                failures = [err for err in results if err is not None]
                if failures:
                    break
        error = {"code": "DeploymentFailed", "message": "At least one resource deployment "
                 "operation failed. Please list deployment operations for details.",
                 "details": [{"code": e.code, "message": e.message} for e in failures]
                 } if failures else None
        deployment = {"id": rid, "name": match["name"], "type": "Microsoft.Resources/deployments",
                      "properties": {"mode": "Incremental", "outputResources": made,
                                     "provisioningState": "Failed" if error else "Succeeded",
                                     "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
        with self.lock:
            self.resources[rid.lower()] = deployment
            answer = self._public(deployment)
            self.operations[op := uuid.uuid4().hex] = {"polls": 0, "kind": "async", "error": error}
        answer["properties"]["provisioningState"] = "Running"
        url = f"{self.endpoint}/subscriptions/{self.subscription}/providers/Microsoft.Fake/operations/{op}"
        return 201, answer, {"Azure-AsyncOperation": url, **_retry_after(POLL_SECONDS)}

    def _patch(self, rid: str, body: Any) -> tuple[int, Any, dict]:
        """Update: tags replaced when given, properties merged (as for disks)."""
        with self.lock:
            resource = self.resources.get(rid.lower())
            if resource is None:
                raise ArmError(404, "ResourceNotFound", f"{rid} was not found.")
            if "tags" in body:
                resource["tags"] = body["tags"] or {}
            resource["properties"].update(body.get("properties") or {})
            return 200, self._public(resource), self._async_operation()

    def _delete(self, rid: str) -> tuple[int, Any, dict]:
        with self.lock:
            resource = self.resources.get(rid.lower())
            if resource is None:
                return 204, None, {}
            kind = resource["type"].lower()
            props = resource["properties"]
            if kind == "microsoft.compute/disks" and resource.get("managedBy"):
                raise ArmError(409, "OperationNotAllowed", f"Disk {resource['name']} is attached to VM "
                               f"{resource['managedBy']}.")
            if kind == "microsoft.network/networkinterfaces" and props.get("virtualMachine"):
                raise ArmError(400, "NicInUse", f"Network Interface {rid} is used by existing resource "
                               f"{props['virtualMachine']['id']}.")
            if kind in ("microsoft.network/publicipaddresses", "microsoft.network/natgateways"):
                users = [r["id"] for r in self.resources.values()
                         if r["type"].lower() in ("microsoft.network/natgateways",
                                                  "microsoft.network/virtualnetworks/subnets")
                         and r["id"].lower() != rid.lower()
                         and rid.lower() in json.dumps(r["properties"]).lower()]
                if users:
                    raise ArmError(400, "InUseByNatGatewayOrSubnet", f"{rid} is in use by {users[0]}")
            if kind in ("microsoft.network/publicipaddresses", "microsoft.network/networksecuritygroups",
                        "microsoft.network/virtualnetworks"):
                users = [r["id"] for r in self.resources.values()
                         if r["type"].lower() == "microsoft.network/networkinterfaces"
                         and rid.lower() in json.dumps(r["properties"]).lower()]
                if users:
                    raise ArmError(400, "InUseByNetworkInterface", f"{rid} is in use by {users[0]}")
            if kind == "microsoft.compute/virtualmachines":
                self._remove_vm(resource)
            else:
                for child in [k for k in self.resources if k.startswith(rid.lower() + "/")]:
                    del self.resources[child]
                del self.resources[rid.lower()]
        return 202, None, self._location_operation()

    def _remove_vm(self, vm: dict[str, Any]) -> None:
        """Azure's VM delete: the OS disk goes when its deleteOption says so, data disks detach."""
        props = vm["properties"]
        storage = props.get("storageProfile", {})
        os_disk = storage.get("osDisk", {})
        disk_id = (os_disk.get("managedDisk") or {}).get("id", "")
        if os_disk.get("deleteOption") == "Delete":
            self.resources.pop(disk_id.lower(), None)
        elif disk_id.lower() in self.resources:
            _set_owner(self.resources[disk_id.lower()], None)
        for data in storage.get("dataDisks", []):
            disk = self.resources.get(data["managedDisk"]["id"].lower())
            if disk:
                _set_owner(disk, None)
        for ref in props.get("networkProfile", {}).get("networkInterfaces", []):
            nic = self.resources.get(ref["id"].lower())
            if nic:
                nic["properties"].pop("virtualMachine", None)
        del self.resources[vm["id"].lower()]
        self.serial.pop(vm["id"].lower(), None)

    def _action(self, method: str, rid: str, action: str) -> tuple[int, Any, dict]:
        if method == "POST" and action.lower() == "retrievebootdiagnosticsdata":
            return self._boot_diagnostics(rid)
        if method != "POST" or action.lower() != "simulateeviction":
            raise ArmError(404, "NoRegisteredProviderFound", f"No route for {method} {rid}/{action}")
        with self.lock:
            vm = self.resources.get(rid.lower())
            if vm is None:
                raise ArmError(404, "ResourceNotFound", f"{rid} was not found.")
            if vm["properties"].get("priority") != "Spot":
                raise ArmError(409, "OperationNotAllowed", "Eviction can be simulated only for Spot VMs.")
            if vm["properties"].get("evictionPolicy") == "Delete":
                self._remove_vm(vm)
            else:
                vm["properties"]["powerState"] = "deallocated"
        return 204, None, {}

    def _boot_diagnostics(self, rid: str) -> tuple[int, Any, dict]:
        """SAS URLs of the VM's screenshot and serial log (managed boot diagnostics only)."""
        with self.lock:
            vm = self.resources.get(rid.lower())
            if vm is None:
                raise ArmError(404, "ResourceNotFound", f"{rid} was not found.")
            diagnostics = vm["properties"].get("diagnosticsProfile", {}).get("bootDiagnostics", {})
            if not diagnostics.get("enabled"):
                raise ArmError(409, "OperationNotAllowed", "Boot diagnostics is not enabled on this VM.")
            signature = uuid.uuid4().hex
            self.sas[signature] = rid.lower()
        blob = f"{self.endpoint}/_bootdiagnostics/{vm['properties']['vmId']}"
        return 200, {"consoleScreenshotBlobUri": f"{blob}/screenshot.bmp?sig={signature}",
                     "serialConsoleLogBlobUri": f"{blob}/serial.log?sig={signature}"}, {}

    # ---- long-running operations ------------------------------------------------------------------
    def _new_operation(self, kind: str) -> str:
        op = uuid.uuid4().hex
        self.operations[op] = {"polls": 0, "kind": kind}
        return f"{self.endpoint}/subscriptions/{self.subscription}/providers/Microsoft.Fake/operations/{op}"

    def _async_operation(self) -> dict[str, str]:
        return {"Azure-AsyncOperation": self._new_operation("async"), **_retry_after(POLL_SECONDS)}

    def _location_operation(self) -> dict[str, str]:
        return {"Location": self._new_operation("location"), **_retry_after(POLL_SECONDS)}

    def _operation(self, op: str) -> tuple[int, Any, dict]:
        with self.lock:
            state = self.operations.get(op)
            if state is None:
                raise ArmError(404, "OperationNotFound", op)
            state["polls"] += 1
            done = state["polls"] > 1
        if state["kind"] == "location":
            return (200, None, {}) if done else (202, None, {**_retry_after(POLL_SECONDS)})
        if done and state.get("error"):
            return 200, {"status": "Failed", "error": state["error"]}, {}
        return 200, {"status": "Succeeded" if done else "InProgress"}, {**_retry_after(POLL_SECONDS)}

    def _address(self) -> str:
        self._next_ip += 1
        return f"10.0.{self._next_ip // 250}.{self._next_ip % 250 + 4}"

    def blob_size(self, url: str) -> int:
        """Size of a page blob in Azurite holding a VHD (footer checked), as Import reads it."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.storage.blob import BlobClient

        for endpoint, key in self.storage.values():
            if url.startswith(endpoint + "/"):
                account = endpoint.rsplit("/", 1)[1]
                blob = BlobClient.from_blob_url(url, credential={"account_name": account, "account_key": key})
                try:
                    props = blob.get_blob_properties()
                except ResourceNotFoundError:
                    raise ArmError(400, "InvalidParameter", f"The source blob {url} is not found.") from None
                if props.blob_type != "PageBlob" or props.size % 512:
                    raise ArmError(400, "InvalidParameter", f"{url} is not a page blob with a VHD footer")
                footer = blob.download_blob(offset=props.size - 512, length=512).readall()
                if not footer.startswith(b"conectix"):
                    raise ArmError(400, "InvalidParameter", f"{url} has no VHD footer")
                return props.size - 512
        raise ArmError(400, "InvalidParameter", f"The source blob {url} is not in a known storage account.")


# ---- per-type checks: what ARM would refuse, and the read-only fields it fills -----------------------
def _group_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def _require(body: Any, *keys: str) -> Any:
    value = body
    for key in keys:
        if not isinstance(value, dict) or value.get(key) in (None, "", []):
            raise ArmError(400, "InvalidParameter", f"Required parameter '{'.'.join(keys)}' is missing.")
        value = value[key]
    return value


def _exists(fake: ArmFake, rid: str, what: str) -> dict[str, Any]:
    resource = fake.resources.get(rid.lower())
    if resource is None:
        raise ArmError(404, "NotFound", f"{what} {rid} was not found.")
    return resource


def _parse_as(model: type, body: dict[str, Any], where: str = "") -> None:
    """Every key of the body must be a field of the SDK's model, recursively: an unknown field
    is refused as ARM refuses it."""
    instance = model(body)
    fields = {f._rest_name: attr for attr, f in instance._attr_to_rest_field.items()}
    for key, value in body.items():
        if key not in fields:
            raise ArmError(400, "InvalidRequestContent",
                           f"Could not find member '{key}' on object of type '{model.__name__}'{where}")
        nested = getattr(instance, fields[key])
        if isinstance(value, dict) and hasattr(nested, "_attr_to_rest_field"):
            _parse_as(type(nested), value, f" in {key}")
        elif isinstance(value, list) and nested and hasattr(nested[0], "_attr_to_rest_field"):
            for item in value:
                _parse_as(type(nested[0]), item, f" in {key}")


def _check_subnet_refs(fake: ArmFake, props: dict[str, Any]) -> None:
    if props.get("natGateway"):
        _exists(fake, props["natGateway"]["id"], "NAT gateway")
    if props.get("networkSecurityGroup"):
        _exists(fake, props["networkSecurityGroup"]["id"], "Network security group")


def _check_vnet(fake: ArmFake, res: dict[str, Any], _: Any) -> None:
    _require(res["properties"], "addressSpace", "addressPrefixes")
    for subnet in res["properties"].get("subnets", []):
        _check_subnet_refs(fake, subnet.get("properties") or {})
    for subnet in res["properties"].get("subnets", []):
        sid = f"{res['id']}/subnets/{subnet['name']}"
        subnet["id"] = sid
        subnet.setdefault("properties", {})["provisioningState"] = "Succeeded"
        fake.resources[sid.lower()] = {"id": sid, "name": subnet["name"], "type":
                                       "Microsoft.Network/virtualNetworks/subnets",
                                       "properties": subnet["properties"], "tags": {}}


def _check_subnet(fake: ArmFake, res: dict[str, Any], _: Any) -> None:
    _require(res["properties"], "addressPrefix")
    _check_subnet_refs(fake, res["properties"])
    vnet = _exists(fake, res["id"].rsplit("/subnets/", 1)[0], "Virtual network")
    subnets = [s for s in vnet["properties"].setdefault("subnets", []) if s["name"] != res["name"]]
    vnet["properties"]["subnets"] = [*subnets, {"id": res["id"], "name": res["name"],
                                                "properties": res["properties"]}]


def _check_nsg(fake: ArmFake, res: dict[str, Any], _: Any) -> None:
    for rule in res["properties"].get("securityRules", []):
        for key in ("protocol", "access", "direction", "priority", "destinationPortRange"):
            _require(rule.get("properties"), key)
        rule["id"] = f"{res['id']}/securityRules/{rule['name']}"


def _check_public_ip(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    old = (existing or {}).get("properties", {}).get("ipAddress")
    res["properties"]["ipAddress"] = old or f"198.51.100.{len(fake.resources) % 250 + 1}"  # TEST-NET-2


def _check_nat_gateway(fake: ArmFake, res: dict[str, Any], _: Any) -> None:
    """Azure's NAT gateway: Standard SKU, outbound through Standard static public addresses."""
    if (res.get("sku") or {}).get("name") != "Standard":
        raise ArmError(400, "InvalidParameter", "NAT gateway sku must be Standard.")
    addresses = res["properties"].get("publicIpAddresses") or []
    if not addresses:
        raise ArmError(400, "NatGatewayWithoutPublicIp", "A NAT gateway needs a public IP address.")
    for ref in addresses:
        address = _exists(fake, ref["id"], "Public IP address")
        if (address.get("sku") or {}).get("name") != "Standard" or \
                address["properties"].get("publicIPAllocationMethod") != "Static":
            raise ArmError(400, "NatGatewayPublicIpNotStandardStatic",
                           f"{ref['id']} must be a Standard static public IP address.")


def _check_nic(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    configs = _require(res["properties"], "ipConfigurations")
    for config in configs:
        props = config.setdefault("properties", {})
        _exists(fake, _require(props, "subnet", "id"), "Subnet")
        if props.get("publicIPAddress"):
            _exists(fake, props["publicIPAddress"]["id"], "Public IP address")
        old = (existing or {}).get("properties", {}).get("ipConfigurations", [{}])[0]
        props["privateIPAddress"] = old.get("properties", {}).get("privateIPAddress") or fake._address()
        config["id"] = f"{res['id']}/ipConfigurations/{config['name']}"
    if res["properties"].get("networkSecurityGroup"):
        _exists(fake, res["properties"]["networkSecurityGroup"]["id"], "Network security group")
    if existing and existing["properties"].get("virtualMachine"):
        res["properties"]["virtualMachine"] = existing["properties"]["virtualMachine"]


def _check_vm(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    props = res["properties"]
    size = _require(props, "hardwareProfile", "vmSize")
    if size not in VM_SIZES:
        raise ArmError(409, "SkuNotAvailable", f"The requested VM size {size} is not available in location "
                       f"'{res['location']}'.")
    if props.get("priority") == "Spot" and not props.get("evictionPolicy"):
        raise ArmError(400, "InvalidParameter", "evictionPolicy is required for Spot priority VMs.")
    if props.get("priority") != "Spot" and props.get("billingProfile"):
        raise ArmError(400, "InvalidParameter", "billingProfile is allowed only for Spot priority VMs.")
    storage = _require(props, "storageProfile")
    quota = fake.faults.core_quota
    if existing is None and quota is not None:
        used = sum(VM_SIZES[vm["properties"]["hardwareProfile"]["vmSize"]][0]
                   for vm in fake.find("Microsoft.Compute/virtualMachines"))
        if used + VM_SIZES[size][0] > quota:
            raise ArmError(409, "OperationNotAllowed", "Operation could not be completed as it results in "
                           f"exceeding approved Total Regional Cores quota. Location: {res['location']}, "
                           f"Current Limit: {quota}, Current Usage: {used}, "
                           f"Additional Required: {VM_SIZES[size][0]}.")
    if existing is None:
        os_profile = _require(props, "osProfile")
        keys = _require(os_profile, "linuxConfiguration", "ssh", "publicKeys")
        if not all(k.get("keyData", "").startswith("ssh-") for k in keys):
            raise ArmError(400, "InvalidParameter", "The value of parameter keyData is invalid.")
        try:
            if len(os_profile.get("customData", "")) > 87380:
                raise ValueError
            base64.b64decode(os_profile.get("customData", ""), validate=True)
        except (ValueError, binascii.Error):
            raise ArmError(400, "InvalidParameter", "customData must be base64, at most 64 KB") from None
        image = _require(storage, "imageReference")
        if image.get("id"):
            _exists(fake, image["id"], "Image")
        else:
            for key in ("publisher", "offer", "sku"):
                _require(image, key)
        os_disk = storage.setdefault("osDisk", {"createOption": "FromImage"})
        group_id = res["id"].split("/providers/")[0]
        disk_id = f"{group_id}/providers/Microsoft.Compute/disks/{res['name']}_OsDisk"
        os_disk["managedDisk"] = {"id": disk_id}
        os_disk.setdefault("name", f"{res['name']}_OsDisk")
        fake.resources[disk_id.lower()] = {
            "id": disk_id, "name": f"{res['name']}_OsDisk", "type": "Microsoft.Compute/disks",
            "location": res["location"], "tags": {},
            "managedBy": res["id"],
            "properties": {"diskSizeGB": 30, "diskState": "Attached",
                           "creationData": {"createOption": "FromImage"}, "provisioningState": "Succeeded"},
        }
        props["vmId"] = str(uuid.uuid4())
        # Write-only, as in ARM; kept aside so tests can read what the VM would boot with.
        fake.custom_data[res["id"].lower()] = base64.b64decode(props["osProfile"].pop("customData", ""))
    else:
        old = existing["properties"]
        storage["osDisk"] = old["storageProfile"]["osDisk"]
        storage["imageReference"] = old["storageProfile"]["imageReference"]
        props["vmId"] = old["vmId"]
    _attach_data_disks(fake, res, existing)
    for ref in _require(props, "networkProfile", "networkInterfaces"):
        nic = _exists(fake, ref["id"], "Network interface")
        owner = nic["properties"].get("virtualMachine", {}).get("id")
        if owner and owner.lower() != res["id"].lower():
            raise ArmError(400, "NicInUse", f"Network Interface {ref['id']} is used by existing VM {owner}.")
        nic["properties"]["virtualMachine"] = {"id": res["id"]}


def _attach_data_disks(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    new = res["properties"]["storageProfile"].setdefault("dataDisks", [])
    luns = [d.get("lun") for d in new]
    if len(set(luns)) != len(luns) or any(not isinstance(n, int) or not 0 <= n <= 63 for n in luns):
        raise ArmError(400, "InvalidParameter", "Data disk LUNs must be distinct numbers 0-63.")
    wanted = {_require(d, "managedDisk", "id").lower() for d in new}
    for data in new:
        disk = _exists(fake, data["managedDisk"]["id"], "Disk")
        owner = disk.get("managedBy")
        if owner and owner.lower() != res["id"].lower():
            raise ArmError(409, "OperationNotAllowed", f"Disk {disk['name']} is already attached to {owner}.")
        _set_owner(disk, res["id"])
        data.setdefault("name", disk["name"])
        data["diskSizeGB"] = disk["properties"]["diskSizeGB"]
    old = (existing or {}).get("properties", {}).get("storageProfile", {}).get("dataDisks", [])
    for data in old:
        if data["managedDisk"]["id"].lower() not in wanted:
            disk = fake.resources.get(data["managedDisk"]["id"].lower())
            if disk:
                _set_owner(disk, None)


def _set_owner(disk: dict[str, Any], vm_id: str | None) -> None:
    """`managedBy` is a top-level field of a disk, the state one of its properties."""
    if vm_id:
        disk["managedBy"] = vm_id
    else:
        disk.pop("managedBy", None)
    disk["properties"]["diskState"] = "Attached" if vm_id else "Unattached"


def _creation_size(fake: ArmFake, res: dict[str, Any]) -> int:
    creation = _require(res["properties"], "creationData")
    option = _require(creation, "createOption")
    if option == "Empty":
        return int(_require(res["properties"], "diskSizeGB"))
    if option == "Import":
        _exists(fake, _require(creation, "storageAccountId"), "Storage account")
        size = fake.blob_size(_require(creation, "sourceUri"))
        return max(1, -(-size // GIB))
    if option == "Copy":
        source = _exists(fake, _require(creation, "sourceResourceId"), "Source")
        return int(source["properties"]["diskSizeGB"])
    raise ArmError(400, "InvalidParameter", f"createOption {option} is not supported here")


def _check_disk(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    if existing:
        res["properties"] = {**existing["properties"], **res["properties"]}
        if existing.get("managedBy"):
            res["managedBy"] = existing["managedBy"]
        return
    size = _creation_size(fake, res)
    requested = res["properties"].get("diskSizeGB")
    if requested is not None and int(requested) < size:
        raise ArmError(400, "InvalidParameter", f"diskSizeGB {requested} is smaller than the source ({size})")
    res["properties"].update(diskSizeGB=int(requested or size), diskState="Unattached",
                             timeCreated=time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    res.setdefault("sku", {"name": "Standard_LRS"})


def _check_snapshot(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    if res["properties"].get("creationData", {}).get("createOption") != "Copy":
        raise ArmError(400, "InvalidParameter", "Snapshots are made with createOption Copy here")
    res["properties"].update(diskSizeGB=_creation_size(fake, res), diskState="Unattached")


def _check_image(fake: ArmFake, res: dict[str, Any], existing: Any) -> None:
    os_disk = _require(res["properties"], "storageProfile", "osDisk")
    _require(os_disk, "osType")
    fake.blob_size(_require(os_disk, "blobUri"))


CHECKS = {
    "microsoft.network/virtualnetworks": _check_vnet,
    "microsoft.network/virtualnetworks/subnets": _check_subnet,
    "microsoft.network/networksecuritygroups": _check_nsg,
    "microsoft.network/publicipaddresses": _check_public_ip,
    "microsoft.network/natgateways": _check_nat_gateway,
    "microsoft.network/networkinterfaces": _check_nic,
    "microsoft.compute/virtualmachines": _check_vm,
    "microsoft.compute/disks": _check_disk,
    "microsoft.compute/snapshots": _check_snapshot,
    "microsoft.compute/images": _check_image,
}


def _instance_view(vm: dict[str, Any]) -> dict[str, Any]:
    power = vm["properties"].get("powerState", "running")
    return {"statuses": [{"code": "ProvisioningState/succeeded", "level": "Info"},
                         {"code": f"PowerState/{power}", "level": "Info"}]}


def _retry_after(seconds: float) -> dict[str, str]:
    if seconds >= 1:
        return {"Retry-After": str(int(seconds))}
    return {"retry-after-ms": str(max(1, int(seconds * 1000)))}


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    def _answer(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _blob(self, text: str | None) -> None:
        """A blob read with its SAS URL (no bearer token): the bytes, or Blob storage's 403."""
        if text is None:
            return self._answer(403, {"error": {"code": "AuthenticationFailed",
                                                "message": "Signature did not match."}}, {})
        data = text.encode()
        self.send_response(200)
        for key, value in {"Content-Type": "text/plain", "Content-Length": str(len(data)),
                           "x-ms-blob-type": "BlockBlob"}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        fake: ArmFake = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            parts = url.path.strip("/").split("/")
            if url.path.endswith("/v2.0/.well-known/openid-configuration"):
                return self._answer(200, fake.openid_configuration(parts[0]), {})
            if url.path.endswith("/oauth2/v2.0/token"):
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                return self._answer(200, fake.issue_token(parts[0], form), {})
            if url.path.startswith("/_bootdiagnostics/") and url.path.endswith("/serial.log"):
                return self._blob(fake.serial_log(query.get("sig", "")))
            fake.stats.requests.append((self.command, url.path))
            if url.path == "/api/retail/prices":  # public, no token (as prices.azure.com)
                return self._answer(200, fake.retail_prices(query.get("$filter", "")), {})
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
                raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")
            with fake.lock:
                throttled = fake.faults.throttle > 0 and fake.faults.throttle_method in ("", self.command)
                if throttled:
                    fake.faults.throttle -= 1
                    fake.stats.throttled += 1
                chaos, wait = fake.faults.chaos()
                fake.stats.chaos_failed += chaos != 0
            if throttled or chaos == 429:
                return self._answer(429, {"error": {"code": "TooManyRequests", "message":
                                                    "The request is being throttled."}},
                                    _retry_after(fake.faults.retry_after))
            if chaos:
                raise ArmError(500, "InternalServerError", "An internal error occurred.")
            time.sleep(wait)
            body = json.loads(raw) if raw else None
            self._answer(*fake.arm(self.command, url.path, query, body))
        except ArmError as err:
            self._answer(err.status, {"error": {"code": err.code, "message": err.message}}, {})
        except json.JSONDecodeError:
            self._answer(400, {"error": {"code": "InvalidRequestContent", "message": "bad JSON"}}, {})

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _handle
