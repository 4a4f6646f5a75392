"""One command for the Azure emulators: `python3 -m tests.emulators.azure [DIR]` (from the
project's root).

Makes certificates in DIR (default ./azure-emulators), starts Azurite and the ARM fake on free
loopback ports, registers a service principal, writes DIR/cluster.conf pointing ehpc at them and
prints the environment to use. Ctrl-C or SIGTERM stops both.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from pathlib import Path

from .azure_arm_fake import ArmFake
from .azure_certs import make_client_cert, make_tls
from .azurite_process import ACCOUNT, ACCOUNT_KEY, start_azurite

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000e5"
TENANT = "11111111-1111-1111-1111-1111111111e5"
STORAGE_GROUP = "ehpc-storage"


def main() -> None:
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "azure-emulators").resolve()
    tls = make_tls(directory / "tls")
    client = make_client_cert(directory / "keys")
    client_id = str(uuid.uuid4())
    azurite = start_azurite(directory / "azurite")
    fake = ArmFake(tls.cert, tls.key, SUBSCRIPTION).start()
    fake.add_principal(client_id, client.certificate)
    fake.add_storage_account(STORAGE_GROUP, ACCOUNT, azurite.blob_endpoint, ACCOUNT_KEY)
    conf = directory / "cluster.conf"
    conf.write_text(
        "[CLUSTER]\nPROVIDER = azure\n\n[FIREWALL]\nFW_SOURCE = 192.0.2.0/24\n\n[AZURE]\n"
        f"SUBSCRIPTION ID = {SUBSCRIPTION}\nTENANT ID = {TENANT}\nCLIENT ID = {client_id}\n"
        f"CERTIFICATE PATH = {client.pem}\nSTORAGE ACCOUNT = {ACCOUNT}\n"
        f"STORAGE KEY = {ACCOUNT_KEY}\nCONTAINER = vhds\nREGION = WUS\n"
        f"ARM_ENDPOINT = {fake.endpoint}\nAUTHORITY_HOST = {fake.endpoint}\n"
        f"BLOB_ENDPOINT = {azurite.blob_endpoint}\nCA_BUNDLE = {tls.ca}\n"
    )
    print(f"ARM fake: {fake.endpoint}   Azurite blobs: {azurite.blob_endpoint}")
    print(f"export EHPC_CONFIG={conf} EHPC_CALLER_CIDR=192.0.2.0/24")
    print("Ctrl-C (or SIGTERM) stops the emulators.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        azurite.stop()


if __name__ == "__main__":
    main()
