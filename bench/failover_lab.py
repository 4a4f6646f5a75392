"""Cloud lab: spot capacity lost on one cloud, rebuilt on others (issue 12, guide chapter 6), as
storms (issue 26): several nodes taken away in the same second.

The cluster of tests/lab/test_failover.py: head on AWS, `POOL = gce:1:spot, azure:1:spot,
aws:2:spot`, `FAILOVER = gce, azure, aws`. Two storms, each once:
- aws_2_to_gce: AWS out of spot capacity takes both its nodes back; the agent rebuilds both on
  GCE (the guide's own case);
- gce_3_azure_1_to_azure: GCE, out of capacity, preempts its three nodes while Azure evicts its
  one; AWS is still cooling down, GCE refuses, and all four come back on Azure.
Each is timed from the lab's interruption call to the last "replaced" event (every replacement
idle in Slurm) and split by the agent's events and the steps it logged on the head: detection
(to "reclaimed"), take-down (scheduler down + requeue, to "down"), launch (with the clouds'
refusals: `refused_s`, from the take-down to the last refusal, is part of it), the overlay join
(each node's own key read from its console, the hub updated), boot (SSH), configure (the nodes
that stay, the head, the new nodes), the scheduler, the preshared key; `other` is what none
covers. No job runs: the split is the replacements' alone.

Needs root; starts its own lab (namespace `ehpclab-bench`) and removes it.
Usage: python bench/failover_lab.py   (from the repository root)
Writes bench/results/failover_lab.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elastic_lab import AGENT_LOG, bench_lab, lab_cluster  # noqa: E402
from elastic_local import steps_after  # noqa: E402
from results_file import write_results  # noqa: E402

from tests.lab.clouds import LabCli, failover_cli, machines_of, replaced_in, wait_for  # noqa: E402
from tests.lab.control import Lab  # noqa: E402

NAME = "lbbfo"
NODES = [f"{NAME}-node{n}" for n in (1, 2, 3, 4)]  # gce, azure, aws, aws
STORMS = (("aws_2_to_gce", "aws", NODES[2:]), ("gce_3_azure_1_to_azure", "gce", NODES))
PHASES = {  # the agent's step titles, by the phase they count in
    "launch_s": ("launching",), "overlay_join_s": ("reading the overlay keys", "letting them"),
    "boot_s": ("waiting for SSH",), "configure_s": ("updating", "shared directory", "configuring"),
    "scheduler_s": ("waiting for",), "psk_s": ("giving",),
}  # (a step counts in the first phase it matches: "waiting for SSH" is boot's)


def phase_of(title: str) -> str:
    return next((phase for phase, titles in PHASES.items() if title.startswith(titles)), "")



def storm(lab: Lab, cli: LabCli, out: str, victims: list[str]) -> dict[str, float]:
    with lab.inside():
        lab.call("POST", f"/capacity/{out}?none")
    ids = [machines_of(lab)[v]["id"] for v in victims]
    start = time.time()
    with lab.inside():
        lab.call("POST", f"/interrupt/{','.join(ids)}")

    def ended() -> list[dict[str, Any]]:
        events = [e for e in json.loads(cli.checked("cluster", "events", NAME, "--json"))
                  if e["at"] >= start]
        done = {n for e in events for n in replaced_in(f"{e['kind']} {e['message']}")}
        return events if set(victims) <= done else []

    events = wait_for(ended, 900, f"the replacements of {', '.join(victims)}")
    if any(e["kind"] == "setup-failed" for e in events):
        raise SystemExit(f"{NAME}: a replacement's set-up failed (`ehpc cluster events {NAME}`)")
    first = {e["kind"]: e["at"] for e in reversed(events)}
    last = {e["kind"]: e["at"] for e in events}
    steps = steps_after(cli.checked("ssh", NAME, "--", AGENT_LOG), start)
    split = {"detection_s": first["reclaimed"] - start, "take_down_s": first["down"] - first["reclaimed"],
             **{phase: sum(v for k, v in steps.items() if phase_of(k) == phase) for phase in PHASES}}
    total = last["replaced"] - start
    split["other_s"] = total - sum(split.values())
    # Inside launch_s: from the take-down to the last refusal (the clouds that said no).
    refused = last["launch-failed"] - first["down"]
    return {**{k: round(v, 2) for k, v in split.items()}, "refused_s": round(refused, 2),
            "loss_to_all_idle_s": round(total, 2), "nodes": len(victims)}


def main() -> int:
    load = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with bench_lab() as lab, tempfile.TemporaryDirectory() as tmp:
        cli = failover_cli(lab, Path(tmp))
        with lab_cluster(cli, NAME, ["cluster", "create", "--name", NAME]):
            for label, out, victims in STORMS:
                results[label] = storm(lab, cli, out, victims)
                print(label, results[label], flush=True)
                with lab.inside():
                    lab.call("POST", f"/capacity/{out}")
    print(write_results("failover_lab", {
        "benchmark": "cloud lab: spot nodes lost at once while their cloud is out of capacity -> "
                     "every replacement idle in Slurm on the next clouds (head agent on AWS)",
        "load_average_at_start": [round(x, 2) for x in load],
        "wall_s": round(time.perf_counter() - started, 1), **results,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
