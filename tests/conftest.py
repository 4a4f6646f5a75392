"""Shared fixtures. Every test gets its own state directory; local-cluster tests get a cluster
root of their own too, so runs never see each other's files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SYSTEM_TOOLS = ("ip", "nsenter", "sshd", "slurmctld", "slurmd", "munged")


def have_local_cluster_support() -> str | None:
    """Why local clusters cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "local clusters need root"
    missing = [t for t in SYSTEM_TOOLS if not shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")]
    return f"missing system tools: {missing}" if missing else None


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("EHPC_STATE_DIR", str(path))
    monkeypatch.delenv("EHPC_CONFIG", raising=False)
    return path


@pytest.fixture
def local_root(tmp_path: Path) -> Path:
    """[LOCAL] ROOT_DIR for a test: node file systems live here."""
    path = Path("/srv/ehpc-test") / tmp_path.name
    yield path
    shutil.rmtree(path, ignore_errors=True)
