"""What a create takes from AWS's own conventions: the region from the standard chain, the
default image from Debian's SSM public parameter, and the head's host key from its console."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from elastichpc.config import load_settings
from elastichpc.orchestration.hostkeys import read_console_key
from elastichpc.providers import get_provider
from elastichpc.providers.aws.client import region_name
from tests.emulators.aws_moto import DEBIAN_AMI

from .conftest import REGION
from .helpers import ehpc


def test_region_chain(aws_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert region_name(load_settings()) == "us-east-1"  # nothing set: the built-in default
    config = tmp_path / "config"
    config.write_text("[default]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert region_name(load_settings()) == "ap-southeast-2"  # the profile's
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert region_name(load_settings()) == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    assert region_name(load_settings()) == "eu-north-1"
    # [AWS] REGION in cluster.conf or on the command line comes first, the guide's names too.
    assert region_name(load_settings(overrides={("AWS", "REGION"): "EU1"})) == "eu-west-1"


def test_default_image_is_debians_from_ssm_with_its_login_user(
        aws_env, capsys, ec2: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)  # no --aws-region: the standard variable
    made = ehpc(capsys, "cluster", "create", "--provider", "aws", "--name", "cfimg", "--size", "1",
                "--aws-instance-type", "t3.micro", "--aws-master-type", "t3.micro",
                "--provision-only", "--json")
    assert made.code == 0, made.err
    found = ec2.describe_instances(Filters=[{"Name": "tag:ehpc-cluster", "Values": ["cfimg"]}])
    instances = [i for r in found["Reservations"] for i in r["Instances"]]
    assert {i["ImageId"] for i in instances} == {DEBIAN_AMI} and len(instances) == 2
    for instance in instances:
        data = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
        script = base64.b64decode(data["UserData"]["Value"]).decode()
        assert "EHPC_LOGIN_USER=admin" in script
        assert "\nEHPC_HOST_KEY=" not in script  # no host key travels in user-data
    assert {n["info"]["login_user"] for n in json.loads(made.out)["nodes"]} == {"admin"}
    assert ehpc(capsys, "cluster", "terminate", "cfimg").code == 0


def test_the_heads_host_key_is_read_from_its_console_output(
        aws_env, capsys, console_dir: Path, image: str, state_dir: Path) -> None:
    from .helpers import create_args

    assert ehpc(capsys, *create_args("cfkey", 1, image, "--provision-only")).code == 0
    provider = get_provider("aws", load_settings(overrides={("AWS", "REGION"): REGION}))
    head = next(m for m in provider.machines("cfkey") if m.role == "head")
    # Before our boot script ran the console holds no key: moto's sample text.
    assert "ehpc-host-key" not in provider.console_output(head)
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsQ0S2Wb2u8h7Jx6r0T9m8B5tq1H2w0E3f3mVZ3lK7c"
    (console_dir / f"{head.provider_id}.log").write_text(
        "[   12.1] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final'\n"
        f"ehpc-host-key {key}\r\n"
        "ehpc-host-key ssh-ed25519 AAAAlater-lines-do-not-count\n")
    assert read_console_key(provider, head, timeout=5) == key
    # ssh_config pins nothing not learned: no line for any node yet (provision-only).
    assert (state_dir / "clusters" / "cfkey" / "known_hosts").read_text().strip() == ""
    assert ehpc(capsys, "cluster", "terminate", "cfkey").code == 0
