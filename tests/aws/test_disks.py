"""EBS volumes and snapshots (guide 4.a-4.c, 4.f, 4.g) against moto: the provider's disk
methods, and the provider-neutral `ehpc disk` commands on aws (never attach-with-mount here:
that would SSH to an address moto made up)."""

from __future__ import annotations

import json

import pytest

from elastichpc.config import load_settings
from elastichpc.errors import EhpcError
from elastichpc.providers import get_provider

from .conftest import REGION
from .helpers import create_args, ehpc

ZONE = f"{REGION}a"


@pytest.fixture
def aws(aws_env):
    return get_provider("aws", load_settings(overrides={("AWS", "REGION"): REGION}))


def test_volume_life_cycle(aws_env, aws, capsys, ec2, image) -> None:
    assert ehpc(capsys, *create_args("dk", 1, image, "--provision-only", "--aws-zone", ZONE)).code == 0
    head = next(m for m in aws.machines("dk") if m.role == "head")

    data = aws.create_disk("data1", 2, cluster="dk", zone=ZONE, disk_type="gp3")
    assert (data.size_gb, data.state, data.zone, data.cluster) == (2, "available", ZONE, "dk")
    assert ec2.describe_volumes(VolumeIds=[data.disk_id])["Volumes"][0]["VolumeType"] == "gp3"
    snap = aws.snapshot_disk(data.disk_id, "snap1")
    assert (snap.disk_id, snap.size_gb, snap.state) == (data.disk_id, 2, "completed")
    copy = aws.create_disk("copy", None, cluster="dk", zone=ZONE, snapshot="snap1")  # by name
    assert copy.size_gb == 2
    assert ec2.describe_volumes(VolumeIds=[copy.disk_id])["Volumes"][0]["SnapshotId"] == snap.snapshot_id

    attached = aws.attach_disk(data.disk_id, head, "/dev/sdm")
    assert (attached.state, attached.attached_to, attached.device) == ("in-use", "dk-head", "/dev/sdm")
    # Xen and Nitro (NVMe, named by the volume id) instances show the volume under other names.
    assert attached.device_aliases == [
        "/dev/xvdm", f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{data.disk_id.replace('-', '')}"
    ]
    second = aws.attach_disk(copy.disk_id, head)  # the first free data device name
    assert second.device == "/dev/sdf"
    with pytest.raises(EhpcError, match="is in-use"):
        aws.attach_disk(copy.disk_id, head, "/dev/sdg")

    listed = {d.name: d for d in aws.disks("dk")}
    assert {"data1", "copy"} <= set(listed) and listed["data1"].attached_to == "dk-head"
    assert [s.name for s in aws.snapshots("dk")] == ["snap1"]

    with pytest.raises(EhpcError, match=r"attached to .* --force"):
        aws.delete_disk(data.disk_id)
    aws.delete_disk(data.disk_id, force=True)  # detaches first
    assert aws.detach_disk(copy.disk_id).state == "available"
    aws.delete_disk(copy.disk_id)
    assert not {"data1", "copy"} & {d.name for d in aws.disks("dk")}
    aws.delete_snapshot(snap.snapshot_id)
    assert aws.snapshots("dk") == []
    assert ehpc(capsys, "cluster", "terminate", "dk").code == 0


def test_terminate_removes_the_clusters_volumes(aws_env, aws, capsys, image) -> None:
    assert ehpc(capsys, *create_args("dv", 1, image, "--provision-only", "--aws-zone", ZONE)).code == 0
    head = next(m for m in aws.machines("dv") if m.role == "head")
    made = aws.create_disk("scratch", 1, cluster="dv", zone=ZONE)
    aws.attach_disk(made.disk_id, head)
    kept = aws.create_disk("user-data", 1, zone=ZONE)  # not made with the cluster: stays
    done = json.loads(ehpc(capsys, "cluster", "terminate", "dv", "--json").out)
    assert f"volume {made.disk_id}" in done["removed"]
    assert [d.disk_id for d in aws.disks() if d.name == "user-data"] == [kept.disk_id]
    aws.delete_disk(kept.disk_id)


def test_disk_commands_on_aws(aws_env, capsys) -> None:
    where = ["--provider", "aws", "--aws-region", REGION]
    made = ehpc(capsys, "disk", "create", "vol1", "--size", "3", "--zone", ZONE, "--type", "standard",
                *where, "--json")
    assert made.code == 0, made.err
    snap = ehpc(capsys, "disk", "snapshot", "vol1", "vol1-snap", *where)
    assert snap.code == 0, snap.err
    again = ehpc(capsys, "disk", "create", "vol2", "--snapshot", "vol1-snap", "--zone", ZONE, *where)
    assert again.code == 0, again.err
    listing = ehpc(capsys, "disk", "list", *where, "--json")
    sizes = {d["name"]: d["size_gb"] for d in json.loads(listing.out)}
    assert sizes["vol1"] == 3 and sizes["vol2"] == 3
    snaps = ehpc(capsys, "disk", "list", "--snapshots", *where, "--json")
    assert [s["name"] for s in json.loads(snaps.out)] == ["vol1-snap"]
    assert ehpc(capsys, "disk", "delete", "vol1", "vol2", *where).code == 0
    assert ehpc(capsys, "disk", "delete", "--snapshot", "vol1-snap", *where).code == 0
    assert "vol1" not in ehpc(capsys, "disk", "list", *where).out


def test_disk_names_are_unique_and_never_picked_at_random(aws_env, capsys, ec2) -> None:
    """Issue 14: the guide's ./volumes twice made two `volume`s, and `disk delete volume` then
    deleted one of them at random."""
    where = ["--provider", "aws", "--aws-region", REGION, "--zone", ZONE]
    assert ehpc(capsys, "disk", "create", "volume", "--size", "1", *where).code == 0
    again = ehpc(capsys, "disk", "create", "volume", "--size", "1", *where)
    assert again.code == 1
    assert again.err.startswith("ehpc: error: a disk named 'volume' already exists on aws (vol-")
    named = [{"Name": "tag:Name", "Values": ["volume"]}]
    assert len(ec2.describe_volumes(Filters=named)["Volumes"]) == 1
    # Another made outside ehpc with the same name: by name, neither is deleted.
    twin = ec2.create_volume(AvailabilityZone=ZONE, Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "volume"}]}])["VolumeId"]
    refused = ehpc(capsys, "disk", "delete", "volume", *where[:4])
    assert refused.code == 1 and "2 disks on aws are named 'volume'" in refused.err
    assert "name the one you mean by its id" in refused.err
    ids = [v["VolumeId"] for v in ec2.describe_volumes(Filters=named)["Volumes"]]
    assert twin in ids and len(ids) == 2
    assert ehpc(capsys, "disk", "delete", *ids, *where[:4]).code == 0
