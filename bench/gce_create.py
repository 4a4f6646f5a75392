"""`ehpc cluster create --provider gce --provision-only` and `cluster terminate` against the
Compute Engine emulator: wall time and API requests for 1, 10, 100 and 500 workers.

The emulator answers at once (no VM boots), so the times are ehpc's own cost: building the
requests, the SDK, HTTP on loopback. Writes bench/results/gce_create.json.
Usage: python bench/gce_create.py [SIZES...]   (from the repository root)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulators.gce import EmulatorServer  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gce_create.json"


def run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "elastichpc", *argv], env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ehpc {' '.join(argv)} failed: {proc.stderr}")
    return time.perf_counter() - start


def main(sizes: list[int]) -> None:
    server = EmulatorServer().start()
    runs = []
    try:
        with tempfile.TemporaryDirectory() as state:
            env = {**os.environ, "EHPC_STATE_DIR": state, "EHPC_GCE_ENDPOINT": server.url,
                   "EHPC_CALLER_CIDR": "192.0.2.0/24", "NO_GCE_CHECK": "true"}
            gce = ["--provider", "gce", "--gce-project-id", "bench"]
            for size in sizes:
                name = f"bench{size}"
                server.emulator.clear_log()
                create_s = run(["cluster", "create", "--name", name, "--size", str(size),
                                "--provision-only", *gce], env)
                create_requests = len(server.emulator.requests())
                server.emulator.clear_log()
                terminate_s = run(["cluster", "terminate", name], env)
                runs.append({"workers": size, "create_s": round(create_s, 2),
                             "create_api_requests": create_requests,
                             "terminate_s": round(terminate_s, 2),
                             "terminate_api_requests": len(server.emulator.requests())})
                print(runs[-1], flush=True)
    finally:
        server.stop()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "gce_create", "machine": platform.machine(),
                                   "cpus": os.cpu_count(), "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 100, 500])
