"""Cloud lab: `ehpc cluster create` to the first job's output, for 1, 2 and 4 compute nodes on
AWS, GCE and Azure, where every instance is a real Debian machine (tests/lab). Each run is split
as create reports its steps: launch (the API calls), boot (until SSH answers on every node, the
user-data having run), configure (packages from the lab's mirror, Slurm, until the nodes are
idle), then the first job (`job submit --wait`). Every cluster gets its shared directory on
GlusterFS at create (`--gluster`), the shared storage that works in the lab on every cloud. A
create that fails is recorded with its error; when only its last step (starting the head agent)
failed, the cluster is up and the first job is still measured.

Needs root; starts its own lab (namespace `ehpclab-bench`) and removes it.
Usage: python bench/lab_create.py [CLOUD...] [--sizes 1,2,4]   (from the repository root)
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results_file import write_results  # noqa: E402
from tests.lab.clouds import cli_for, create_argv  # noqa: E402
from tests.lab.control import Lab  # noqa: E402

STEP = re.compile(r"^\s*[✓✗] (.+?)(?: \((\d+(?:\.\d+)?)s\))?$")
PHASES = [("launch", ("launching",)), ("boot", ("waiting for SSH", "reading host keys", "waiting for spot")),
          ("configure", ("configuring", "waiting for", "shared", "NFS", "GlusterFS"))]


def phases(progress: str) -> dict[str, float]:
    """Seconds per phase from create's step lines ("  ✓ launching ... (0.5s)")."""
    spent: dict[str, float] = {}
    for line in progress.splitlines():
        found = STEP.match(line)
        if not found or found.group(2) is None:
            continue
        step, seconds = found.group(1), float(found.group(2))
        phase = next((p for p, starts in PHASES if step.startswith(starts)), "other")
        spent[phase] = round(spent.get(phase, 0.0) + seconds, 2)
    return spent


def measure(lab: Lab, cloud: str, size: int, home: Path) -> dict[str, Any]:
    home.mkdir(parents=True)
    cli = cli_for(lab, cloud, home)
    name = f"lbb{cloud[:2]}{size}"
    start = time.perf_counter()
    created = cli(*create_argv(lab, cloud, name, size, "--gluster"))
    run: dict[str, Any] = {"compute_nodes": size, "create_s": round(time.perf_counter() - start, 2),
                           "steps": phases(created.err)}
    if created.code != 0:
        run["error"] = created.err.strip().splitlines()[-1][:300]
    if created.code == 0:
        start = time.perf_counter()
        job = cli("job", "submit", name, "--wait", "--command", "hostname")
        run["first_job_s"] = round(time.perf_counter() - start, 2)
        if job.code != 0:
            run["first_job_error"] = job.err.strip().splitlines()[-1][:300]
    cli("cluster", "terminate", name)
    return run


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("clouds", nargs="*", default=["aws", "gce", "azure"])
    parser.add_argument("--sizes", default="1,2,4")
    args = parser.parse_args()
    lab = Lab("ehpclab-bench")
    lab.up()
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for cloud in args.clouds:
                for size in [int(s) for s in args.sizes.split(",")]:
                    run = measure(lab, cloud, size, Path(tmp) / f"{cloud}{size}")
                    print(cloud, run, flush=True)
                    results.setdefault(cloud, []).append(run)
    finally:
        lab.down()
    print(write_results("lab_create", {"clouds": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
