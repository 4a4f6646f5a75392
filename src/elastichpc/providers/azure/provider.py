"""AzureProvider: a cluster is a resource group (ours, or the user's [AZURE] RESOURCE GROUP)
holding a network security group, a virtual network, a public address for the head, one NIC
and one VM per node; every resource is tagged `ehpc-cluster=<name>`, `ehpc-role`, `ehpc-node`
and found again through Azure's tag filter."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

from ...config import ClusterSpec
from ...errors import ProviderError
from ..base import TAG, Disk, Machine, NodePlan, Provider, Report, Snapshot, no_report
from ..network import CALLER_ENV, source_cidr
from ..preview import MachineGroup, Preview
from ..sdk import require_sdk
from . import catalog
from . import disks as disk_ops
from .account import check_credentials, warn_retired
from .clients import AzureClients, azure_errors, name_of, resource_group_of
from .deployment import MAX_NODES, Batch, batches, deploy, template
from .networking import ensure_group, ensure_network
from .vms import NODE_TAG, ROLE_TAG, image_reference, node_tags, to_machine

# Delete order for resources left in a group we do not own: what uses a thing goes first.
DELETE_STAGES = (
    ("microsoft.compute/virtualmachines",),
    ("microsoft.network/networkinterfaces", "microsoft.compute/disks", "microsoft.compute/snapshots",
     "microsoft.compute/images"),
    ("microsoft.network/virtualnetworks",),
    ("microsoft.network/natgateways",),
    ("microsoft.network/publicipaddresses", "microsoft.network/networksecuritygroups"),
)
# DefaultAzureCredential's environment sign-in (a service principal's secret), where the client
# signs in so: the head agent signs in the same way.
AGENT_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST")
SDK_MODULES = ("azure.identity", "azure.mgmt.compute", "azure.mgmt.network", "azure.mgmt.resource",
               "azure.storage.blob")


def _node_order(machine: Machine) -> tuple[bool, int, str]:
    number = re.search(r"(\d+)$", machine.name)
    return machine.role != "head", int(number.group(1)) if number else 0, machine.name


class AzureProvider(Provider):
    name = "azure"

    @cached_property
    def clients(self) -> AzureClients:
        return AzureClients(self.settings)

    @property
    def login_user(self) -> str:
        return str(self.settings.get("AZURE", "SSH_USER"))

    def _errors(self, action: str) -> Any:
        return azure_errors(action, self.clients.account.arm_endpoint)

    def check_ready(self, spec: ClusterSpec | None = None) -> None:
        for module in SDK_MODULES:
            require_sdk("Azure", module, "azure")
        warn_retired(self.settings)
        check_credentials(self.settings)
        self.clients  # noqa: B018 - validates SUBSCRIPTION ID, REGION, CA_BUNDLE
        if spec is not None:  # refuse a bad size before anything is made
            for key in ("MASTER TYPE", "INSTANCE TYPE"):
                catalog.vm_size(self.settings.get("AZURE", key))

    def agent_environment(self) -> dict[str, str]:
        # The caller's range, as the client resolved it (a launch checks the cluster's rules),
        # and what the SDK or our endpoints read from the environment here.
        found = {CALLER_ENV: source_cidr(self.settings, self.clients.account.arm_endpoint)}
        found.update({k: v for k, v in os.environ.items() if k in AGENT_ENV or k.startswith("EHPC_AZURE_")})
        return found

    def agent_files(self) -> dict[tuple[str, str], bytes]:
        files = {}
        path, _ = check_credentials(self.settings)
        if path:
            key = "CERT DATA PATH" if self.settings.get("AZURE", "CERT DATA PATH") else "CERTIFICATE PATH"
            files[("AZURE", key)] = Path(path).read_bytes()
        if self.clients.account.ca_bundle:
            files[("AZURE", "CA_BUNDLE")] = Path(self.clients.account.ca_bundle).read_bytes()
        return files

    def agent_keeps(self, path: str) -> bool:
        # The agent calls Azure through the synchronous clients: their asyncio twins are 15 MB.
        parts = path.split("/")
        return not (parts[:2] == ["azure", "mgmt"] and "aio" in parts[3:4])

    def preview(self, spec: ClusterSpec, groups: list[MachineGroup]) -> Preview:
        from .preview import preview

        return preview(self.clients, spec, groups)

    def price(self, spec: ClusterSpec, groups: list[MachineGroup]) -> None:
        from .preview import price

        price(self.clients, groups)

    def _group(self, cluster: str) -> tuple[str, bool]:
        """(resource group, made by us): the user's [AZURE] RESOURCE GROUP is never deleted."""
        user_group = str(self.settings.get("AZURE", "RESOURCE GROUP") or "")
        return (user_group, False) if user_group else (f"ehpc-{cluster}", True)

    # ---- launch ------------------------------------------------------------------------------
    def launch(self, spec: ClusterSpec, plans: list[NodePlan], report: Report) -> list[Machine]:
        clients = self.clients
        group, ours = self._group(spec.name)
        shared_tags = node_tags(spec.name, "network", "")
        source = source_cidr(self.settings, clients.account.arm_endpoint)
        with self._errors(f"creating the network of {spec.name}"):
            ensure_group(clients, group, shared_tags, ours)
            subnet = ensure_network(clients, spec, group, source, shared_tags)
            image = image_reference(clients, self.settings, group, spec.name)
        existing = {m.name for m in self.machines(spec.name) if m.provider_id}
        missing = [p for p in plans if p.name not in existing]
        chunks: list[list[Batch]] = []
        for batch in batches(missing):  # one deployment per MAX_NODES nodes
            if not chunks or sum(len(b.plans) for b in chunks[-1]) + len(batch.plans) > MAX_NODES:
                chunks.append([])
            chunks[-1].append(batch)
        report(f"creating {len(missing)} VMs in {group} ({clients.account.region}) in "
               f"{len(chunks)} deployment{'s' if len(chunks) != 1 else ''}")
        for number, chunk in enumerate(chunks, start=1):
            body = template(clients, spec.name, chunk, subnet, image, self.login_user,
                            spec.spot_price)
            with self._errors(f"creating the VMs of {spec.name}"):
                deploy(clients, group, f"ehpc-{spec.name}-{number}", body,
                       f"creating the VMs of {spec.name}")
            report(f"{sum(len(b.plans) for b in chunk)} VMs created")
        found = {m.name: m for m in self.machines(spec.name)}
        unseen = [p.name for p in plans if p.name not in found or not found[p.name].provider_id]
        if unseen:
            raise ProviderError(f"Azure does not show VMs {', '.join(unseen)} after creating them")
        return [found[p.name] for p in plans]

    # ---- inventory -----------------------------------------------------------------------------
    def machines(self, cluster: str) -> list[Machine]:
        clients = self.clients

        def ours(items: Any) -> list[Any]:
            return [item for item in items if (item.tags or {}).get(TAG) == cluster]

        with self._errors(f"listing the machines of {cluster}"):
            # The tag filter names the groups holding the nodes; then three list calls per group
            # (not one GET per VM and NIC), so a 1000-node cluster is a handful of calls.
            groups = sorted({resource_group_of(r.id) for r in clients.tagged(TAG, cluster)
                             if r.type.lower() == "microsoft.network/networkinterfaces"})
            vms, nic_list, ips = [], [], []
            for group in groups:
                vms += ours(clients.compute.virtual_machines.list(group, expand="instanceView"))
                nic_list += ours(clients.network.network_interfaces.list(group))
                ips += ours(clients.network.public_ip_addresses.list(group))
        vm_of = {(vm.tags or {}).get(NODE_TAG): vm for vm in vms}
        ip_of = {(ip.tags or {}).get(NODE_TAG): ip.ip_address or "" for ip in ips}
        # The NAT gateway's address (tagged with no node) is where every node's outbound
        # connections come from, its own public address or not (Azure gives the NAT gateway
        # precedence): the overlay's hub elsewhere lets that address in.
        nat = next((ip.ip_address or "" for ip in ips if (ip.tags or {}).get(ROLE_TAG) == "network"), "")
        machines = [
            to_machine(vm_of.get((nic.tags or {}).get(NODE_TAG)), nic,
                       ip_of.get((nic.tags or {}).get(NODE_TAG), ""), self.login_user, nat)
            for nic in nic_list
        ]
        return sorted(machines, key=_node_order)

    def console_output(self, machine: Machine) -> str:
        """The serial log from boot diagnostics: a short-lived SAS URL, read without our token
        ("" until Azure has written the log)."""
        import requests

        if not machine.provider_id:
            return ""
        with self._errors(f"reading the serial log of {machine.name}"):
            links = self.clients.compute.virtual_machines.retrieve_boot_diagnostics_data(
                resource_group_of(machine.provider_id), name_of(machine.provider_id),
                sas_uri_expiration_time_in_minutes=5)
        url = links.serial_console_log_blob_uri
        if not url:
            return ""
        try:
            answer = requests.get(url, timeout=30, verify=self.clients.account.ca_bundle or True)
        except requests.RequestException as err:  # its text holds the URL and its signature
            raise ProviderError(f"Azure: could not read the serial log of {machine.name} "
                                f"({type(err).__name__})") from None
        return answer.text if answer.status_code == 200 else ""

    # ---- terminate -----------------------------------------------------------------------------
    def terminate_nodes(self, cluster: str, names: list[str], report: Report = no_report) -> list[str]:
        """Each node's VM, then what was made for it (NIC, public address, OS disk), by its tags."""
        def made_for_them() -> list[Any]:
            return [r for r in self.clients.tagged(TAG, cluster) if (r.tags or {}).get(NODE_TAG) in names]

        with self._errors(f"removing {', '.join(names)} of {cluster}"):
            return self._delete_in_stages(made_for_them, report)

    def terminate(self, cluster: str, report: Report) -> list[str]:
        clients = self.clients
        removed: list[str] = []
        with self._errors(f"terminating {cluster}"):
            groups = list(clients.resources.resource_groups.list(
                filter=f"tagName eq '{TAG}' and tagValue eq '{cluster}'"))
            if groups:
                report(f"deleting resource group {', '.join(g.name for g in groups)}")
            with ThreadPoolExecutor(max_workers=4) as pool:
                pollers = [clients.resources.resource_groups.begin_delete(g.name) for g in groups]
                list(pool.map(lambda p: p.result(), pollers))
            removed += [f"resource group {g.name}" for g in groups]
            # What is left is in a group that is not ours.
            removed += self._delete_in_stages(lambda: clients.tagged(TAG, cluster), report)
        return removed

    def _delete_in_stages(self, find: Callable[[], list[Any]], report: Report) -> list[str]:
        """Delete what `find` lists, in DELETE_STAGES order, listed again at each stage (a VM
        takes its OS disk with it)."""
        removed: list[str] = []
        for stage in DELETE_STAGES:
            batch = [r for r in find() if r.type.lower() in stage]
            if batch:
                report(f"deleting {len(batch)} {batch[0].type.split('/')[-1]} and others")
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(self._delete, batch))
            removed += [f"{r.type.split('/')[-1]} {r.name}" for r in batch]
        return removed

    def _delete(self, resource: Any) -> None:
        compute, network = self.clients.compute, self.clients.network
        deleters = {
            "microsoft.compute/virtualmachines": compute.virtual_machines,
            "microsoft.compute/disks": compute.disks,
            "microsoft.compute/snapshots": compute.snapshots,
            "microsoft.compute/images": compute.images,
            "microsoft.network/networkinterfaces": network.network_interfaces,
            "microsoft.network/publicipaddresses": network.public_ip_addresses,
            "microsoft.network/natgateways": network.nat_gateways,
            "microsoft.network/virtualnetworks": network.virtual_networks,
            "microsoft.network/networksecuritygroups": network.network_security_groups,
        }
        deleters[resource.type.lower()].begin_delete(resource_group_of(resource.id), resource.name).result()

    # ---- disks -----------------------------------------------------------------------------------
    def create_disk(
        self, name: str, size_gb: int | None, *, cluster: str = "", zone: str = "",
        disk_type: str = "", snapshot: str = "", source_url: str = "",
    ) -> Disk:
        clients = self.clients
        if not (size_gb or snapshot or source_url):
            source_url = str(self.settings.get("DISK", "AZURE_DISK_URL") or "")
        group, ours = self._group(cluster) if cluster else (
            str(self.settings.get("AZURE", "RESOURCE GROUP") or "ehpc-disks"), True)
        body: dict[str, Any] = {  # DISK_ZONE: an availability zone (1-3) or a region (guide: WUS)
            "location": catalog.region(zone) if zone and not zone.isdigit() else clients.account.region,
            "tags": {**node_tags(cluster, "data", ""), "ehpc-disk": name},
            "sku": {"name": disk_ops.sku(disk_type)},
        }
        if zone.isdigit():
            body["zones"] = [zone]
        with self._errors(f"creating disk {name}"):
            creation = disk_ops.creation_data(clients, size_gb, snapshot, source_url)
            body["properties"] = {"creationData": creation}
            if size_gb:
                body["properties"]["diskSizeGB"] = size_gb
            ensure_group(clients, group, node_tags(cluster, "network", "") if cluster else {}, ours)
            disk = clients.compute.disks.begin_create_or_update(group, name, body).result()
        return disk_ops.to_disk(disk)

    def snapshot_disk(self, disk_id: str, name: str) -> Snapshot:
        clients = self.clients
        with self._errors(f"snapshotting disk {disk_id}"):
            disk = disk_ops.find_disk(clients, disk_id)
            tags = {k: v for k, v in (disk.tags or {}).items() if k != "ehpc-lun"}
            snap = clients.compute.snapshots.begin_create_or_update(
                resource_group_of(disk.id), name,
                {"location": disk.location, "tags": {**tags, ROLE_TAG: "snapshot"},
                 "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk.id}}},
            ).result()
        return disk_ops.to_snapshot(snap)

    def attach_disk(self, disk_id: str, machine: Machine, device: str = "") -> Disk:
        if not machine.provider_id:
            raise ProviderError(f"{machine.name} has no VM (state {machine.state}): cannot attach a disk")
        clients = self.clients
        with self._errors(f"attaching disk {disk_id} to {machine.name}"):
            disk_ops.attach(clients, disk_ops.find_disk(clients, disk_id), machine)
            return disk_ops.to_disk(disk_ops.find_disk(clients, disk_id))

    def detach_disk(self, disk_id: str) -> Disk:
        clients = self.clients
        with self._errors(f"detaching disk {disk_id}"):
            disk_ops.detach(clients, disk_ops.find_disk(clients, disk_id))
            return disk_ops.to_disk(disk_ops.find_disk(clients, disk_id))

    def disks(self, cluster: str = "") -> list[Disk]:
        with self._errors("listing disks"):
            return [disk_ops.to_disk(d) for d in disk_ops.data_disks(self.clients, cluster)]

    def delete_disk(self, disk_id: str, force: bool = False) -> None:
        clients = self.clients
        with self._errors(f"deleting disk {disk_id}"):
            disk = disk_ops.find_disk(clients, disk_id)
            if force and disk.managed_by:
                disk_ops.detach(clients, disk)
            clients.compute.disks.begin_delete(resource_group_of(disk.id), disk.name).result()

    def snapshots(self, cluster: str = "") -> list[Snapshot]:
        with self._errors("listing snapshots"):
            return [disk_ops.to_snapshot(s) for s in self.clients.compute.snapshots.list()
                    if TAG in (s.tags or {}) and (not cluster or s.tags[TAG] == cluster)]

    def delete_snapshot(self, snapshot_id: str) -> None:
        clients = self.clients
        with self._errors(f"deleting snapshot {snapshot_id}"):
            snap = disk_ops.find_snapshot(clients, snapshot_id)
            clients.compute.snapshots.begin_delete(resource_group_of(snap.id), snap.name).result()
