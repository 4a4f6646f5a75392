"""Instance resources for a cluster's nodes, and machines read back from instances."""

from __future__ import annotations

from dataclasses import dataclass

from google.cloud import compute_v1

from ..base import TAG, Machine

DEFAULT_IMAGE = "projects/debian-cloud/global/images/family/debian-12"
DEFAULT_INSTANCE_SCOPES = [
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/logging.write",
]
STATES = {  # instance status -> Machine.state
    "PROVISIONING": "pending", "STAGING": "pending", "REPAIRING": "pending", "RUNNING": "running",
    "STOPPING": "stopped", "SUSPENDING": "stopped", "SUSPENDED": "stopped", "TERMINATED": "stopped",
}


@dataclass
class NodeShape:
    """What every node of a cluster shares (from [GCE], [IMAGE] and [CLUSTER])."""

    cluster: str
    zone: str
    network: str
    image: str
    service_email: str
    scopes: list[str]
    login_user: str
    login_pubkey: str

    @property
    def network_tag(self) -> str:
        return f"ehpc-{self.cluster}"

    def labels(self, role: str, node: str = "") -> dict[str, str]:
        """ehpc-node only where the API takes labels per instance: not in a bulkInsert."""
        return {TAG: self.cluster, "ehpc-role": role, **({"ehpc-node": node} if node else {})}

    def properties(self, role: str, machine_type: str, metadata: dict[str, str], spot: bool,
                   node: str = "") -> compute_v1.InstanceProperties:
        """The fields an insert and a bulkInsert template share."""
        labels = self.labels(role, node)
        items = {**metadata, "ssh-keys": f"{self.login_user}:{self.login_pubkey.strip()}"}
        scheduling = compute_v1.Scheduling(automatic_restart=True, on_host_maintenance="MIGRATE")
        if spot:  # STOP, not DELETE: a preempted node stays visible, so `nodes list` can say so
            scheduling = compute_v1.Scheduling(
                provisioning_model="SPOT", instance_termination_action="STOP",
                automatic_restart=False, on_host_maintenance="TERMINATE",
            )
        return compute_v1.InstanceProperties(
            machine_type=machine_type,
            labels=labels,
            tags=compute_v1.Tags(items=[self.network_tag]),
            metadata=compute_v1.Metadata(
                items=[compute_v1.Items(key=k, value=v) for k, v in items.items()]
            ),
            disks=[compute_v1.AttachedDisk(
                boot=True, auto_delete=True,
                initialize_params=compute_v1.AttachedDiskInitializeParams(
                    source_image=self.image, labels=labels),
            )],
            network_interfaces=[compute_v1.NetworkInterface(
                network=f"global/networks/{self.network}",
                access_configs=[compute_v1.AccessConfig(name="External NAT", type_="ONE_TO_ONE_NAT")],
            )],
            service_accounts=[compute_v1.ServiceAccount(email=self.service_email, scopes=self.scopes)],
            scheduling=scheduling,
        )

    def instance(self, role: str, node: str, machine_type: str, boot_script: str,
                 spot: bool) -> compute_v1.Instance:
        props = self.properties(role, f"zones/{self.zone}/machineTypes/{machine_type}",
                                {"startup-script": boot_script}, spot, node)
        return compute_v1.Instance(name=node, **{f: getattr(props, f) for f in INSTANCE_FIELDS})


INSTANCE_FIELDS = ("machine_type", "labels", "tags", "metadata", "disks", "network_interfaces",
                   "service_accounts", "scheduling")


def machine_of(instance: compute_v1.Instance, login_user: str) -> Machine:
    nic = instance.network_interfaces[0] if instance.network_interfaces else None
    public = nic.access_configs[0].nat_i_p if nic and nic.access_configs else ""
    spot = instance.scheduling.provisioning_model == "SPOT"
    state = STATES.get(instance.status, "pending")
    if spot and instance.status == "TERMINATED":  # we never stop nodes: the cloud took it back
        state = "preempted"
    zone = instance.zone.rsplit("/", 1)[-1]
    return Machine(
        name=instance.name,
        role=instance.labels.get("ehpc-role", "unknown"),
        provider_id=f"{zone}/{instance.name}",
        address=public or (nic.network_i_p if nic else ""),
        private_address=nic.network_i_p if nic else "",
        state=state,
        login_user=login_user,
        spot=spot,
        extra={"zone": zone, "instance_type": instance.machine_type.rsplit("/", 1)[-1],
               "instance_id": str(instance.id)},
    )
