"""Two creates of one name at once, a rerun with another shape, a create killed with kill -9
while its nodes are being set up, and commands that change a cluster while a resize changes it:
one clear line or a finished cluster, never a mess."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ROOT, Ehpc, leftovers, node_pids

NAMES = ("hl-twice", "hl-shape", "hl-kill", "hl-busy", "hl-rm")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Ehpc]:
    ehpc = Ehpc(tmp_path / "state", ROOT / f"hl-{tmp_path.name}")
    yield ehpc
    for name in NAMES:  # what a failed test left
        if (ehpc.local_root / name).exists():
            ehpc.run("cluster", "terminate", name, check=False)
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def start(cli: Ehpc, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "elastichpc", *argv], env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_create(cli: Ehpc, name: str, size: int) -> subprocess.Popen[str]:
    return start(cli, "cluster", "create", "--name", name, "--size", str(size),
                 "--local-root-dir", str(cli.local_root))


def wait_for(path: Path, proc: subprocess.Popen[str], contains: str = "") -> None:
    deadline = time.monotonic() + 60
    while not (path.exists() and (not contains or contains in path.read_text())):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)


def array_outputs(cli: Ehpc, name: str, tasks: int) -> str:
    return cli.run("job", "submit", name, "--array", f"1-{tasks}", "--wait", "--", "echo ok").stdout


def terminate_leaves_nothing(cli: Ehpc, name: str) -> None:
    pids = node_pids(name)
    cli.run("cluster", "terminate", name)
    assert leftovers(name, cli.local_root, Path(cli.env["EHPC_STATE_DIR"]), pids) == []


def test_two_creates_of_one_name_at_once_one_wins(cli: Ehpc) -> None:
    first = start_create(cli, "hl-twice", 2)
    wait_for(Path(cli.env["EHPC_STATE_DIR"]) / "locks" / "hl-twice.lock", first, "created")
    second = cli.create("hl-twice", 2, check=False)
    assert second.returncode == 1
    assert second.stderr.splitlines() == [
        f"ehpc: error: cluster 'hl-twice' is being created (ehpc pid {first.pid}): wait for that "
        "command to finish, then rerun"]
    _, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    assert [c["name"] for c in cli.json("cluster", "list")] == ["hl-twice"]
    terminate_leaves_nothing(cli, "hl-twice")


def test_rerun_of_a_provisioned_cluster_keeps_its_shape(cli: Ehpc) -> None:
    cli.create("hl-shape", 2, "--provision-only")
    (row,) = cli.json("cluster", "list")
    assert (row["size"], row["status"]) == (2, "provisioned")
    other = cli.create("hl-shape", 3, check=False)
    assert other.returncode == 1
    assert other.stderr.splitlines()[-1] == (
        "ehpc: error: cluster 'hl-shape' was started with --size 2 and slurm: rerun with the same "
        "to finish it, or terminate it first")
    cli.create("hl-shape", 2)
    assert array_outputs(cli, "hl-shape", 2) == "ok\n" * 2
    assert len(cli.json("nodes", "list", "hl-shape")) == 3
    terminate_leaves_nothing(cli, "hl-shape")


def test_create_killed_while_nodes_are_set_up_is_finished_by_a_rerun(cli: Ehpc) -> None:
    killed = start_create(cli, "hl-kill", 4)
    wait_for(cli.local_root / "hl-kill" / "ns", killed)
    time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    cli.create("hl-kill", 4)
    assert array_outputs(cli, "hl-kill", 4) == "ok\n" * 4
    terminate_leaves_nothing(cli, "hl-kill")


def test_changes_while_a_resize_runs_are_refused_in_one_line(cli: Ehpc) -> None:
    cli.create("hl-busy", 1)
    resizing = start(cli, "cluster", "resize", "hl-busy", "--add", "1")
    wait_for(Path(cli.env["EHPC_STATE_DIR"]) / "locks" / "hl-busy.lock", resizing, "resized")
    busy = (f"ehpc: error: cluster 'hl-busy' is being resized (ehpc pid {resizing.pid}): wait for "
            "that command to finish, then rerun")
    for argv in (("cluster", "resize", "hl-busy", "--add", "1"), ("cluster", "terminate", "hl-busy"),
                 ("cluster", "agent", "hl-busy"), ("cluster", "install", "hl-busy", "bc")):
        other = cli.run(*argv, check=False)
        assert (other.returncode, other.stderr.splitlines()) == (1, [busy]), (argv, other.stderr)
    _, err = resizing.communicate(timeout=180)
    assert resizing.returncode == 0, err
    assert [n["name"] for n in cli.json("nodes", "list", "hl-busy")] == [
        "hl-busy-head", "hl-busy-node1", "hl-busy-node2"]  # one resize, one node more
    terminate_leaves_nothing(cli, "hl-busy")


@pytest.mark.parametrize("after", [0.5, 3.0])  # while asking the agent; while it drains
def test_a_removal_killed_halfway_is_finished_by_its_rerun(cli: Ehpc, after: float) -> None:
    cli.create("hl-rm", 2)
    removing = start(cli, "cluster", "resize", "hl-rm", "--remove", "node2")
    wait_for(Path(cli.env["EHPC_STATE_DIR"]) / "locks" / "hl-rm.lock", removing, "resized")
    time.sleep(after)
    removing.send_signal(signal.SIGKILL)
    removing.communicate(timeout=30)
    again = cli.run("cluster", "resize", "hl-rm", "--remove", "node2", check=False)
    assert again.returncode == 0, again.stderr
    assert [n["name"] for n in cli.json("nodes", "list", "hl-rm")] == ["hl-rm-head", "hl-rm-node1"]
    terminate_leaves_nothing(cli, "hl-rm")
