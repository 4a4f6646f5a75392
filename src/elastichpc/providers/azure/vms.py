"""Virtual machines: the image, the VM body (custom data, SSH key, Spot), and what a VM looks
like to the rest of ehpc (a Machine)."""

from __future__ import annotations

import base64
from typing import Any

from ...config import Settings
from ...errors import ConfigError
from ..base import TAG, Machine, NodePlan
from . import catalog
from .clients import AzureClients, name_of, resource_group_of

DEFAULT_IMAGE = {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                 "sku": "22_04-lts-gen2", "version": "latest"}
ROLE_TAG, NODE_TAG, SPOT_TAG = "ehpc-role", "ehpc-node", "ehpc-spot"
MAX_CUSTOM_DATA = 64 * 1024


def node_tags(cluster: str, role: str, node: str, spot: bool = False) -> dict[str, str]:
    tags = {TAG: cluster, ROLE_TAG: role, NODE_TAG: node}
    if spot:
        tags[SPOT_TAG] = "true"
    return tags


def image_reference(clients: AzureClients, settings: Settings, group: str, cluster: str) -> dict[str, Any]:
    """[IMAGE] AZURE_IMAGE_ID (an image id, an image name, or publisher:offer:sku:version), else
    an image made from the VHD at AZURE_OS_URL, else Ubuntu 22.04."""
    image = str(settings.get("IMAGE", "AZURE_IMAGE_ID") or "")
    if image.startswith("/subscriptions/"):
        return {"id": image}
    if image.count(":") == 3:
        return dict(zip(("publisher", "offer", "sku", "version"), image.split(":"), strict=True))
    if image:
        for found in clients.resources.resources.list(filter="resourceType eq 'Microsoft.Compute/images'"):
            if found.name == image:
                return {"id": found.id}
        raise ConfigError(f"[IMAGE] AZURE_IMAGE_ID: no image named {image!r} in the subscription "
                          "(give its resource id, a name, or publisher:offer:sku:version)")
    os_url = str(settings.get("IMAGE", "AZURE_OS_URL") or "")
    if not os_url:
        return dict(DEFAULT_IMAGE)
    url = clients.account.blob_url(os_url)
    from .disks import check_vhd

    check_vhd(clients, url)
    made = clients.compute.images.begin_create_or_update(
        group, f"{cluster}-os",
        {"location": clients.account.region, "tags": {TAG: cluster, ROLE_TAG: "image", NODE_TAG: ""},
         "properties": {"storageProfile": {"osDisk": {
             "osType": "Linux", "osState": "Generalized", "blobUri": url, "caching": "ReadWrite"}}}},
    ).result()
    return {"id": made.id}


def vm_body(clients: AzureClients, plan: NodePlan, nic_id: str, image: dict[str, Any], user: str,
            spot_price: float | None, tags: dict[str, str]) -> dict[str, Any]:
    custom = base64.b64encode(plan.boot_script.encode()).decode()
    if len(custom) > MAX_CUSTOM_DATA:
        raise ConfigError(f"{plan.name}: the boot script is {len(custom)} bytes as custom data; "
                          f"Azure takes at most {MAX_CUSTOM_DATA}")
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": catalog.vm_size(plan.instance_type or "Standard_D2s_v5")},
        "storageProfile": {"imageReference": image,
                           "osDisk": {"createOption": "FromImage", "deleteOption": "Delete",
                                      "managedDisk": {"storageAccountType": "StandardSSD_LRS"}}},
        "osProfile": {
            "computerName": plan.name, "adminUsername": user, "customData": custom,
            "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                {"path": f"/home/{user}/.ssh/authorized_keys", "keyData": plan.ssh_public_key.strip()}]}},
        },
        "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]},
        # Managed boot diagnostics keep the serial log, where the CLI reads the host key.
        "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
    }
    if plan.spot:
        properties.update(priority="Spot", evictionPolicy="Delete",
                          billingProfile={"maxPrice": spot_price if spot_price else -1})
    return {"location": clients.account.region, "tags": tags, "properties": properties}


def power_state(vm: Any) -> str:
    """Our state names from the VM's provisioning state and instance view."""
    if (vm.provisioning_state or "").lower() not in ("succeeded", "updating"):
        return "pending"
    codes = [s.code or "" for s in (vm.instance_view.statuses if vm.instance_view else [])]
    power = next((c.split("/", 1)[1] for c in codes if c.startswith("PowerState/")), "running")
    return {"running": "running", "starting": "pending"}.get(power, "stopped")


def to_machine(vm: Any | None, nic: Any, public_ip: str, user: str, outbound_ip: str = "") -> Machine:
    """A node from its NIC (which outlives a Spot eviction) and its VM, when the VM is there."""
    tags = nic.tags or {}
    spot = tags.get(SPOT_TAG) == "true"
    # A Spot VM evicted with policy Delete is gone, but its NIC stays: the node was preempted.
    state = power_state(vm) if vm is not None else "preempted" if spot else "terminated"
    extra = {"nic": nic.id, "resource_group": resource_group_of(nic.id)}
    if outbound_ip:
        extra["outbound_address"] = outbound_ip
    if vm is not None:
        size = vm.hardware_profile.vm_size  # the SDK's enum where it knows the size, else text
        extra["instance_type"] = str(getattr(size, "value", size))
    return Machine(
        name=tags.get(NODE_TAG, name_of(nic.id)),
        role=tags.get(ROLE_TAG, "compute"),
        provider_id=vm.id if vm is not None else "",
        address=public_ip,
        private_address=nic.ip_configurations[0].private_ip_address or "",
        state=state,
        login_user=user,
        spot=spot,
        extra=extra,
    )
