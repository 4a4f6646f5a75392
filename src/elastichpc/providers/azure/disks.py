"""Managed disks and snapshots: empty, imported from a VHD page blob, copied from a snapshot;
attached to a VM on the first free LUN (seen in Linux as /dev/disk/azure/scsi1/lun<N>)."""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError, EhpcError
from ..base import TAG, Disk, Machine, Snapshot
from .clients import AzureClients, account_in_url, name_of, resource_group_of
from .vms import ROLE_TAG

MAX_LUNS = 64
DEFAULT_SKU = "StandardSSD_LRS"
SKUS = {name.lower(): name for name in (
    "Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "PremiumV2_LRS", "UltraSSD_LRS",
    "StandardSSD_ZRS", "Premium_ZRS")}


def lun_device(lun: int) -> str:
    return f"/dev/disk/azure/scsi1/lun{lun}"


def free_lun(used: list[int]) -> int:
    for lun in range(MAX_LUNS):
        if lun not in used:
            return lun
    raise EhpcError(f"no free LUN: the VM already has {MAX_LUNS} data disks")


def check_vhd(clients: AzureClients, url: str) -> int:
    """The VHD's size in bytes; one clear line when it is missing or not a page blob."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        props = clients.blob(url).get_blob_properties()
    except ResourceNotFoundError:
        raise ConfigError(f"VHD {url} does not exist in blob storage") from None
    if props.blob_type != "PageBlob" or props.size % 512:
        raise ConfigError(f"{url} is not a VHD: Azure imports fixed-size VHDs stored as page blobs")
    return int(props.size)


def storage_account_id(clients: AzureClients, url: str) -> str:
    """The storage account holding a VHD: Import needs its resource id."""
    account = clients.account.storage_account or account_in_url(url)
    for found in clients.resources.resources.list(
        filter="resourceType eq 'Microsoft.Storage/storageAccounts'"
    ):
        if found.name == account:
            return str(found.id)
    raise ConfigError(f"[AZURE] STORAGE ACCOUNT {account!r} is not in subscription "
                      f"{clients.account.subscription}")


def creation_data(
    clients: AzureClients, size_gb: int | None, snapshot: str, source_url: str
) -> dict[str, Any]:
    if snapshot:
        return {"createOption": "Copy", "sourceResourceId": find_snapshot(clients, snapshot).id}
    if source_url:
        url = clients.account.blob_url(source_url)
        check_vhd(clients, url)
        return {"createOption": "Import", "sourceUri": url,
                "storageAccountId": storage_account_id(clients, url)}
    if not size_gb:
        raise ConfigError("an empty disk needs a size ([DISK] DISK SIZE or --size)")
    return {"createOption": "Empty"}


def sku(disk_type: str) -> str:
    if not disk_type:
        return DEFAULT_SKU
    if disk_type.lower() not in SKUS:
        raise ConfigError(f"[DISK] DISK_TYPE {disk_type!r} is not an Azure disk type "
                          f"(one of {', '.join(SKUS.values())})")
    return SKUS[disk_type.lower()]


def to_disk(disk: Any) -> Disk:
    owner = disk.managed_by or ""
    luns = (disk.tags or {}).get("ehpc-lun", "")
    return Disk(
        disk_id=disk.id, name=disk.name, size_gb=int(disk.disk_size_gb or 0), zone=disk.location,
        state="in-use" if owner else "available", attached_to=name_of(owner) if owner else "",
        device=lun_device(int(luns)) if owner and luns else "",
        cluster=(disk.tags or {}).get(TAG, ""), extra={"sku": (disk.sku.name if disk.sku else "")},
    )


def to_snapshot(snap: Any) -> Snapshot:
    source = snap.creation_data.source_resource_id if snap.creation_data else ""
    return Snapshot(snap.id, snap.name, source or "", int(snap.disk_size_gb or 0),
                    "completed" if (snap.provisioning_state or "").lower() == "succeeded" else "pending")


def _matches(item: Any, ref: str) -> bool:
    return ref.lower() in (item.id.lower(), item.name.lower())


def find_disk(clients: AzureClients, ref: str) -> Any:
    for disk in clients.compute.disks.list():
        if TAG in (disk.tags or {}) and _matches(disk, ref):
            return disk
    raise EhpcError(f"no Azure disk {ref!r} made by ehpc")


def find_snapshot(clients: AzureClients, ref: str) -> Any:
    for snap in clients.compute.snapshots.list():
        if TAG in (snap.tags or {}) and _matches(snap, ref):
            return snap
    raise EhpcError(f"no Azure snapshot {ref!r} made by ehpc")


def data_disks(clients: AzureClients, cluster: str) -> list[Any]:
    """ehpc's data disks (OS disks left out), of one cluster or all."""
    return [d for d in clients.compute.disks.list()
            if TAG in (d.tags or {}) and (not cluster or d.tags[TAG] == cluster)
            and d.tags.get(ROLE_TAG) != "os"]


def set_data_disks(clients: AzureClients, vm: Any, disks: list[dict[str, Any]]) -> None:
    vm.storage_profile.data_disks = disks
    clients.compute.virtual_machines.begin_create_or_update(
        resource_group_of(vm.id), vm.name, vm).result()


def attach(clients: AzureClients, disk: Any, machine: Machine) -> int:
    vm_id = machine.provider_id
    vm = clients.compute.virtual_machines.get(resource_group_of(vm_id), name_of(vm_id))
    current = list(vm.storage_profile.data_disks or [])
    for data in current:
        if data.managed_disk and data.managed_disk.id.lower() == disk.id.lower():
            return int(data.lun)
    lun = free_lun([int(d.lun) for d in current])
    entry = {"lun": lun, "createOption": "Attach", "caching": "None", "managedDisk": {"id": disk.id}}
    set_data_disks(clients, vm, [*current, entry])
    tag_lun(clients, disk, str(lun))
    return lun


def detach(clients: AzureClients, disk: Any) -> None:
    if not disk.managed_by:
        return
    vm = clients.compute.virtual_machines.get(resource_group_of(disk.managed_by), name_of(disk.managed_by))
    keep = [d for d in (vm.storage_profile.data_disks or [])
            if not (d.managed_disk and d.managed_disk.id.lower() == disk.id.lower())]
    set_data_disks(clients, vm, keep)
    tag_lun(clients, disk, "")


def tag_lun(clients: AzureClients, disk: Any, lun: str) -> None:
    """Remember the LUN on the disk, so a listing can name the device without reading the VM."""
    tags = {k: v for k, v in (disk.tags or {}).items() if k != "ehpc-lun"}
    if lun:
        tags["ehpc-lun"] = lun
    clients.compute.disks.begin_update(resource_group_of(disk.id), disk.name, {"tags": tags}).result()
