"""Shared fixtures. Every test gets its own state directory; local-cluster tests use a cluster
root of their own too (tests/local/helpers.py), so runs never see each other's files."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# No test may ask an outside service for this machine's address (providers/network.py).
os.environ["EHPC_WHAT_IS_MY_IP"] = "http://127.0.0.1:9/"

SYSTEM_TOOLS = ("ip", "nsenter", "sshd", "slurmctld", "slurmd", "munged")


def have_local_cluster_support() -> str | None:
    """Why local clusters cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "local clusters need root"
    missing = [t for t in SYSTEM_TOOLS if not shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")]
    return f"missing system tools: {missing}" if missing else None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Once per run, before any worker starts: what a killed earlier run left (tests/sweep.py)."""
    if hasattr(session.config, "workerinput") or have_local_cluster_support():
        return
    from .sweep import sweep

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in sweep():
        if reporter:
            reporter.write_line(f"sweep: {line}")


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("EHPC_STATE_DIR", str(path))
    monkeypatch.delenv("EHPC_CONFIG", raising=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def remove_empty_test_root() -> Iterator[None]:
    """Local-cluster tests keep their node file systems under /srv/ehpc-test/<test>/ and remove
    them; the parent goes too once empty."""
    yield
    with contextlib.suppress(OSError):
        Path("/srv/ehpc-test").rmdir()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks into node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """For `--dist loadgroup`: a module goes whole to one worker (its tests share its clusters),
    and tests/clients whole (its modules share the package's clusters, named alike)."""
    here = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(here).parts
        item.add_marker(pytest.mark.xdist_group("clients" if parts[0] == "clients" else "/".join(parts)))
