"""EMBOSS seqret on a local ElasticHPC cluster, as an array job spread over the compute nodes.

Builds a cluster (a head and three compute nodes, each a real Linux host running sshd, munge and
Slurm), copies twelve FASTA files to its shared directory, converts each to EMBL with seqret in
one Slurm array task, prints what each task did and where it ran, and terminates the cluster
(pass --keep to leave it up). It uses the Python API; the `ehpc` CLI is a thin layer over it.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

from elastichpc import (
    JobSpec,
    create_cluster,
    job_logs,
    load_spec,
    submit_job,
    terminate_cluster,
    wait_job,
)
from elastichpc.cli.output import ConsoleProgress
from elastichpc.errors import EhpcError
from elastichpc.orchestration.jobs import exit_code
from elastichpc.state import Journal

NAME, NODES, SAMPLES = "quickstart", 3, 12

# Each task picks its sample by array index, converts it, and reports the length and its host.
TASK = (
    "i=$(printf %02d $SLURM_ARRAY_TASK_ID); "
    "seqret -sequence sample$i.fasta -outseq sample$i.embl -osformat2 embl -feature Yes -auto "
    "&& echo \"sample$i $(awk '/^SQ/ {print $3}' sample$i.embl) bp -> sample$i.embl on $(hostname)\""
)


def write_samples(directory: Path) -> list[Path]:
    rng = random.Random(42)
    files = []
    for i in range(1, SAMPLES + 1):
        bases = "".join(rng.choice("ACGT") for _ in range(rng.randint(300, 1200)))
        path = directory / f"sample{i:02d}.fasta"
        lines = [bases[j:j + 60] for j in range(0, len(bases), 60)]
        path.write_text(f">sample{i:02d} synthetic read {i}\n" + "\n".join(lines) + "\n")
        files.append(path)
    return files


def run_seqret() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        samples = write_samples(Path(tmp))
        job = JobSpec([TASK], name="seqret", array=f"1-{SAMPLES}")
        job_id = submit_job(NAME, job, input_files=samples)
    print(f"\nSubmitted Slurm array job {job_id}: seqret on {SAMPLES} samples\n")
    tasks = wait_job(NAME, job_id)
    lines = sorted(
        line for path, text in job_logs(NAME, job_id) if path.endswith(".out")
        for line in text.splitlines()
    )
    print("\n".join(lines))
    hosts = Counter(line.rsplit(" ", 1)[1] for line in lines)
    print("\nTasks per compute node: " + ", ".join(f"{h}: {n}" for h, n in sorted(hosts.items())))
    return exit_code(tasks)


def main(keep: bool) -> int:
    """The demo; any failure is one line, and the cluster (however far it got) is terminated."""
    progress = ConsoleProgress()
    try:
        if Journal().get_cluster(NAME):  # a cluster left by an earlier run
            terminate_cluster(NAME, progress)
        spec = load_spec(None, {("CLUSTER", "CLUSTER_PREFIX"): NAME, ("CLUSTER", "CLUSTER SIZE"): str(NODES)})
        try:
            create_cluster(spec, progress)
            return run_seqret()
        finally:
            if keep:
                print(f"\nThe cluster is still up: ehpc nodes list {NAME}; ehpc cluster terminate {NAME}")
            else:
                print()
                terminate_cluster(NAME, progress)
    except KeyboardInterrupt:
        print(f"seqret_array: interrupted (run `ehpc cluster terminate {NAME}` if it is still up)",
              file=sys.stderr)
        return 130
    except Exception as err:  # one line, whatever went wrong (EHPC_DEBUG=1: the traceback)
        if os.environ.get("EHPC_DEBUG"):
            raise
        what = str(err) if isinstance(err, EhpcError) else f"{type(err).__name__}: {err}"
        print(f"seqret_array: error: {what}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main("--keep" in sys.argv[1:]))
