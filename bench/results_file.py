"""Writing a benchmark's numbers, with the machine they were measured on; running the commands
it measures."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, numbers: dict[str, Any]) -> Path:
    """bench/results/<name>.json: the numbers plus the machine and the time of measuring."""
    path = RESULTS / f"{name}.json"
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps({
        **numbers,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "python": platform.python_version()},
        "load_average_when_written": os.getloadavg()[0],
        "commit": _commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")
    return path


def _commit() -> str:
    """The commit measured, `+changes` when the tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=RESULTS.parent, capture_output=True,
                              text=True).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "src") else "")


def run_checked(argv: list[str], env: dict[str, str], timeout: float = 600) -> str:
    """A command's output; a failure ends the benchmark with its one-line reason."""
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
    return proc.stdout
