"""Which Debian packages a machine lacks, named so the user can install them in one line."""

from __future__ import annotations

import os
import shutil

from .errors import PrerequisiteError

SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


def missing_packages(commands: dict[str, str], path: str | None = None) -> list[str]:
    """Packages (sorted, unique) whose command is not on `path` ($PATH plus the sbin dirs)."""
    search = path if path is not None else f"{os.environ.get('PATH', os.defpath)}:{SBIN}"
    return sorted({pkg for cmd, pkg in commands.items() if not shutil.which(cmd, path=search)})


def require_packages(commands: dict[str, str], purpose: str) -> None:
    missing = missing_packages(commands)
    if missing:
        names = " ".join(missing)
        raise PrerequisiteError(
            f"missing system packages for {purpose}: {names} (install: apt-get install -y {names})"
        )
