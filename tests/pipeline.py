"""What examples/pipeline/run.sh must bring back, for the tests that run it (local, lab)."""

from __future__ import annotations

import subprocess
from pathlib import Path

# examples/pipeline/make_data.py: reads per sample, and how many of them come from the reference
EXPECTED = {"s1": (1000, 1000), "s2": (1500, 1500), "s3": (2000, 2000), "s4": (1200, 1000)}
RUN = Path(__file__).resolve().parents[1] / "examples" / "pipeline" / "run.sh"


def check_results(out: Path, output: str) -> None:
    """Whole BAMs, the read counts, and every rule but `all` run as a Slurm job (index, 4 align,
    4 flagstat, summary); `output` is run.sh's."""
    results = out / "results"
    bams = sorted(results.glob("*.bam"))
    assert [p.name for p in bams] == [f"{s}.bam" for s in EXPECTED], output
    checked = subprocess.run(["samtools", "quickcheck", *map(str, bams)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    rows = [line.split("\t") for line in (results / "summary.tsv").read_text().splitlines()]
    assert rows[0] == ["sample", "reads", "mapped"], rows
    assert {r[0]: (int(r[1]), int(r[2])) for r in rows[1:]} == EXPECTED, rows
    assert output.count("has been submitted with SLURM jobid") == 10, output
