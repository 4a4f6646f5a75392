"""Which Debian packages a machine lacks, named so the user can install them in one line."""

from __future__ import annotations

import os
import shutil

from .errors import PrerequisiteError

SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


def missing_packages(commands: dict[str, str], path: str | None = None) -> list[str]:
    """Packages (sorted, unique) whose command is not on `path` ($PATH plus the sbin dirs); a
    command given as an absolute path (a library, say) need only exist."""
    search = path if path is not None else f"{os.environ.get('PATH', os.defpath)}:{SBIN}"

    def present(cmd: str) -> bool:
        return os.path.exists(cmd) if cmd.startswith("/") else bool(shutil.which(cmd, path=search))

    return sorted({pkg for cmd, pkg in commands.items() if not present(cmd)})


def require_packages(commands: dict[str, str], purpose: str) -> None:
    missing = missing_packages(commands)
    if missing:
        names = " ".join(missing)
        raise PrerequisiteError(
            f"missing system packages for {purpose}: {names} (install: apt-get install -y {names})"
        )
