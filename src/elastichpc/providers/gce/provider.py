"""Google Compute Engine: a cluster's instances, firewall rules and disks, found by label.

A create makes a fixed number of API calls whatever the cluster size: one list,
the firewall rules, one insert for the head and one bulkInsert for every worker.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any

from google.cloud import compute_v1

from ...config import ClusterSpec, check_name
from ...errors import ConfigError, ProviderError
from ..base import TAG, Disk, Machine, NodePlan, Provider, Report, Snapshot, no_report
from ..network import CALLER_ENV, source_cidr
from ..preview import MachineGroup, Preview
from .api import ComputeApi
from .credentials import AGENT_CREDENTIAL, agent_credential, load_credentials
from .firewall import cluster_rules, is_cluster_rule, overlay_rule
from .nodes import DEFAULT_IMAGE, DEFAULT_INSTANCE_SCOPES, NodeShape, machine_of

if TYPE_CHECKING:
    from .prices import Catalog

ENDPOINT_ENV = "EHPC_GCE_ENDPOINT"
RUNNING_TIMEOUT = 600.0
BY_ID = "/dev/disk/by-id/google-"  # where a disk attached with device name D appears: BY_ID + D


class GceProvider(Provider):
    name = "gce"

    # ---- settings ---------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return str(self.settings.get("GCE", "API_ENDPOINT") or os.environ.get(ENDPOINT_ENV, ""))

    @property
    def zone(self) -> str:
        return str(self.settings.get("GCE", "ZONE"))

    @property
    def login_user(self) -> str:
        return str(self.settings.get("GCE", "SSH_USER"))

    @cached_property
    def api(self) -> ComputeApi:
        credentials, project = load_credentials(self.settings, self.endpoint)
        project = self.settings.get("GCE", "PROJECT_ID") or project
        if not project:
            self.settings.require("GCE", "PROJECT_ID")  # raises the clear line
        return ComputeApi(credentials, self.endpoint, project)

    def check_ready(self, spec: ClusterSpec | None = None) -> None:
        _ = self.api  # credentials and project, without a network call

    def agent_environment(self) -> dict[str, str]:
        # The caller's range, as the client resolved it: a launch checks the cluster's rules.
        found = {CALLER_ENV: source_cidr(self.settings, self.endpoint)}
        if self.endpoint:
            found[ENDPOINT_ENV] = self.endpoint
        credential = agent_credential(self.settings)
        return {**found, AGENT_CREDENTIAL: credential} if credential else found

    @cached_property
    def catalog(self) -> Catalog:
        """The Cloud Billing Catalog's prices, listed once for this provider object."""
        from .prices import Catalog

        return Catalog(self.api.credentials, self.endpoint)

    def preview(self, spec: ClusterSpec, groups: list[MachineGroup]) -> Preview:
        from .preview import preview

        return preview(self.api, spec, groups, self.zone, self._image(), self.catalog)

    def price(self, spec: ClusterSpec, groups: list[MachineGroup]) -> None:
        from .prices import price

        price(self.api, self.catalog, groups, self.zone)

    def _image(self) -> str:
        image = self.settings.get("IMAGE", "GCE_IMAGE_ID")
        if not image:
            return DEFAULT_IMAGE
        if image.startswith("projects/") or "://" in image:
            return str(image)
        project = self.settings.get("GCE", "IMAGE PROJECT") or self.api.project
        return f"projects/{project}/global/images/{image}"

    def _shape(self, cluster: str, login_pubkey: str) -> NodeShape:
        scopes = [s.replace(" ", "_") for s in self.settings.get("GCE", "SCOPES")]  # guide: "full control"
        return NodeShape(
            cluster=cluster, zone=self.zone, network=self.settings.get("GCE", "NETWORK"),
            image=self._image(), service_email=self.settings.get("GCE", "SERVICE EMAIL"),
            scopes=scopes or DEFAULT_INSTANCE_SCOPES, login_user=self.login_user,
            login_pubkey=login_pubkey,
        )

    # ---- launch -----------------------------------------------------------------------------------
    def launch(self, spec: ClusterSpec, plans: list[NodePlan], report: Report) -> list[Machine]:
        api = self.api
        shape = self._shape(spec.name, plans[0].ssh_public_key)
        listed = self._zone_instances(spec.name)
        # A preempted Spot VM stays (stopped) under its name: a replacement needs the name.
        names = {p.name for p in plans}
        taken = [i for i in listed
                 if i.name in names and machine_of(i, self.login_user).state == "preempted"]
        if taken:
            report(f"deleting {len(taken)} preempted instances first")
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(self._delete_instance, taken))
        existing = {i.name for i in listed} - {i.name for i in taken}
        self._ensure_firewalls(spec, shape.network_tag, report)
        head = [p for p in plans if p.role == "head" and p.name not in existing]
        workers = [p for p in plans if p.role != "head" and p.name not in existing]
        operations = []
        for plan in head:
            instance = shape.instance("head", plan.name, plan.instance_type or "", plan.boot_script,
                                      plan.spot)
            operations.append(api.mutate(
                f"insert instance {plan.name}", api.instances.insert_unary,
                compute_v1.InsertInstanceRequest(project=api.project, zone=self.zone,
                                                 instance_resource=instance)))
        groups: dict[tuple[str, str, bool], list[NodePlan]] = {}
        for plan in workers:  # one bulkInsert per boot script (a node joining an overlay has its own)
            groups.setdefault((plan.boot_script, plan.instance_type or "", plan.spot), []).append(plan)
        for (script, instance_type, spot), group in groups.items():
            bulk = compute_v1.BulkInsertInstanceResource(
                count=len(group), min_count=len(group),
                per_instance_properties={
                    p.name: compute_v1.BulkInsertInstanceResourcePerInstanceProperties(name=p.name)
                    for p in group
                },
                instance_properties=shape.properties(
                    "compute", instance_type, {"startup-script": script}, spot),
            )
            operations.append(api.mutate(
                f"bulk insert of {len(group)} instances", api.instances.bulk_insert_unary,
                compute_v1.BulkInsertInstanceRequest(project=api.project, zone=self.zone,
                                                     bulk_insert_instance_resource_resource=bulk)))
        report(f"creating {len(head) + len(workers)} instances in {self.zone}")
        for operation in operations:
            api.wait("instance creation", operation)
        return self._wait_running(spec.name, [p.name for p in plans], report)

    def _zone_instances(self, cluster: str) -> list[Any]:
        api = self.api
        request = compute_v1.ListInstancesRequest(project=api.project, zone=self.zone,
                                                  filter=f'labels.{TAG} = "{cluster}"')
        return api.every("list instances", api.instances.list, request)

    def _wait_running(self, cluster: str, names: list[str], report: Report) -> list[Machine]:
        deadline = time.monotonic() + RUNNING_TIMEOUT
        while True:
            found = {i.name: machine_of(i, self.login_user) for i in self._zone_instances(cluster)}
            machines = [found[n] for n in names if n in found]
            settled = [m for m in machines if m.state != "pending"]
            report(f"{sum(m.state == 'running' for m in machines)}/{len(names)} instances running")
            if len(settled) == len(names):
                return machines
            if time.monotonic() > deadline:
                waiting = sorted(set(names) - {m.name for m in settled})
                raise ProviderError(f"GCE: {len(waiting)} instances not running after "
                                    f"{RUNNING_TIMEOUT:.0f}s: {', '.join(waiting[:5])}")
            time.sleep(2.0)

    def _ensure_firewalls(self, spec: ClusterSpec, tag: str, report: Report) -> None:
        api = self.api
        have = {f.name for f in self._cluster_firewalls(spec.name)}
        wanted = cluster_rules(spec, self.settings.get("GCE", "NETWORK"), tag,
                               source_cidr(self.settings, self.endpoint))
        missing = [rule for rule in wanted if rule.name not in have]
        if missing:
            report(f"adding {len(missing)} firewall rules")
        operations = [
            api.mutate(f"insert firewall rule {rule.name}", api.firewalls.insert_unary,
                       compute_v1.InsertFirewallRequest(project=api.project, firewall_resource=rule))
            for rule in missing
        ]
        for operation in operations:
            api.wait("firewall rule creation", operation)

    def allow_overlay(self, cluster: str, port: int, sources: list[str]) -> None:
        api = self.api
        rule = overlay_rule(cluster, self.settings.get("GCE", "NETWORK"), port, sources)
        old = next((f for f in self._cluster_firewalls(cluster) if f.name == rule.name), None)
        if old is not None and sorted(old.source_ranges) == sorted(rule.source_ranges):
            return
        if old is not None:  # a rule's sources change by replacing it
            api.apply(f"delete firewall rule {rule.name}", api.firewalls.delete_unary,
                      compute_v1.DeleteFirewallRequest(project=api.project, firewall=rule.name))
        if sources:
            api.apply(f"insert firewall rule {rule.name}", api.firewalls.insert_unary,
                      compute_v1.InsertFirewallRequest(project=api.project, firewall_resource=rule))

    def _cluster_firewalls(self, cluster: str) -> list[Any]:
        api = self.api
        request = compute_v1.ListFirewallsRequest(project=api.project, filter=f'name eq "ehpc-{cluster}-.*"')
        return [f for f in api.every("list firewall rules", api.firewalls.list, request)
                if is_cluster_rule(f, cluster)]

    # ---- inventory --------------------------------------------------------------------------------
    def _labelled(self, kind: str, cluster: str) -> list[Any]:
        """Every instance or disk with the cluster's label, in any zone (aggregatedList)."""
        api = self.api
        label = f'labels.{TAG} = "{cluster}"' if cluster else None
        if kind == "instances":
            scopes = api.every("list instances", api.instances.aggregated_list,
                               compute_v1.AggregatedListInstancesRequest(project=api.project, filter=label))
        else:
            scopes = api.every("list disks", api.disks.aggregated_list,
                               compute_v1.AggregatedListDisksRequest(project=api.project, filter=label))
        return [item for _, scoped in scopes for item in getattr(scoped, kind)]

    def machines(self, cluster: str) -> list[Machine]:
        found = [machine_of(i, self.login_user) for i in self._labelled("instances", cluster)]
        return sorted(found, key=lambda m: (m.role != "head", _node_number(m.name), m.name))

    def console_output(self, machine: Machine) -> str:
        api = self.api
        zone, _, name = machine.provider_id.rpartition("/")
        request = compute_v1.GetSerialPortOutputInstanceRequest(
            project=api.project, zone=zone or self.zone, instance=name, port=1)
        output = api.call(f"read the serial port of {name}", api.instances.get_serial_port_output,
                          request=request)
        return str(output.contents)

    # ---- terminate --------------------------------------------------------------------------------
    def terminate(self, cluster: str, report: Report) -> list[str]:
        api = self.api
        removed: list[str] = []
        instances = self._labelled("instances", cluster)
        if instances:
            report(f"deleting {len(instances)} instances")

        def delete_disk(disk: Any) -> str:
            zone = disk.zone.rsplit("/", 1)[-1]
            self.delete_disk(f"{zone}/{disk.name}")
            return f"disk {zone}/{disk.name}"

        def delete_firewall(rule: Any) -> str:
            api.apply(f"delete firewall rule {rule.name}", api.firewalls.delete_unary,
                      compute_v1.DeleteFirewallRequest(project=api.project, firewall=rule.name))
            return f"firewall rule {rule.name}"

        with ThreadPoolExecutor(max_workers=8) as pool:
            removed += pool.map(self._delete_instance, instances)
            disks = self._labelled("disks", cluster)  # data disks, and boot disks left over
            if disks:
                report(f"deleting {len(disks)} disks")
            removed += pool.map(delete_disk, disks)
            removed += pool.map(delete_firewall, self._cluster_firewalls(cluster))
        return removed

    def terminate_nodes(self, cluster: str, names: list[str], report: Report = no_report) -> list[str]:
        wanted = set(names)
        found = [i for i in self._labelled("instances", cluster) if i.name in wanted]
        if found:
            report(f"deleting {len(found)} instances")
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self._delete_instance, found))

    def _delete_instance(self, instance: Any) -> str:
        api, zone = self.api, instance.zone.rsplit("/", 1)[-1]
        api.apply(f"delete instance {instance.name}", api.instances.delete_unary,
                  compute_v1.DeleteInstanceRequest(project=api.project, zone=zone,
                                                   instance=instance.name))
        return f"instance {zone}/{instance.name}"

    # ---- disks ------------------------------------------------------------------------------------
    def _where(self, disk_id: str) -> tuple[str, str]:
        """(zone, name) of `zone/name`, or of a bare name in [DISK] DISK_ZONE or [GCE] ZONE."""
        zone, _, name = disk_id.rpartition("/")
        return zone or self.settings.get("DISK", "DISK_ZONE") or self.zone, name

    def _disk(self, disk_id: str) -> Any:
        zone, name = self._where(disk_id)
        api = self.api
        return api.call(f"get disk {name}", api.disks.get, project=api.project, zone=zone, disk=name)

    def create_disk(self, name: str, size_gb: int | None, *, cluster: str = "", zone: str = "",
                    disk_type: str = "", snapshot: str = "", source_url: str = "") -> Disk:
        if source_url:
            raise ConfigError("GCE disks are made empty or from a snapshot, not from a URL")
        check_name(name, "disk name")
        api = self.api
        zone = zone or self.settings.get("DISK", "DISK_ZONE") or self.zone
        kind = disk_type or self.settings.get("DISK", "DISK_TYPE") or "pd-balanced"
        disk = compute_v1.Disk(name=name, type_=f"zones/{zone}/diskTypes/{kind}",
                               labels={TAG: cluster} if cluster else {})
        if size_gb:
            disk.size_gb = size_gb
        if snapshot:
            disk.source_snapshot = self._snapshot_link(snapshot)
        elif not size_gb:
            raise ConfigError("a new empty disk needs a size ([DISK] DISK SIZE or --size)")
        api.apply(f"create disk {name}", api.disks.insert_unary,
                  compute_v1.InsertDiskRequest(project=api.project, zone=zone, disk_resource=disk))
        return self._disk_of(self._disk(f"{zone}/{name}"))

    def _snapshot_link(self, snapshot: str) -> str:
        if snapshot.startswith("projects/") or "://" in snapshot:
            return snapshot
        project = self.settings.get("DISK", "GCE_SNAPSHOT_PROJECT") or self.api.project
        return f"projects/{project}/global/snapshots/{snapshot}"

    @staticmethod
    def _disk_of(disk: Any) -> Disk:
        zone = disk.zone.rsplit("/", 1)[-1]
        users = [u.rsplit("/", 1)[-1] for u in disk.users]
        state = {"CREATING": "creating", "RESTORING": "creating", "DELETING": "deleting"}.get(
            disk.status, "in-use" if users else "available")
        return Disk(disk_id=f"{zone}/{disk.name}", name=disk.name, size_gb=int(disk.size_gb), zone=zone,
                    state=state, attached_to=users[0] if users else "", cluster=disk.labels.get(TAG, ""),
                    device=f"{BY_ID}{disk.name}" if users else "",  # attach_disk's default device name
                    extra={"type": disk.type_.rsplit("/", 1)[-1],
                           "source_snapshot": disk.source_snapshot.rsplit("/", 1)[-1]})

    def snapshot_disk(self, disk_id: str, name: str) -> Snapshot:
        check_name(name, "snapshot name")
        api = self.api
        zone, disk_name = self._where(disk_id)
        source = self._disk(disk_id)
        # Not labelled with the cluster: a snapshot is a backup and outlives `cluster terminate`.
        labels = {"ehpc-source-cluster": source.labels[TAG]} if TAG in source.labels else {}
        resource = compute_v1.Snapshot(name=name, labels=labels)
        api.apply(f"snapshot disk {disk_name}", api.disks.create_snapshot_unary,
                  compute_v1.CreateSnapshotDiskRequest(project=api.project, zone=zone, disk=disk_name,
                                                       snapshot_resource=resource))
        made = api.call(f"get snapshot {name}", api.snapshots.get, project=api.project, snapshot=name)
        return _snapshot_of(made)

    def attach_disk(self, disk_id: str, machine: Machine, device: str = "") -> Disk:
        api = self.api
        disk = self._disk(disk_id)
        zone, _, instance = machine.provider_id.rpartition("/")
        device_name = device.removeprefix(BY_ID) or disk.name
        attached = compute_v1.AttachedDisk(source=disk.self_link, device_name=device_name,
                                           mode="READ_WRITE", auto_delete=False)
        api.apply(f"attach disk {disk.name} to {instance}", api.instances.attach_disk_unary,
                  compute_v1.AttachDiskInstanceRequest(project=api.project, zone=zone or self.zone,
                                                       instance=instance, attached_disk_resource=attached))
        result = self._disk_of(self._disk(disk_id))
        result.device = f"{BY_ID}{device_name}"
        return result

    def detach_disk(self, disk_id: str) -> Disk:
        api = self.api
        disk = self._disk(disk_id)
        if not disk.users:
            raise ProviderError(f"disk {disk.name} is not attached to any instance")
        zone, instance_name = disk.zone.rsplit("/", 1)[-1], disk.users[0].rsplit("/", 1)[-1]
        instance = api.call(f"get instance {instance_name}", api.instances.get,
                            project=api.project, zone=zone, instance=instance_name)
        device = next(d.device_name for d in instance.disks if d.source.endswith(f"/disks/{disk.name}"))
        api.apply(f"detach disk {disk.name} from {instance_name}", api.instances.detach_disk_unary,
                  compute_v1.DetachDiskInstanceRequest(project=api.project, zone=zone,
                                                       instance=instance_name, device_name=device))
        return self._disk_of(self._disk(disk_id))

    def disks(self, cluster: str = "") -> list[Disk]:
        """Data disks (boot disks, made from an image, are left out)."""
        found = [self._disk_of(d) for d in self._labelled("disks", cluster) if not d.source_image]
        return sorted(found, key=lambda d: (d.zone, d.name))

    def delete_disk(self, disk_id: str, force: bool = False) -> None:
        api = self.api
        zone, name = self._where(disk_id)
        if force and self._disk(disk_id).users:
            self.detach_disk(disk_id)
        api.apply(f"delete disk {name}", api.disks.delete_unary,
                  compute_v1.DeleteDiskRequest(project=api.project, zone=zone, disk=name))

    def snapshots(self, cluster: str = "") -> list[Snapshot]:
        api = self.api
        request = compute_v1.ListSnapshotsRequest(
            project=api.project,
            filter=f'labels.ehpc-source-cluster = "{cluster}"' if cluster else None)
        return [_snapshot_of(s) for s in api.every("list snapshots", api.snapshots.list, request)]

    def delete_snapshot(self, snapshot_id: str) -> None:
        api = self.api
        api.apply(f"delete snapshot {snapshot_id}", api.snapshots.delete_unary,
                  compute_v1.DeleteSnapshotRequest(project=api.project,
                                                   snapshot=snapshot_id.rsplit("/", 1)[-1]))


def _snapshot_of(snapshot: Any) -> Snapshot:
    disk = snapshot.source_disk.split("/zones/", 1)[-1].replace("/disks/", "/")
    state = "completed" if snapshot.status == "READY" else snapshot.status.lower()
    return Snapshot(snapshot.name, snapshot.name, disk, int(snapshot.disk_size_gb), state)


def _node_number(name: str) -> int:
    digits = name.rsplit("node", 1)[-1]
    return int(digits) if digits.isdigit() else 0

