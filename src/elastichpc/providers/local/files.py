"""The local provider's small files: JSON records and the locks that serialize their writers."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (made if missing) between concurrent ehpc calls."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def read_json(path: Path) -> dict[str, Any]:
    """A record, or {} when it is missing or was cut short by a crash."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def share_dir(root: Path, cluster: str, key: str) -> str:
    """The host directory every node of a local cluster sees as one (no network file system)."""
    return str(root / cluster / key)
