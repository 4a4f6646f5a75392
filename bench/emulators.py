"""The cloud emulators as the cloud benches start them, all on loopback: an image moto knows,
the Azure ARM fake with a principal and a cluster.conf for it; and, on import, the settings
that keep every SDK (and the CLI processes a bench starts) off the network."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# google.auth reads these when first imported: never look for a metadata server off the machine.
os.environ.update(NO_GCE_CHECK="true", GCE_METADATA_HOST="127.0.0.1:9", GCE_METADATA_IP="127.0.0.1:9",
                  AWS_EC2_METADATA_DISABLED="true", EHPC_CALLER_CIDR="192.0.2.0/24",
                  EHPC_WHAT_IS_MY_IP="http://127.0.0.1:9/")

from tests.aws.conftest import moto_ec2  # noqa: E402
from tests.emulators.azure.azure_arm_fake import ArmFake  # noqa: E402
from tests.emulators.azure.azure_certs import make_client_cert, make_tls  # noqa: E402


def moto_image(url: str) -> str:
    """An AMI moto knows (its validation refuses made-up ones)."""
    return str(sorted(i["ImageId"] for i in moto_ec2(url).describe_images(Owners=["amazon"])["Images"])[0])


@contextmanager
def arm_fake() -> Iterator[tuple[ArmFake, Path]]:
    """The ARM fake (HTTPS, a CA of its own) with a service principal, and a cluster.conf that
    points ehpc at it; a dead proxy for everything but loopback is the caller's to set."""
    work = Path(tempfile.mkdtemp(prefix="ehpc-bench-azure-"))
    tls, client = make_tls(work / "tls"), make_client_cert(work / "keys")
    client_id, subscription = str(uuid.uuid4()), "00000000-0000-0000-0000-0000000000fa"
    fake = ArmFake(tls.cert, tls.key, subscription).start()
    fake.add_principal(client_id, client.certificate)
    conf = work / "cluster.conf"
    conf.write_text(
        f"[AZURE]\nSUBSCRIPTION ID = {subscription}\nTENANT ID = {uuid.uuid4()}\n"
        f"CLIENT ID = {client_id}\nCERTIFICATE PATH = {client.pem}\nARM_ENDPOINT = {fake.endpoint}\n"
        f"AUTHORITY_HOST = {fake.endpoint}\nCA_BUNDLE = {tls.ca}\n"
    )
    try:
        yield fake, conf
    finally:
        fake.stop()
        shutil.rmtree(work, ignore_errors=True)
