"""The documented way: `python -m tests.emulators.gce --port N` in one shell, the `ehpc` command
with EHPC_GCE_ENDPOINT in another; the emulator's control routes answer over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CALLER, PROJECT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator_url() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.emulators.gce", "--port", "0"], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("GCE emulator listening on http://127.0.0.1:"), line
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def control(url: str, action: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(f"{url}/_emulator/{action}", data=data)) as answer:
        return json.loads(answer.read())


def test_emulator_command_and_ehpc_command(emulator_url: str, state_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "EHPC_GCE_ENDPOINT": emulator_url, "EHPC_CALLER_CIDR": CALLER,
           "HOME": str(tmp_path)}
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    gce = ["--provider", "gce", "--gce-project-id", PROJECT]

    def ehpc(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ehpc", *argv], env=env, capture_output=True, text=True, timeout=120)

    control(emulator_url, "faults", {"status": 429, "reason": "rateLimitExceeded", "count": 1,
                                     "match": "bulkInsert"})
    made = ehpc("cluster", "create", "--name", "cmd1", "--size", "2", "--spot", "--provision-only", *gce)
    assert made.returncode == 0, made.stderr
    control(emulator_url, "preempt", {"project": PROJECT, "zone": "us-central1-a", "instance": "cmd1-node1"})
    nodes = json.loads(ehpc("nodes", "list", "cmd1", "--json").stdout)
    assert {n["name"]: n["state"] for n in nodes} == {
        "cmd1-head": "running", "cmd1-node1": "preempted", "cmd1-node2": "running"}
    gone = ehpc("cluster", "terminate", "cmd1")
    assert gone.returncode == 0 and "terminated (5 resources removed)" in gone.stdout, gone.stderr
    methods = [r["method"] for r in control(emulator_url, "requests")["requests"]]
    assert methods.count("compute.instances.bulkInsert") == 2  # refused once, then made
    assert methods.count("compute.instances.delete") == 3
