"""Azure emulators for the tests: Azurite (blobs, one per session) and the ARM fake (one per test,
HTTPS with a CA made for the session), plus a cluster.conf pointing ehpc at them.

A dead proxy is set for everything but loopback, so a request meant for the real Azure fails
instead of leaving the machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulators.azure.azure_arm_fake import ArmFake
from tests.emulators.azure.azure_certs import ClientCert, TlsFiles, make_client_cert, make_tls
from tests.emulators.azure.azurite_process import (
    ACCOUNT,
    ACCOUNT_KEY,
    AZURITE_BLOB,
    Azurite,
    start_azurite,
)

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000e5"
TENANT = "11111111-1111-1111-1111-1111111111e5"
CONTAINER = "vhds"


@dataclass
class AzureEmulators:
    fake: ArmFake
    azurite: Azurite
    tls: TlsFiles
    client: ClientCert
    client_id: str
    conf: Path

    def write_conf(self, **extra: str) -> Path:
        """cluster.conf for the emulators; `extra` maps 'SECTION.KEY' to a value to add or
        replace ('' removes the key)."""
        sections: dict[str, dict[str, str]] = {
            "CLUSTER": {"PROVIDER": "azure"},
            "FIREWALL": {"FW_SOURCE": "192.0.2.0/24"},
            "AZURE": {
                "SUBSCRIPTION ID": SUBSCRIPTION, "TENANT ID": TENANT, "CLIENT ID": self.client_id,
                "CERTIFICATE PATH": str(self.client.pem), "STORAGE ACCOUNT": ACCOUNT,
                "STORAGE KEY": ACCOUNT_KEY, "CONTAINER": CONTAINER, "REGION": "WUS",
                "ARM_ENDPOINT": self.fake.endpoint, "AUTHORITY_HOST": self.fake.endpoint,
                "BLOB_ENDPOINT": self.azurite.blob_endpoint, "CA_BUNDLE": str(self.tls.ca),
            },
        }
        for name, value in extra.items():
            section, key = name.split(".", 1)
            if value == "":
                sections.setdefault(section, {}).pop(key, None)
            else:
                sections.setdefault(section, {})[key] = value
        self.conf.write_text("".join(
            f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()) + "\n"
            for section, keys in sections.items()
        ))
        return self.conf


@pytest.fixture(scope="session")
def azure_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("azure-tls"))


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    if not AZURITE_BLOB.exists():
        pytest.skip("Azurite is not installed: run scripts/install-azurite.sh")
    process = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield process
    process.stop()


@pytest.fixture
def azure(
    azure_tls: TlsFiles, azurite: Azurite, tmp_path: Path, state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AzureEmulators]:
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                "EHPC_AZURE_ENDPOINT", "EHPC_AZURE_CA_BUNDLE", "EHPC_AZURE_AUTHORITY", "EHPC_CALLER_CIDR"):
        monkeypatch.delenv(var, raising=False)
    fake = ArmFake(azure_tls.cert, azure_tls.key, SUBSCRIPTION).start()
    client = make_client_cert(tmp_path / "keys")
    client_id = str(uuid.uuid4())
    fake.add_principal(client_id, client.certificate)
    fake.add_storage_account("ehpc-storage", ACCOUNT, azurite.blob_endpoint, ACCOUNT_KEY)
    emulators = AzureEmulators(fake, azurite, azure_tls, client, client_id, tmp_path / "cluster.conf")
    monkeypatch.setenv("EHPC_CONFIG", str(emulators.write_conf()))
    yield emulators
    fake.stop()
