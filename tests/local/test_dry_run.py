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


@pytest.mark.parametrize(("flags", "refusal"), [
    (["--gluster", "--nfs"], "shared file system: choose one shared file system: --gluster or "
                             "--nfs, not both"),
    (["--gluster", "--glusterfs-replicate", "2"],
     "shared file system: [GLUSTERFS] REPLICATE=2 STRIPE=1 needs 2 compute nodes for bricks; "
     "the cluster has 1"),
    # Flags that do nothing without another are refused, not dropped.
    (["--budget-action", "terminate"],
     "settings: --budget-action does nothing without a budget: set --budget too, or leave it out"),
    (["--down"], "settings: --autostop-down does nothing without an idle stop: set --autostop "
                 "too, or leave it out"),
    (["--scaledown-idle", "30"], "settings: --scaledown-idle does nothing without autoscaling: "
                                 "set --max-nodes (or a pool's MIN-MAX) too, or leave it out"),
    (["--failover", "aws"], "settings: --failover names aws, not a pool of the cluster (its "
                            "pools: local)"),
])
def test_the_dry_run_refuses_what_create_refuses(flags: list[str], refusal: str,
                                                 capsys: pytest.CaptureFixture[str],
                                                 state_dir: Path) -> None:
    """Each refusal create makes before it makes anything is a failed check of the plan (one
    module decides both), and create itself refuses the same in one line, leaving no row."""
    base = ["cluster", "create", "--name", "clrefuse", "--size", "1", *flags]
    assert main([*base, "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert f"✗ {refusal}" in out
    assert err == f"ehpc: error: dry run: 1 check(s) failed: {refusal}\n"
    assert main(base) == 2
    assert capsys.readouterr().err == f"ehpc: error: {refusal.split(': ', 1)[1]}\n"
    assert Journal().get_cluster("clrefuse") is None
