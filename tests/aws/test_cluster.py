"""Create (provision-only), list, terminate an AWS cluster against moto over HTTP."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from elastichpc.config import ClusterSpec, load_settings, load_spec
from elastichpc.orchestration.storage import create_time_storage
from elastichpc.providers import get_provider
from elastichpc.remote import ClusterKeys
from elastichpc.state import Journal

from .conftest import CALLER, REGION
from .helpers import create_args, ehpc


def instances_of(ec2: Any, cluster: str) -> list[dict[str, Any]]:
    pages = ec2.describe_instances(Filters=[
        {"Name": "tag:ehpc-cluster", "Values": [cluster]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ])
    return [i for r in pages["Reservations"] for i in r["Instances"]]


def user_data(ec2: Any, instance_id: str) -> str:
    value = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]
    return base64.b64decode(value["Value"]).decode()


def test_create_list_terminate(aws_env, capsys, ec2, image, state_dir: Path) -> None:
    result = ehpc(capsys, *create_args("demo", 3, image, "--provision-only", "--json",
                                       "--firewall-fw-name", "web", "--firewall-fw-port", "8080"))
    assert result.code == 0, result.err
    created = json.loads(result.out)
    assert created["status"] == "provisioned"
    assert sorted(n["name"] for n in created["nodes"]) == ["demo-head", "demo-node1", "demo-node2",
                                                           "demo-node3"]
    found = instances_of(ec2, "demo")
    assert len(found) == 4
    by_id = {i["InstanceId"]: i for i in found}
    head = next(n for n in created["nodes"] if n["role"] == "head")
    assert by_id[head["provider_id"]]["InstanceType"] == "t3.small"
    assert {i["InstanceType"] for i in found} == {"t3.small", "t3.micro"}
    assert {i["KeyName"] for i in found} == {"ehpc-demo"}

    # The user-data is exactly the bootstrap every provider runs (same renderer, same keys).
    spec = load_spec(overrides={("CLUSTER", "PROVIDER"): "aws", ("CLUSTER", "CLUSTER_PREFIX"): "demo",
                                ("CLUSTER", "CLUSTER SIZE"): "3", ("IMAGE", "AWS_IMAGE_ID"): image})
    from elastichpc.orchestration.fleet import Fleet
    from elastichpc.orchestration.plan import plan_nodes

    plans = {p.name: p for p in plan_nodes(spec, Fleet(spec),
                                            ClusterKeys(Journal().cluster_dir("demo"), "demo"))}
    for node in created["nodes"]:
        script = user_data(ec2, node["provider_id"])
        assert script == plans[node["name"]].boot_script
        assert "EHPC_LOGIN_USER=ubuntu" in script
    assert user_data(ec2, head["provider_id"]) != plans["demo-node1"].boot_script

    # One security group: SSH and the [FIREWALL] port from the caller's range only, all
    # traffic between the cluster's own nodes.
    groups = ec2.describe_security_groups(Filters=[{"Name": "tag:ehpc-cluster", "Values": ["demo"]}])
    (group,) = groups["SecurityGroups"]
    rules = {(p["IpProtocol"], p.get("FromPort")): p for p in group["IpPermissions"]}
    assert set(rules) == {("tcp", 22), ("tcp", 8080), ("-1", None)}
    assert rules[("tcp", 22)]["IpRanges"] == [{"CidrIp": CALLER}]
    assert rules[("-1", None)]["UserIdGroupPairs"][0]["GroupId"] == group["GroupId"]

    listing = ehpc(capsys, "nodes", "list", "demo", "--json")
    assert listing.code == 0, listing.err
    nodes = json.loads(listing.out)
    assert {n["name"]: n["state"] for n in nodes} == {
        "demo-head": "running", "demo-node1": "running", "demo-node2": "running", "demo-node3": "running"}
    assert all(n["address"] for n in nodes)

    done = ehpc(capsys, "cluster", "terminate", "demo", "--json")
    assert done.code == 0, done.err
    removed = json.loads(done.out)["removed"]
    assert len([r for r in removed if r.startswith("instance ")]) == 4
    assert any(r.startswith("security group ") for r in removed)
    assert "key pair ehpc-demo" in removed
    assert instances_of(ec2, "demo") == []
    assert ehpc(capsys, "cluster", "list", "--json").out.strip() == "[]"


def test_rerun_never_doubles_and_machines_come_from_tags(aws_env, capsys, ec2, image) -> None:
    assert ehpc(capsys, *create_args("again", 2, image, "--provision-only")).code == 0
    ids = {i["InstanceId"] for i in instances_of(ec2, "again")}
    # A retried create (status provisioned) launches nothing new.
    assert ehpc(capsys, *create_args("again", 2, image, "--provision-only")).code == 0
    assert {i["InstanceId"] for i in instances_of(ec2, "again")} == ids
    # One node lost in the cloud: the rerun launches that one only.
    lost = next(i for i in instances_of(ec2, "again") if i["AmiLaunchIndex"] == 1
                and i["InstanceType"] == "t3.micro")
    ec2.terminate_instances(InstanceIds=[lost["InstanceId"]])
    assert ehpc(capsys, *create_args("again", 2, image, "--provision-only")).code == 0
    now = instances_of(ec2, "again")
    assert len(now) == 3 and ids - {i["InstanceId"] for i in now} == {lost["InstanceId"]}
    settings = load_settings(overrides={("AWS", "REGION"): REGION})
    provider = get_provider("aws", settings)
    assert sorted(m.name for m in provider.machines("again")) == ["again-head", "again-node1", "again-node2"]
    # One compute node removed (resize, an autoscaled node powered down): that one only.
    removed = provider.terminate_nodes("again", ["again-node2"])
    assert len(removed) == 1 and removed[0].startswith("instance i-"), removed
    assert sorted(m.name for m in provider.machines("again")) == ["again-head", "again-node1"]
    assert ehpc(capsys, "cluster", "terminate", "again").code == 0


def test_terminate_finds_everything_by_tag_without_state(aws_env, capsys, ec2, image, state_dir) -> None:
    assert ehpc(capsys, *create_args("lost", 2, image, "--provision-only")).code == 0
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "ehpc-cluster", "Value": "lost"}]}])
    (state_dir / "state.db").unlink()  # the journal is gone
    for suffix in ("-wal", "-shm"):
        (state_dir / f"state.db{suffix}").unlink(missing_ok=True)
    done = ehpc(capsys, "cluster", "terminate", "lost", "--provider", "aws", "--aws-region", REGION,
                "--json")
    assert done.code == 0, done.err
    removed = json.loads(done.out)["removed"]
    assert f"volume {volume['VolumeId']}" in removed
    assert len([r for r in removed if r.startswith("instance ")]) == 3
    again = ehpc(capsys, "cluster", "terminate", "lost", "--provider", "aws", "--aws-region", REGION)
    assert again.code == 0 and "Nothing to terminate" in again.out


def test_user_errors_are_one_line(aws_env, capsys, image, monkeypatch: pytest.MonkeyPatch) -> None:
    # --provision-only everywhere: a create against moto must never try SSH to its made-up IPs
    bad_region = ehpc(capsys, *create_args("r", 1, image, "--aws-region", "Mars1", "--provision-only"))
    assert bad_region.code == 2
    assert bad_region.err.count("\n") == 1 and "[AWS] REGION 'Mars1'" in bad_region.err

    bogus_ami = ehpc(capsys, *create_args("ami", 1, "ami-00000000000000000", "--provision-only"))
    (line,) = [line for line in bogus_ami.err.splitlines() if line.startswith("ehpc: ")]
    assert bogus_ami.code == 2 and "InvalidAMIID" in line and "Traceback" not in bogus_ami.err
    assert ehpc(capsys, "cluster", "terminate", "ami").code == 0

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    no_keys = ehpc(capsys, *create_args("nokeys", 1, image, "--provision-only"))
    assert no_keys.code == 1 and no_keys.err.startswith("ehpc: error: no AWS credentials")


def test_guide_keys_region_and_retired_x509(aws_env, capsys, caplog, ec2, image, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's [AWS] section: accessKey/secretKey, REGION = EU1, pkey/cert warned about."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    conf = tmp_path / "cluster.conf"
    conf.write_text(
        "[AWS]\npkey= pk.pem\ncert= cert.pem\naccessKey= AKIAEXAMPLEKEY\nsecretKey= s3cr3t-example-value\n"
        "INSTANCE TYPE = t3.micro\nMASTER_TYPE = t3.small\nREGION = EU1\nZONE=eu-west-1b\n"
        "[CLUSTER]\nCLUSTER_PREFIX = guide\nCLUSTER SIZE = 1\nPROVIDER = aws\n"
        f"[IMAGE]\nAWS_IMAGE_ID = {image}\n"
    )
    result = ehpc(capsys, "cluster", "create", "-c", str(conf), "--provision-only", "--json")
    assert result.code == 0, result.err
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w.split(" (X.509)")[0] for w in warnings] == ["[AWS] pkey", "[AWS] cert"]
    assert "s3cr3t-example-value" not in result.out + result.err
    assert {i["Placement"]["AvailabilityZone"] for i in instances_of(ec2, "guide")} == {"eu-west-1b"}
    assert "s3cr3t" not in (Journal().directory / "state.db").read_bytes().decode(errors="replace")
    assert ehpc(capsys, "cluster", "terminate", "guide", "-c", str(conf)).code == 0


def test_guide_nfs_at_create_plans_nfs_on_an_ebs_volume(aws_env, capsys, image) -> None:
    """Guide 4.e (AWS): `--nfs-mountPoint=/nfs --nfs-newVolume=200` at create. The NFS step
    itself (volume, format, export, mounts) runs over SSH once the machines answer, which moto's
    never do: here the create is provisioned only and the planned step is checked."""
    result = ehpc(capsys, *create_args("nfsc", 2, image, "--nfs-mountPoint=/nfs", "--nfs-newVolume=200",
                                       "--provision-only"))
    assert result.code == 0, result.err
    spec = ClusterSpec.from_public(Journal().get_cluster("nfsc").spec)
    assert (spec.settings.get("NFS", "AWS_VOLUME_SIZE"), spec.settings.get("NFS", "AWS_MOUNT_POINT")) == (
        200, "/nfs")
    assert create_time_storage(spec) == (
        "shared directory /shared on NFS from the head, NFS from the head on an EBS volume")
    assert ehpc(capsys, "cluster", "terminate", "nfsc").code == 0


def test_the_users_key_pair_and_extra_group(aws_env, capsys, ec2, image) -> None:
    ec2.create_key_pair(KeyName="mine")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    extra = ec2.create_security_group(GroupName="office", Description="users' own", VpcId=vpc)["GroupId"]
    try:
        result = ehpc(capsys, *create_args("own", 1, image, "--aws-key-pair", "mine",
                                           "--aws-security-group", "office", "--provision-only"))
        assert result.code == 0, result.err
        found = instances_of(ec2, "own")
        assert {i["KeyName"] for i in found} == {"mine"}
        assert all(extra in {g["GroupId"] for g in i["SecurityGroups"]} for i in found)
        assert ehpc(capsys, "cluster", "terminate", "own").code == 0
        # Not made by ehpc, not tagged: both stay.
        assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == ["mine"]
        assert ec2.describe_security_groups(GroupIds=[extra])["SecurityGroups"]
        missing = ehpc(capsys, *create_args("own2", 1, image, "--aws-key-pair", "nope", "--provision-only"))
        assert missing.code == 2 and "[AWS] keyPair 'nope' does not exist" in missing.err
        assert ehpc(capsys, "cluster", "terminate", "own2").code == 0
    finally:
        ec2.delete_key_pair(KeyName="mine")
        ec2.delete_security_group(GroupId=extra)
