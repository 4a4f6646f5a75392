"""`ehpc cluster status` of a live local cluster, and of one whose create was interrupted: the
command it prints finishes the create."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from elastichpc.orchestration.jobs import jobs_status
from elastichpc.remote import ClusterShell
from elastichpc.state import Journal

from .helpers import ROOT, Ehpc, interruptible, leftovers, node_pids

NAME = "clst1"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehpc]:
    state = tmp_path_factory.mktemp("state")
    ehpc = Ehpc(state, ROOT / state.parent.name)
    yield ehpc
    ehpc.run("cluster", "terminate", NAME, check=False)
    shutil.rmtree(ehpc.local_root, ignore_errors=True)


def _interrupted_create(cli: Ehpc) -> None:
    """Start a create and Ctrl-C it once its machines are recorded."""
    proc = interruptible("cluster", "create", "--name", NAME, "--size", "1",
                         "--local-root-dir", str(cli.local_root),
                         env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = Journal(Path(cli.env["EHPC_STATE_DIR"]))
    deadline = time.monotonic() + 120
    while not journal.nodes(NAME) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"or `ehpc cluster terminate {NAME}` to remove what was made" in err  # the name filled


def test_an_interrupted_create_is_explained_and_finished_by_the_command_shown(cli: Ehpc) -> None:
    _interrupted_create(cli)
    (row,) = cli.json("cluster", "list")
    assert (row["status"], row["reason"]) == ("creating", "create interrupted")
    status = cli.json("cluster", "status", NAME)
    assert status["reason"] == "create interrupted"
    assert status["events"][-1]["kind"] == "interrupted"
    words = shlex.split(status["next"][0].split("#")[0])
    assert words[:3] == ["ehpc", "cluster", "create"]
    assert "is ready" in cli.run(*words[1:]).stdout

    status = cli.json("cluster", "status", NAME)
    assert (status["state"], status["reason"], status["providers"]) == ("running", "", ["local"])
    assert status["nodes"] == {"running": 2}
    assert status["scheduler_health"] == {"responding": True, "nodes": {"idle": 1}}
    assert status["shared_fs"]["path"] == "/shared" and status["shared_fs"]["size_gb"] > 0
    assert status["next"][0] == f"ehpc job submit {NAME} -- hostname"
    text = cli.run("cluster", "status", NAME).stdout
    assert text.startswith(f"{NAME}: running\n")
    assert "scheduler   responding; nodes 1 idle" in text


def test_status_of_many_jobs_is_one_ssh_round_trip(cli: Ehpc,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    batch = json.loads(cli.run("job", "submit", NAME, "--count", "3", "--json", "--",
                               "true").stdout)
    single = cli.run("job", "submit", NAME, "--", "sleep 20").stdout.strip()
    calls: list[list[str]] = []
    real_run = ClusterShell.run

    def counted(self: ClusterShell, node: str, argv: list[str], **kwargs: object) -> object:
        calls.append(argv)
        return real_run(self, node, argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ClusterShell, "run", counted)
    journal = Journal(Path(cli.env["EHPC_STATE_DIR"]))
    found = jobs_status(NAME, [batch["job_id"], single, "424242"], journal)
    assert len(calls) == 1
    assert len(found[batch["job_id"]]) == 3 and found[single] and found["424242"] == []
    cli.run("job", "cancel", NAME, single)


def test_a_stopped_scheduler_and_a_lost_node_are_seen(cli: Ehpc) -> None:
    # Stop slurmctld on the head through its own pid file (only this cluster's daemon).
    cli.run("ssh", NAME, "--", "kill $(cat /run/slurmctld.pid 2>/dev/null || "
            "cat /var/run/slurm/slurmctld.pid)")
    deadline = time.monotonic() + 30
    while (health := cli.json("cluster", "status", NAME)["scheduler_health"])["responding"]:
        assert time.monotonic() < deadline, health
        time.sleep(0.5)
    assert health["error"]
    listing = json.loads(cli.run("cluster", "list", "--json").stdout)
    assert listing[0]["status"] == "running"


def test_terminate_after_status_leaves_nothing(cli: Ehpc) -> None:
    pids = node_pids(NAME)
    cli.run("cluster", "terminate", NAME)
    deadline = time.monotonic() + 10
    state = Path(cli.env["EHPC_STATE_DIR"])
    while (left := leftovers(NAME, cli.local_root, state, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == []
