"""moto_server (with moto's validation settings) on a free loopback port, the fault proxy in
front of it, and a leak check after every test: nothing tagged ehpc-cluster may remain."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.aws_fault_proxy import FaultProxy
from tests.emulators.aws_moto import CONSOLE_DIR_ENV

ROOT = Path(__file__).resolve().parents[2]

REGION = "eu-west-1"
VALIDATION = {
    "MOTO_ENABLE_AMI_VALIDATION": "1",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "1",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "1",
}
CALLER = "203.0.113.0/24"  # TEST-NET-3: the "caller's range" the firewall rules open


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def console_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where an instance's console text goes (<instance-id>.log) for GetConsoleOutput."""
    return tmp_path_factory.mktemp("consoles")


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory, console_dir: Path) -> Iterator[str]:
    """moto with the Debian AMI, its SSM parameter, and consoles read from files (aws_moto)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.emulators.aws_moto", "-H", "127.0.0.1", "-p", str(port)],
            env={**os.environ, **VALIDATION, CONSOLE_DIR_ENV: str(console_dir)},
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"moto_server exited: {Path(log).read_text()}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(moto_url)
    fault_proxy.start()
    yield fault_proxy
    fault_proxy.stop()


@pytest.fixture
def aws_env(
    state_dir: Path, proxy: FaultProxy, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultProxy]:
    """ehpc pointed at moto through the proxy with dummy credentials, via the standard
    variables only. Yields the proxy; afterwards checks that nothing tagged is left."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(state_dir.parent / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(state_dir.parent / "no-aws-credentials"))
    monkeypatch.setenv("EHPC_CALLER_CIDR", CALLER)
    # Without keys the credential chain would ask the instance metadata service: never here.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("EHPC_AWS_MAX_ATTEMPTS", "5")
    yield proxy
    proxy.faults.reset()
    leftovers = tagged_resources(moto_ec2(moto_url))
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    assert leftovers == [], f"left behind: {leftovers}"


def moto_ec2(url: str) -> Any:
    import boto3

    return boto3.client("ec2", region_name=REGION, endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def tagged_resources(ec2: Any, cluster: str = "") -> list[str]:
    """Everything of ours moto still holds: anything tagged ehpc-cluster (=`cluster` when
    given), in a live state."""
    tagged = ([{"Name": "tag:ehpc-cluster", "Values": [cluster]}] if cluster
              else [{"Name": "tag-key", "Values": ["ehpc-cluster"]}])
    found = [
        f"instance {i['InstanceId']}"
        for r in ec2.describe_instances(Filters=tagged)["Reservations"] for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    found += [f"volume {v['VolumeId']}" for v in ec2.describe_volumes(Filters=tagged)["Volumes"]]
    found += [f"group {g['GroupId']}" for g in ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]]
    found += [f"key pair {k['KeyName']}" for k in ec2.describe_key_pairs(Filters=tagged)["KeyPairs"]]
    found += [
        f"spot request {s['SpotInstanceRequestId']}"
        for s in ec2.describe_spot_instance_requests(Filters=tagged)["SpotInstanceRequests"]
        if s["State"] in ("open", "active")
    ]
    return found


@pytest.fixture(scope="session")
def image(moto_url: str) -> str:
    """An AMI moto knows (its validation refuses made-up ones)."""
    images = moto_ec2(moto_url).describe_images(Owners=["amazon"])["Images"]
    return str(sorted(i["ImageId"] for i in images)[0])


@pytest.fixture
def ec2(moto_url: str) -> Any:
    """A client straight to moto (not through the proxy) for checking what exists."""
    return moto_ec2(moto_url)
