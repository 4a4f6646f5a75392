"""Cloud lab: spot capacity lost on one cloud, rebuilt on the next (issue 12, guide chapter 6).

The cluster of tests/lab/test_failover.py: head on AWS, `POOL = gce:1:spot, azure:1:spot, aws:1`,
`FAILOVER = gce, azure, aws`. Two failovers, each once: GCE out of capacity preempts its node,
which the head agent rebuilds on Azure; then Azure out of capacity too evicts its node, rebuilt
on AWS. Each is timed from the lab's interruption call to the agent's "replaced" event and split
as bench/elastic_local.py splits a replacement, plus `refused_s` (the launch the cloud refused,
to the agent's "launch-failed" event) and `overlay_join_s` (reading the node's own overlay key
from its console and letting it into the hub), taken out of `other_s`. No job runs: the split
is the replacement's alone.

Needs root; starts its own lab (namespace `ehpclab-bench`) and removes it.
Usage: python bench/failover_lab.py   (from the repository root)
Writes bench/results/failover_lab.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elastic_lab import AGENT_LOG, bench_lab, interrupted, lab_cluster  # noqa: E402
from elastic_local import replacement_split, steps_after  # noqa: E402
from results_file import write_results  # noqa: E402

from tests.lab.clouds import LabCli, failover_cli  # noqa: E402
from tests.lab.control import Lab  # noqa: E402

NAME = "lbbfo"
FAILOVERS = ((f"{NAME}-node1", "gce", "azure"), (f"{NAME}-node2", "azure", "aws"))


def one_failover(lab: Lab, cli: LabCli, victim: str, cloud: str) -> dict[str, float]:
    with lab.inside():
        lab.call("POST", f"/capacity/{cloud}?none")
    start, at = interrupted(lab, cli, NAME, victim, ends=("replaced",))  # past the refusal
    steps = steps_after(cli.checked("ssh", NAME, "--", AGENT_LOG), start)
    split = replacement_split(start, at, steps)
    refused = at["launch-failed"] - at["down"]
    joined = sum(v for k, v in steps.items() if k.startswith(("reading the overlay keys", "letting them")))
    split["other_s"] = round(split["other_s"] - refused - joined, 2)
    return {**split, "refused_s": round(refused, 2), "overlay_join_s": round(joined, 2)}


def main() -> int:
    load = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with bench_lab() as lab, tempfile.TemporaryDirectory() as tmp:
        cli = failover_cli(lab, Path(tmp))
        with lab_cluster(cli, NAME, ["cluster", "create", "--name", NAME]):
            for victim, cloud, to in FAILOVERS:
                results[f"{cloud}_to_{to}"] = one_failover(lab, cli, victim, cloud)
                print(cloud, "->", to, results[f"{cloud}_to_{to}"], flush=True)
    print(write_results("failover_lab", {
        "benchmark": "cloud lab: a spot node lost while its cloud is out of capacity -> its "
                     "replacement on the next cloud idle in Slurm (head agent on AWS)",
        "load_average_at_start": [round(x, 2) for x in load],
        "wall_s": round(time.perf_counter() - started, 1), **results,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
