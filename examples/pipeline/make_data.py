"""Small test data for the pipeline: a random 30 kb reference and four read sets of 100-base
single-end reads sampled from it (1% substitutions, either strand); sample s4 also has 200
random reads that map nowhere. Deterministic (fixed seeds), so the counts are known.

Usage: python3 make_data.py DIR   (writes DIR/ref.fa and DIR/s1.fq ... DIR/s4.fq)
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

READS = {"s1": 1000, "s2": 1500, "s3": 2000, "s4": 1000}
UNMAPPABLE = {"s4": 200}
LENGTH = 100
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def reference(rng: random.Random, size: int = 30_000) -> str:
    return "".join(rng.choice("ACGT") for _ in range(size))


def read(rng: random.Random, genome: str) -> str:
    start = rng.randrange(len(genome) - LENGTH)
    bases = [b if rng.random() > 0.01 else rng.choice("ACGT") for b in genome[start:start + LENGTH]]
    text = "".join(bases)
    return text.translate(COMPLEMENT)[::-1] if rng.random() < 0.5 else text


def fastq(name: str, reads: list[str]) -> str:
    return "".join(f"@{name}_{i}\n{r}\n+\n{'I' * len(r)}\n" for i, r in enumerate(reads, 1))


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    genome = reference(random.Random(1))
    lines = [genome[i:i + 60] for i in range(0, len(genome), 60)]
    (out / "ref.fa").write_text(">chr1\n" + "\n".join(lines) + "\n")
    for index, (sample, count) in enumerate(READS.items(), start=2):
        rng = random.Random(index)
        reads = [read(rng, genome) for _ in range(count)]
        reads += ["".join(rng.choice("ACGT") for _ in range(LENGTH))
                  for _ in range(UNMAPPABLE.get(sample, 0))]
        (out / f"{sample}.fq").write_text(fastq(sample, reads))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_data.py DIR")
    main(Path(sys.argv[1]))
