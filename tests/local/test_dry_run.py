"""A local dry run: the plan at no cost, checks, and nothing made on the host."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from elastichpc.cli.main import main
from elastichpc.state import Journal

from .helpers import ROOT


def test_local_dry_run_makes_nothing(capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    root = ROOT / "cl-dry"
    assert main(["cluster", "create", "--name", "cldry", "--size", "2", "--scheduler", "sge",
                 "--local-root-dir", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Plan for cluster cldry (dry run: nothing was made)\n")
    assert "firewall   none: the nodes sit on a private bridge of this machine" in out
    assert "  total      $0.0000/h" in out
    assert "✓ name: no cluster is named cldry" in out and "✗" not in out
    assert Journal().get_cluster("cldry") is None
    assert not root.exists()
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "ehpc.cldry." not in namespaces


def test_a_taken_name_fails_the_plan(capsys: pytest.CaptureFixture[str], state_dir: Path) -> None:
    Journal().add_cluster("cltaken", "local", "running", {"name": "cltaken", "settings": {}})
    assert main(["cluster", "create", "--name", "cltaken", "--size", "1", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cluster 'cltaken' already exists on local (running)" in err
