"""`cluster list` and `cluster status` of failed and half-made clusters, from the journal."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from elastichpc.cli.main import main
from elastichpc.state import Journal

SPEC = {"name": "clfail", "provider": "local",
        "settings": {"CLUSTER": {"CLUSTER_PREFIX": "clfail", "CLUSTER SIZE": 2, "SPOT": False},
                     "FIREWALL": {"FW_NAME": ["web", "tls"], "FW_PORT": [80, 443],
                                  "FW_PROTOCOL": ["tcp", "tcp"]},
                     "LOCAL": {"ROOT_DIR": "/srv/ehpc-test/cl-unit"}}}


def _journal(status: str, message: str = "") -> Journal:
    journal = Journal()
    journal.add_cluster("clfail", "local", "creating", SPEC)
    if status != "creating" or message:
        journal.set_status("clfail", status, message)
    return journal


def test_list_says_why_a_create_failed(capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    _journal("failed", "slurm did not start on clfail-node1: slurmd: fatal: bad config\nmore")
    journal = Journal()
    journal.add_cluster("clok", "local", "running", SPEC)
    assert main(["cluster", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "WHY"
    failed = next(line for line in lines if line.startswith("clfail"))
    assert "failed" in failed and "slurm did not start on clfail-node1" in failed
    assert "more" not in failed  # one line
    assert next(line for line in lines if line.startswith("clok")).rstrip().endswith("-")
    assert main(["cluster", "list", "--json"]) == 0
    rows = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert rows["clok"]["reason"] == "" and rows["clfail"]["status"] == "failed"


@pytest.mark.parametrize(("status", "message", "why"), [
    ("creating", "", "did not finish"),
    ("provisioned", "", "--provision-only"),
    ("terminating", "", "terminate started"),
])
def test_half_made_states_have_a_reason(capsys: pytest.CaptureFixture[str], state_dir: Path,
                                        status: str, message: str, why: str) -> None:
    _journal(status, message)
    assert main(["cluster", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == status and why in row["reason"]


def test_an_interrupted_create_says_so(capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    _journal("creating").event("clfail", "interrupted", "create interrupted")
    assert main(["cluster", "list"]) == 0
    assert "create interrupted" in capsys.readouterr().out


def test_status_of_a_failed_cluster_names_the_commands(capsys: pytest.CaptureFixture[str],
                                                       state_dir: Path) -> None:
    _journal("failed", "no route to the head")
    assert main(["cluster", "status", "clfail", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["state"], status["reason"]) == ("failed", "no route to the head")
    assert status["scheduler_health"] == {"responding": False, "error": "no head node yet"}
    assert status["nodes"] == {} and status["shared_fs"]["path"] == "/shared"
    assert [e["message"] for e in status["events"]] == ["creating", "failed no route to the head"]
    create, terminate = status["next"]
    assert terminate.startswith("ehpc cluster terminate clfail")
    words = shlex.split(create.split("#")[0])
    assert words[:3] == ["ehpc", "cluster", "create"]
    flags = dict(zip(words[3::2], words[4::2], strict=True))
    assert flags == {"--cluster-prefix": "clfail", "--cluster-size": "2", "--spot": "false",
                     "--firewall-fw-name": "web,tls",
                     "--firewall-fw-port": "80,443", "--firewall-fw-protocol": "tcp,tcp",
                     "--local-root-dir": "/srv/ehpc-test/cl-unit"}
    assert main(["cluster", "status", "clfail"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("clfail: failed (no route to the head)")
    assert "scheduler   not responding: no head node yet" in text


def test_status_of_an_unknown_cluster_is_one_line(capsys: pytest.CaptureFixture[str],
                                                  state_dir: Path) -> None:
    assert main(["cluster", "status", "clnone"]) == 1
    assert capsys.readouterr().err.count("\n") == 1
