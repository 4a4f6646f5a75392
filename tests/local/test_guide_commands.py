"""The guide's command lines keep working: ./ehpcutils (configuration mode, reading
./cluster.conf) and ./ehpc-client (command mode), on a real local cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT

REPO = Path(__file__).resolve().parents[2]
NAME = "guide"


class Guide:
    def __init__(self, workdir: Path, state: Path) -> None:
        self.workdir = workdir
        self.env = {**os.environ, "EHPC_STATE_DIR": str(state)}
        self.env.pop("EHPC_CONFIG", None)

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, str(REPO / tool), *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if check:
            assert proc.returncode == 0, (tool, args, proc.stdout, proc.stderr)
        return proc


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guide]:
    workdir = tmp_path_factory.mktemp("guide")
    (workdir / "cluster.conf").write_text(
        "[CLUSTER]\n# CLUSTER CONFIGURATION\nCLUSTER_PREFIX = guide\nCLUSTER SIZE = 2\n"
        f"[LOCAL]\nROOT_DIR = {ROOT / workdir.name}\n"
    )
    tool = Guide(workdir, workdir / "state")
    created = tool.run("ehpcutils", "--provider=local", "--create")
    assert "(ehpc cluster create --provider local)" in created.stderr
    yield tool
    tool.run("ehpcutils", "--provider=local", "--terminate", f"--cluster={NAME}", check=False)
    shutil.rmtree(ROOT / workdir.name, ignore_errors=True)


def test_list_compute_nodes(guide: Guide) -> None:
    out = guide.run("ehpcutils", "--provider=local", "--compute", "--list").stdout
    assert f"{NAME}-node1" in out and f"{NAME}-node2" in out


def test_submit_as_system_runs_on_the_head(guide: Guide) -> None:
    out = guide.run("ehpcutils", "--provider=local", "--submit", "--command=sleep 1;hostname",
                    "--owner=system")
    assert out.stdout == f"{NAME}-head\n"


def test_other_owners_make_scheduler_jobs(guide: Guide) -> None:
    out = guide.run("ehpcutils", "--provider=local", "--submit", "--command=hostname; id -un",
                    "--owner=john", "--monitor")
    host, user = out.stdout.split()
    assert host.startswith(f"{NAME}-node") and user == "ehpcuser"


def test_client_job_submit_and_status_by_head_address(guide: Guide) -> None:
    nodes = guide.run("ehpcutils", "--provider=local", "--compute", "--list").stdout
    column = nodes.splitlines()[0].split().index("ADDRESS")
    head_address = next(line.split()[column] for line in nodes.splitlines()
                        if line.startswith(f"{NAME}-head"))
    job_id = guide.run("ehpc-client", "--job-submit", f"--domain={head_address}", "--owner=john",
                       "--commmand=echo hi").stdout.strip()
    assert job_id.isdigit()
    status = guide.run("ehpc-client", "--job-status", f"-d={head_address}", f"-id={job_id}").stdout
    assert status.splitlines()[1].split()[0] == job_id


def test_unknown_actions_and_clusters_get_one_line(guide: Guide) -> None:
    out = guide.run("ehpcutils", "--provider=local", "--frobnicate", check=False)
    assert out.returncode == 2
    assert out.stderr == "ehpc: error: ehpcutils: unknown option --frobnicate\n"
    out = guide.run("ehpc-client", "--job-status", "-d=192.0.2.1", "-id=1", check=False)
    assert out.returncode == 2 and out.stderr == "ehpc: error: no cluster has a head node at '192.0.2.1'\n"
