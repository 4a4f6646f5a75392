"""EBS volumes and snapshots: create (empty or from a snapshot), snapshot, attach with a device
name, detach, list, delete (an attached volume only with force, which detaches it first)."""

from __future__ import annotations

from typing import Any

from ...errors import EhpcError
from ..base import Disk, Snapshot
from .client import aws_errors, error_code
from .tags import cluster_filter, cluster_tags, specs, tag_dict

VOLUME_STATES = {"in-use": "in-use", "available": "available", "creating": "creating",
                 "deleting": "deleting"}
DEVICE_LETTERS = "fghijklmnop"  # /dev/sdf../dev/sdp: the names EC2 recommends for data volumes
WAIT = {"Delay": 2, "MaxAttempts": 150}


def to_disk(volume: dict[str, Any], names: dict[str, str]) -> Disk:
    tags = tag_dict(volume)
    attachment: dict[str, Any] = next(iter(volume.get("Attachments") or []), {})
    instance = attachment.get("InstanceId", "")
    return Disk(
        disk_id=volume["VolumeId"],
        name=tags.get("Name", volume["VolumeId"]),
        size_gb=int(volume["Size"]),
        zone=volume.get("AvailabilityZone", ""),
        state=VOLUME_STATES.get(volume["State"], volume["State"]),
        attached_to=names.get(instance, instance),
        device=attachment.get("Device", ""),
        device_aliases=device_aliases(volume["VolumeId"], attachment.get("Device", "")),
        cluster=tags.get("ehpc-cluster", ""),
        extra={"volume_type": volume.get("VolumeType", ""), "instance_id": instance,
               "snapshot": volume.get("SnapshotId", "")},
    )


def device_aliases(volume_id: str, device: str) -> list[str]:
    """Where an EBS volume attached as /dev/sdX shows up: /dev/xvdX on Xen instances, and on
    Nitro (NVMe) instances under its serial, the volume id without its dash."""
    if not device:
        return []
    return [device.replace("/dev/sd", "/dev/xvd"),
            f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"]


def volume(ec2: Any, volume_id: str) -> dict[str, Any]:
    if not volume_id.startswith("vol-"):
        raise EhpcError(f"{volume_id!r} is not an EBS volume id (vol-...)")
    with aws_errors(f"find volume {volume_id}"):
        found: dict[str, Any] = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    return found


def create(
    ec2: Any, name: str, size_gb: int | None, zone: str, cluster: str, disk_type: str, snapshot: str
) -> dict[str, Any]:
    if size_gb is None and not snapshot:
        raise EhpcError("a new volume needs a size (e.g. --size 10) or a snapshot to copy")
    tags = cluster_tags(cluster, Name=name) if cluster else {"Name": name}
    args: dict[str, Any] = {
        "AvailabilityZone": zone,
        "VolumeType": disk_type or "gp3",
        "TagSpecifications": specs(["volume"], tags),
    }
    if size_gb is not None:
        args["Size"] = size_gb
    if snapshot:
        args["SnapshotId"] = snapshot_id(ec2, snapshot)
    with aws_errors(f"create volume {name}"):
        volume_id = ec2.create_volume(**args)["VolumeId"]
        ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)
    return volume(ec2, volume_id)


def snapshot(ec2: Any, volume_id: str, name: str) -> Snapshot:
    source = volume(ec2, volume_id)
    tags = {"Name": name, **{k: v for k, v in tag_dict(source).items() if k == "ehpc-cluster"}}
    with aws_errors(f"snapshot {volume_id}"):
        snap = ec2.create_snapshot(
            VolumeId=volume_id, Description=f"ElasticHPC {name}",
            TagSpecifications=specs(["snapshot"], tags),
        )
        ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snap["SnapshotId"]], WaiterConfig=WAIT)
    return Snapshot(snap["SnapshotId"], name, volume_id, int(snap["VolumeSize"]), "completed")


