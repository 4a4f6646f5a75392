"""The `lab` fixture: one cloud lab for the session (tests/lab/), removed at the end even when
the run fails or is interrupted (and by its supervisor itself if this process dies)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from .control import Lab

LAB_TOOLS = ("debootstrap", "apt-ftparchive", "gpg", "nft", "unshare", "nsenter", "losetup")


def lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the cloud lab needs root"
    missing = [t for t in LAB_TOOLS if not shutil.which(t, path="/usr/sbin:/usr/bin:/sbin:/bin")]
    return f"the cloud lab needs {missing} (scripts/install-system-packages.sh)" if missing else None


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    why = lab_unavailable()
    if why:
        pytest.skip(why)
    # One lab per pytest-xdist worker: each lab module may run on either worker.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    the_lab = Lab(os.environ.get("EHPC_LAB_NAME", "ehpclab-test") + (f"-{worker}" if worker else ""))
    the_lab.up(owner=os.getpid())
    try:
        yield the_lab
    finally:
        the_lab.down()
