"""Interrupted creates resume or clean up; clusters live side by side; prerequisites are named."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import elastichpc
from elastichpc.providers.local.control import server_pids
from elastichpc.system_packages import missing_packages

from .helpers import ROOT, Ehpc, interruptible, leftovers, node_pids


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Ehpc]:
    ehpc = Ehpc(tmp_path / "state", ROOT / tmp_path.name)
    yield ehpc
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def _interrupt_create(cli: Ehpc, name: str, size: int) -> subprocess.CompletedProcess[str]:
    """Start a create and press Ctrl-C once its machines are being made."""
    proc = interruptible("cluster", "create", "--name", name, "--size", str(size),
                         "--local-root-dir", str(cli.local_root),
                         env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (cli.local_root / name / "nodes").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_during_create_then_rerun_finishes(cli: Ehpc) -> None:
    interrupted = _interrupt_create(cli, "intr", 4)
    assert interrupted.returncode == 130, interrupted.stderr
    assert "interrupted" in interrupted.stderr and "Traceback" not in interrupted.stderr
    (row,) = cli.json("cluster", "list")
    assert row["status"] == "creating"
    cli.create("intr", 4)
    out = cli.run("job", "submit", "intr", "--array", "1-4", "--wait", "--", "echo ok").stdout
    assert out == "ok\n" * 4
    pids = node_pids("intr")
    cli.run("cluster", "terminate", "intr")
    assert leftovers("intr", cli.local_root, Path(cli.env["EHPC_STATE_DIR"]), pids) == []


def test_ctrl_c_during_create_then_terminate_cleans_up(cli: Ehpc) -> None:
    _interrupt_create(cli, "half", 3)
    pids = node_pids("half")
    cli.run("cluster", "terminate", "half")
    deadline = time.monotonic() + 10
    while (left := leftovers("half", cli.local_root, Path(cli.env["EHPC_STATE_DIR"]), pids)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert left == []


def test_terminate_stops_a_control_endpoint_no_record_names(cli: Ehpc) -> None:
    """A create killed between starting the endpoint and recording its pid leaves a server only
    its command line names: terminate finds it there."""
    cli.create("orph", 1)
    record_file = cli.local_root / "orph" / "control.json"
    record = json.loads(record_file.read_text())
    assert server_pids(cli.local_root / "orph") == [record.pop("pid")]
    record_file.write_text(json.dumps(record))
    pids = node_pids("orph")
    cli.run("cluster", "terminate", "orph")
    assert leftovers("orph", cli.local_root, Path(cli.env["EHPC_STATE_DIR"]), pids) == []


def test_terminate_finds_a_cluster_whose_state_was_lost(cli: Ehpc, tmp_path: Path) -> None:
    cli.create("lost", 1)
    pids = node_pids("lost")
    state = Path(cli.env["EHPC_STATE_DIR"])
    (state / "state.db").unlink()
    for extra in ("state.db-wal", "state.db-shm"):
        (state / extra).unlink(missing_ok=True)
    out = cli.run("cluster", "terminate", "lost", "--local-root-dir", str(cli.local_root))
    assert "terminated" in out.stdout
    assert leftovers("lost", cli.local_root, state, pids) == []


def test_two_clusters_created_at_once_live_side_by_side(cli: Ehpc) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "elastichpc", "cluster", "create", "--name", name, "--size", "1",
             "--local-root-dir", str(cli.local_root)],
            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("alpha", "beta")
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    try:
        nodes = {name: cli.json("nodes", "list", name) for name in ("alpha", "beta")}
        subnets = {name: {n["address"].rsplit(".", 1)[0] for n in ns} for name, ns in nodes.items()}
        assert len(subnets["alpha"]) == len(subnets["beta"]) == 1
        assert subnets["alpha"] != subnets["beta"]
        cli.run("cluster", "terminate", "alpha")
        out = cli.run("job", "submit", "beta", "--wait", "--", "hostname")
        assert out.stdout == "beta-node1\n"
        assert [c["name"] for c in cli.json("cluster", "list")] == ["beta"]
    finally:
        cli.run("cluster", "terminate", "alpha", check=False)
        cli.run("cluster", "terminate", "beta", check=False)


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A directory `nobody` can use (pytest's own temp tree is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="ehpc-nobody-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


def test_not_root_gets_one_line(cli: Ehpc, world_readable_dir: Path) -> None:
    state = world_readable_dir / "state"
    state.mkdir(mode=0o777)
    state.chmod(0o777)
    # The project's source where `nobody` can read it (the checkout may be private to root).
    code = world_readable_dir / "code"
    shutil.copytree(Path(elastichpc.__file__).parent, code / "elastichpc")
    env = {**cli.env, "EHPC_STATE_DIR": str(state), "HOME": str(state), "PYTHONPATH": str(code)}
    proc = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         sys.executable, "-m", "elastichpc", "cluster", "create", "--name", "x", "--size", "1"],
        env=env, capture_output=True, text=True, cwd=state,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "ehpc: error: the local provider needs root (it makes network namespaces, bridges and "
        "mounts): run ehpc as root"
    ]
    assert not list(state.glob("clusters/*")), "nothing half-made"


def test_missing_packages_are_named(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink("/usr/bin/ip", bin_dir / "ip")
    os.symlink("/usr/sbin/sshd", bin_dir / "sshd")
    wanted = {"ip": "iproute2", "sshd": "openssh-server", "slurmctld": "slurmctld", "munged": "munge"}
    assert missing_packages(wanted, str(bin_dir)) == ["munge", "slurmctld"]
    assert missing_packages(wanted) == []


def test_config_typo_through_the_cli(cli: Ehpc, tmp_path: Path) -> None:
    conf = tmp_path / "cluster.conf"
    conf.write_text("[CLUSTER]\nCLUSTER_PREFIX = t\nCLUSTR SIZE = 2\n")
    out = cli.run("cluster", "create", "-c", str(conf), check=False)
    assert out.returncode == 2
    hint = "(did you mean CLUSTER SIZE?)"
    assert out.stderr == f"ehpc: error: {conf}:3: [CLUSTER] unknown key 'CLUSTR SIZE' {hint}\n"
    assert json.loads(cli.run("cluster", "list", "--json").stdout) == []