def snapshot_id(ec2: Any, ref: str) -> str:
    """A snapshot id as given (snap-...), or the id of our snapshot of that name."""
    if ref.startswith("snap-"):
        return ref
    with aws_errors(f"find snapshot {ref!r}"):
        found = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag:Name", "Values": [ref]}])
    if len(found["Snapshots"]) != 1:
        raise EhpcError(f"{len(found['Snapshots'])} snapshots are named {ref!r}: give its id (snap-...)")
    return str(found["Snapshots"][0]["SnapshotId"])


def free_device(ec2: Any, instance_id: str) -> str:
    with aws_errors(f"read {instance_id}'s devices"):
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    used = {m["DeviceName"] for r in reservations for i in r["Instances"]
            for m in i.get("BlockDeviceMappings", [])}
    for letter in DEVICE_LETTERS:
        if f"/dev/sd{letter}" not in used and f"/dev/xvd{letter}" not in used:
            return f"/dev/sd{letter}"
    raise EhpcError(f"{instance_id} has no free device name left (/dev/sdf../dev/sdp in use)")


def attach(ec2: Any, volume_id: str, instance_id: str, device: str) -> None:
    current = volume(ec2, volume_id)
    if current["State"] != "available":
        attachments: list[dict[str, Any]] = current.get("Attachments") or []
        where = attachments[0]["InstanceId"] if attachments else ""
        raise EhpcError(f"volume {volume_id} is {current['State']}{' on ' + where if where else ''}: "
                        "detach it first")
    with aws_errors(f"attach {volume_id} to {instance_id} as {device}"):
        ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device=device)
        ec2.get_waiter("volume_in_use").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)


def detach(ec2: Any, volume_id: str, force: bool = False) -> None:
    current = volume(ec2, volume_id)
    for attachment in current.get("Attachments") or []:
        with aws_errors(f"detach {volume_id}"):
            ec2.detach_volume(VolumeId=volume_id, InstanceId=attachment["InstanceId"], Force=force)
    with aws_errors(f"wait for {volume_id} to be detached"):
        ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=WAIT)


def delete(ec2: Any, volume_id: str, force: bool) -> bool:
    """Delete; False when it was gone already (e.g. a root volume EC2 removed meanwhile)."""
    from botocore.exceptions import ClientError

    current = volume(ec2, volume_id)
    if current["State"] == "in-use":
        if not force:
            instance = current["Attachments"][0]["InstanceId"]
            raise EhpcError(f"volume {volume_id} is attached to {instance}: detach it first, "
                            "or delete with --force to detach it")
        detach(ec2, volume_id)
    try:
        ec2.delete_volume(VolumeId=volume_id)
    except ClientError as err:
        if error_code(err) == "InvalidVolume.NotFound":
            return False
        with aws_errors(f"delete volume {volume_id}"):
            raise
    return True


def volumes(ec2: Any, cluster: str) -> list[dict[str, Any]]:
    args = {"Filters": [cluster_filter(cluster)]} if cluster else {}
    with aws_errors("list volumes"):
        return [v for page in ec2.get_paginator("describe_volumes").paginate(**args) for v in page["Volumes"]]


def snapshots(ec2: Any, cluster: str) -> list[Snapshot]:
    filters = [cluster_filter(cluster)] if cluster else [{"Name": "tag-key", "Values": ["Name"]}]
    with aws_errors("list snapshots"):
        pages = ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=filters)
        return [
            Snapshot(s["SnapshotId"], tag_dict(s).get("Name", s["SnapshotId"]), s.get("VolumeId", ""),
                     int(s["VolumeSize"]), s["State"])
            for page in pages for s in page["Snapshots"]
        ]


def delete_snapshot(ec2: Any, snapshot_id: str) -> None:
    with aws_errors(f"delete snapshot {snapshot_id}"):
        ec2.delete_snapshot(SnapshotId=snapshot_id)
