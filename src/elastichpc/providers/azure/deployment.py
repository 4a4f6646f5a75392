"""A launch's NICs, the head's public address and the VMs in ONE ARM template deployment: a
copy loop per batch of alike nodes (compute nodes share one boot script), so the client makes
one PUT and a few polls whatever the number of nodes, where one VM at a time made 12 calls
per node. Resource Manager creates the loop's resources in parallel itself.

The deployment goes through the SDK client's own pipeline (`send_request`: sign-in, retries,
the CA bundle), as azure-mgmt-resource no longer ships the deployments operations.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from ...errors import PrerequisiteError, ProviderError
from ..base import NodePlan
from .clients import QUOTA_CODES, AzureClients
from .vms import node_tags, vm_body

API_VERSION = "2022-09-01"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MAX_NODES = 400  # a deployment holds at most 800 resources: a NIC and a VM per node
TIMEOUT = 3600.0


@dataclass
class Batch:
    """Alike consecutive nodes: `<prefix><first>` .. `<prefix><first+count-1>` (or one name)."""

    plans: list[NodePlan]
    prefix: str
    first: int

    @property
    def numbered(self) -> bool:
        return self.first >= 0


def batches(plans: list[NodePlan]) -> list[Batch]:
    out: list[Batch] = []
    for plan in plans:
        found = re.fullmatch(r"(.*?)(\d+)", plan.name)
        last = out[-1] if out else None
        if (last is not None and last.numbered and found and found[1] == last.prefix
                and int(found[2]) == last.first + len(last.plans)
                and len(last.plans) < MAX_NODES and _alike(last.plans[0], plan)):
            last.plans.append(plan)
        elif found and plan.role != "head":
            out.append(Batch([plan], found[1], int(found[2])))
        else:
            out.append(Batch([plan], plan.name, -1))
    return out


def _alike(one: NodePlan, other: NodePlan) -> bool:
    return (one.role, one.instance_type, one.spot, one.public, one.boot_script,
            one.ssh_public_key) == (other.role, other.instance_type, other.spot, other.public,
                                    other.boot_script, other.ssh_public_key)


def template(clients: AzureClients, cluster: str, group_batches: list[Batch], subnet_id: str,
             image: dict[str, Any], user: str, spot_price: float | None
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template, parameter values) creating every batch's nodes."""
    resources: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {}
    for index, batch in enumerate(group_batches):
        plan = batch.plans[0]
        prefix, data = f"b{index}Name", f"b{index}CustomData"
        parameters[prefix] = batch.prefix
        node = (f"concat(parameters('{prefix}'), copyIndex({batch.first}))" if batch.numbered
                else f"parameters('{prefix}')")
        copy = ({"copy": {"name": f"b{index}nics", "count": len(batch.plans)}}
                if batch.numbered else {})
        tags = {k: f"[{node}]" if k == "ehpc-node" else v
                for k, v in node_tags(cluster, plan.role, plan.name, plan.spot).items()}
        region = clients.account.region
        ip_config: dict[str, Any] = {"subnet": {"id": subnet_id},
                                     "privateIPAllocationMethod": "Dynamic"}
        nic_depends = []
        if plan.public:  # the head; compute nodes of a pool away from the head (NodePlan.public)
            address = f"resourceId('Microsoft.Network/publicIPAddresses', concat({node}, '-ip'))"
            resources.append({
                "type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-09-01",
                "name": f"[concat({node}, '-ip')]", "location": region, "tags": tags,
                "sku": {"name": "Standard"},
                "properties": {"publicIPAllocationMethod": "Static"},
                **({"copy": {"name": f"b{index}ips", "count": len(batch.plans)}}
                   if batch.numbered else {}),
            })
            ip_config["publicIPAddress"] = {"id": f"[{address}]"}
            nic_depends.append(f"b{index}ips" if batch.numbered else f"[{address}]")
        nic = f"resourceId('Microsoft.Network/networkInterfaces', concat({node}, '-nic'))"
        resources.append({
            "type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-09-01",
            "name": f"[concat({node}, '-nic')]", "location": region, "tags": tags,
            "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": ip_config}]},
            **({"dependsOn": nic_depends} if nic_depends else {}), **copy,
        })
        body = vm_body(clients, plan, f"[{nic}]", image, user, spot_price, tags)
        parameters[data] = body["properties"]["osProfile"]["customData"]
        body["properties"]["osProfile"].update(computerName=f"[{node}]",
                                               customData=f"[parameters('{data}')]")
        resources.append({
            "type": "Microsoft.Compute/virtualMachines", "apiVersion": "2024-03-01",
            "name": f"[{node}]", **body,
            "dependsOn": [f"b{index}nics"] if batch.numbered else [f"[{nic}]"],
            **({"copy": {"name": f"b{index}vms", "count": len(batch.plans)}}
               if batch.numbered else {}),
        })
    declared = {name: {"type": "string"} for name in parameters}
    return ({"$schema": SCHEMA, "contentVersion": "1.0.0.0", "parameters": declared,
             "resources": resources}, parameters)


def deploy(clients: AzureClients, group: str, name: str, body: tuple[dict[str, Any], dict[str, Any]],
           what: str) -> None:
    """PUT the deployment, follow its operation to the end, delete its record; a failure is
    one line naming the first resource's own error (a quota, a size), not ARM's generic
    DeploymentFailed."""
    from azure.core.rest import HttpRequest

    account = clients.account
    url = (f"{account.arm_endpoint}/subscriptions/{account.subscription}/resourcegroups/"
           f"{group}/providers/Microsoft.Resources/deployments/{name}?api-version={API_VERSION}")
    template_body, values = body
    request = {"properties": {"mode": "Incremental", "template": template_body,
                              "parameters": {k: {"value": v} for k, v in values.items()}}}
    send = clients.resources.send_request
    answer = send(HttpRequest("PUT", url, json=request))
    if answer.status_code not in (200, 201):
        _fail(answer.json().get("error", {}), what)
    try:
        operation = answer.headers.get("Azure-AsyncOperation", "")
        deadline = time.monotonic() + TIMEOUT
        while operation:
            _pause(answer.headers)
            answer = send(HttpRequest("GET", operation))
            state = answer.json()
            if state.get("status") == "Succeeded":
                return
            if state.get("status") in ("Failed", "Canceled"):
                _fail(state.get("error", {}), what)
            if time.monotonic() > deadline:
                raise ProviderError(f"Azure: {what} still running after {TIMEOUT:.0f}s")
    finally:
        # The deployment's record would stay in the group (a user's group is kept at
        # terminate): the resources it made are tagged, the record is not needed.
        send(HttpRequest("DELETE", url))


def _pause(headers: Any) -> None:
    """As long as ARM asks (retry-after-ms, else Retry-After seconds), at most 10 s."""
    millis = headers.get("retry-after-ms")
    seconds = int(millis) / 1000 if millis else float(headers.get("Retry-After") or 2)
    time.sleep(min(seconds, 10.0))


def _fail(error: dict[str, Any], what: str) -> None:
    inner = (error.get("details") or [error])[0]
    code, message = inner.get("code", "?"), " ".join(str(inner.get("message", "")).split())
    kind = PrerequisiteError if code in QUOTA_CODES or "quota" in message.lower() else ProviderError
    raise kind(f"Azure refused {what}: {code}: {message[:300]}")
