"""Cloud lab: autoscaling on AWS (issue 12). A cluster with no compute node (`--max-nodes 1
--scaledown-idle 10`); each round submits one job and times it from the submit to running on a
newly powered-up EC2 instance (Slurm's power saving, the head agent's launch through the cloud's
API, boot, configure: the agent's steps from its log), and from then to the node's removal when
idle. The measurement is bench/elastic_local.py's, run in the lab.

Needs root; starts its own lab (namespace `ehpclab-bench`) and removes it.
Usage: python bench/autoscale_lab.py [ROUNDS]   (from the repository root)
Writes bench/results/autoscale_lab.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elastic_lab import AGENT_LOG, bench_lab, lab_cluster  # noqa: E402
from elastic_local import median, one_power_up  # noqa: E402
from results_file import write_results  # noqa: E402

from tests.lab.clouds import aws_args, cli_for  # noqa: E402

NAME = "lbbauto"


def main(rounds: int) -> int:
    load = os.getloadavg()
    started = time.perf_counter()
    runs = []
    with bench_lab() as lab, tempfile.TemporaryDirectory() as tmp:
        cli = cli_for(lab, "aws", Path(tmp))
        create = ["cluster", "create", "--provider", "aws", "--name", NAME, *aws_args(lab),
                  "--max-nodes", "1", "--scaledown-idle", "10"]
        with lab_cluster(cli, NAME, create):
            for _ in range(rounds):
                runs.append(one_power_up(cli.checked, NAME, AGENT_LOG))
                print(runs[-1], flush=True)
    print(write_results("autoscale_lab", {
        "benchmark": "cloud lab (AWS): job submitted to a cluster with no compute node -> running on "
                     "a powered-up instance, and idle -> removed (head agent, Slurm power saving)",
        "rounds": rounds, "load_average_at_start": [round(x, 2) for x in load],
        "wall_s": round(time.perf_counter() - started, 1),
        "median": median(runs), "runs": runs,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2))
