"""Client-side time and EC2 API calls of an N-node AWS create, against moto_server on loopback.

For N = 1, 10, 100, 1000 compute nodes (or the sizes given): plans the nodes and runs the AWS
provider's launch (every EC2 call a create makes) with a botocore before-call hook counting each
call. Client-side time is this process's CPU time (moto runs in its own process); wall time
includes moto's work. Writes bench/results/aws_create.json.
Usage: python bench/aws_create.py [SIZES...]
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "aws_create.json"
REGION = "eu-west-1"


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MOTO_ENABLE_AMI_VALIDATION": "1", "MOTO_ENABLE_KEYPAIR_VALIDATION": "1",
           "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "1"}
    process = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("moto_server did not start")


def measure(size: int, image: str) -> dict[str, Any]:
    from elastichpc.config import load_spec
    from elastichpc.orchestration.fleet import Fleet
    from elastichpc.orchestration.plan import plan_nodes
    from elastichpc.providers import no_report
    from elastichpc.remote import ClusterKeys
    from elastichpc.state import Journal

    name = f"bench{size}"
    spec = load_spec(overrides={
        ("CLUSTER", "PROVIDER"): "aws", ("CLUSTER", "CLUSTER_PREFIX"): name,
        ("CLUSTER", "CLUSTER SIZE"): str(size), ("AWS", "REGION"): REGION,
        ("IMAGE", "AWS_IMAGE_ID"): image, ("AWS", "INSTANCE TYPE"): "t3.micro",
    })
    fleet = Fleet(spec)
    provider = fleet.head
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    provider.ec2.meta.events.register("before-call.ec2", count)
    start, cpu = time.perf_counter(), time.process_time()
    plans = plan_nodes(spec, fleet, ClusterKeys(Journal().cluster_dir(name), name))
    machines = provider.launch(spec, plans, no_report)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(machines) == size + 1
    created = dict(sorted(calls.items()))
    provider.terminate(name, no_report)
    return {"compute_nodes": size, "api_calls": sum(created.values()), "calls": created,
            "client_side_s": round(cpu, 3), "wall_s_with_moto": round(wall, 3)}


def main(sizes: list[int]) -> None:
    moto, url = start_moto()
    try:
        with tempfile.TemporaryDirectory() as state:
            os.environ.update(EHPC_STATE_DIR=state, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench",
                              AWS_EC2_METADATA_DISABLED="true",
                              AWS_SECRET_ACCESS_KEY="bench", EHPC_CALLER_CIDR="203.0.113.0/24")
            import boto3

            images = boto3.client("ec2", region_name=REGION).describe_images(Owners=["amazon"])["Images"]
            image = sorted(i["ImageId"] for i in images)[0]
            runs = []
            for size in sizes:
                runs.append(measure(size, image))
                print(json.dumps(runs[-1]), flush=True)
    finally:
        moto.terminate()
        moto.wait()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "aws_create", "emulator": "moto_server on 127.0.0.1 (not the live EC2 API)",
        "python": platform.python_version(), "cpus": os.cpu_count(), "runs": runs,
    }, indent=2) + "\n")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 100, 1000])
