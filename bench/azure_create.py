"""Wall time of an N-node Azure create (provision only) and terminate, against the ARM fake.

Starts the ARM fake on loopback (HTTPS, a fresh CA and service principal), then for N = 1, 8, 32
compute nodes (or the sizes given) runs `create_cluster(..., provision_only=True)` and
`terminate_cluster`, with no added latency and with 0.5 s per VM create (the fake's latency
fault: shows that VMs are created concurrently). Counts the ARM calls of each run. Writes
bench/results/azure_create.json. Usage: python bench/azure_create.py [SIZES...]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulators.azure.azure_arm_fake import ArmFake  # noqa: E402
from tests.emulators.azure.azure_certs import make_client_cert, make_tls  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "azure_create.json"
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000be"
LATENCIES = (0.0, 0.5)


def run(fake: ArmFake, size: int, latency: float) -> dict[str, float | int]:
    from elastichpc.config import load_spec
    from elastichpc.orchestration.create import create_cluster
    from elastichpc.orchestration.terminate import terminate_cluster

    fake.faults.latency = latency
    fake.stats.requests.clear()
    name = f"bench{size}"
    spec = load_spec(overrides={("CLUSTER", "CLUSTER_PREFIX"): name, ("CLUSTER", "CLUSTER SIZE"): str(size)})
    start = time.perf_counter()
    create_cluster(spec, provision_only=True)
    created = time.perf_counter() - start
    calls = len(fake.stats.requests)
    start = time.perf_counter()
    terminate_cluster(name)
    return {"nodes": size, "vm_latency_s": latency, "create_s": round(created, 2),
            "terminate_s": round(time.perf_counter() - start, 2), "arm_calls_create": calls}


def main() -> None:
    sizes = [int(s) for s in sys.argv[1:]] or [1, 8, 32]
    with tempfile.TemporaryDirectory() as work:
        tls = make_tls(Path(work) / "tls")
        client = make_client_cert(Path(work) / "keys")
        client_id = str(uuid.uuid4())
        fake = ArmFake(tls.cert, tls.key, SUBSCRIPTION).start()
        fake.add_principal(client_id, client.certificate)
        conf = Path(work) / "cluster.conf"
        conf.write_text(
            f"[CLUSTER]\nPROVIDER = azure\n[FIREWALL]\nFW_SOURCE = 192.0.2.0/24\n[AZURE]\n"
            f"SUBSCRIPTION ID = {SUBSCRIPTION}\nTENANT ID = {uuid.uuid4()}\nCLIENT ID = {client_id}\n"
            f"CERTIFICATE PATH = {client.pem}\nARM_ENDPOINT = {fake.endpoint}\n"
            f"AUTHORITY_HOST = {fake.endpoint}\nCA_BUNDLE = {tls.ca}\n"
        )
        os.environ.update(EHPC_CONFIG=str(conf), EHPC_STATE_DIR=str(Path(work) / "state"),
                          HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1")
        try:
            runs = [run(fake, size, latency) for latency in LATENCIES for size in sizes]
        finally:
            fake.stop()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(), "runs": runs},
                                  indent=2) + "\n")
    for row in runs:
        print(row)


if __name__ == "__main__":
    main()
