"""The three cloud emulators at once: moto (AWS), the GCE emulator and the ARM fake (Azure),
each from its own provider's test fixtures. No Azurite: these clusters use no blob images."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.aws.conftest import REGION, aws_env, console_dir, image, moto_url, proxy  # noqa: F401
from tests.azure.conftest import SUBSCRIPTION, TENANT, azure_tls  # noqa: F401
from tests.emulators.azure.azure_arm_fake import ArmFake
from tests.emulators.azure.azure_certs import TlsFiles, make_client_cert
from tests.gce.conftest import PROJECT, ZONE, gce, gce_server  # noqa: F401

SOURCE = "192.0.2.0/24"


@dataclass
class Clouds:
    arm: ArmFake
    conf: Path


@pytest.fixture
def clouds(aws_env, image: str, gce_server, azure_tls: TlsFiles, tmp_path: Path,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Clouds]:
    """All three emulators and a cluster.conf with the guide's [CROSS]: AWS = 1, GCE = 2,
    AZURE = 1, MASTER = aws. Requests anywhere but loopback go to a dead proxy."""
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    arm = ArmFake(azure_tls.cert, azure_tls.key, SUBSCRIPTION).start()
    client = make_client_cert(tmp_path / "keys")
    client_id = str(uuid.uuid4())
    arm.add_principal(client_id, client.certificate)
    conf = tmp_path / "cluster.conf"
    conf.write_text(f"""[CLUSTER]
CLUSTER_PREFIX = plcross
[IMAGE]
AWS_IMAGE_ID = {image}
[FIREWALL]
FW_SOURCE = {SOURCE}
[CROSS]
AWS = 1
AZURE = 1
GCE = 2
MASTER = aws
[AWS]
accessKey = testing
secretKey = testing
REGION = {REGION}
INSTANCE TYPE = t3.micro
MASTER_TYPE = t3.small
[GCE]
PROJECT_ID = {PROJECT}
ZONE = {ZONE}
[AZURE]
SUBSCRIPTION ID = {SUBSCRIPTION}
TENANT ID = {TENANT}
CLIENT ID = {client_id}
CERTIFICATE PATH = {client.pem}
REGION = WUS
ARM_ENDPOINT = {arm.endpoint}
AUTHORITY_HOST = {arm.endpoint}
CA_BUNDLE = {azure_tls.ca}
""")
    yield Clouds(arm, conf)
    arm.stop()
