"""Reading a file the user names as input: only a regular file, and only up to a bound, so a
device, a FIFO or a runaway file is one line instead of a hang or gigabytes of memory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ConfigError


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of `path` (`what`, as "--jobs-file", names it in errors before the path)."""
    name = f"{what} {path}".strip()
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:  # a directory opens (read-only): fstat below names it
        raise ConfigError(f"{name}: cannot read: {err.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{name}: is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{name}: not a regular file (a device, FIFO or socket)")
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError(f"{name}: larger than {limit // 2**20} MiB: is this the right file?")
    return data
