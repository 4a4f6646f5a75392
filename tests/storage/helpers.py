"""The CLI as a user runs it, plus looks inside nodes and at the host's loop devices."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from ..local.helpers import ROOT, Ehpc


class StorageCli(Ehpc):
    def disk(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`ehpc disk ...` with this test's local root (disks without a cluster need it)."""
        return self.run("disk", *args, "--local-root-dir", str(self.local_root), check=check)

    def disk_json(self, *args: str) -> Any:
        return json.loads(self.disk(*args, "--json").stdout)

    def disks(self) -> dict[str, dict]:
        return {d["name"]: d for d in self.disk_json("list")}

    @property
    def state_dir(self) -> Path:
        return Path(self.env["EHPC_STATE_DIR"])

    def on(self, cluster: str, node: str, command: str, check: bool = True) -> str:
        return self.run("ssh", cluster, node, "--", command, check=check).stdout


@contextmanager
def local_cluster(
    factory: pytest.TempPathFactory, name: str, size: int, *create: str, mounts: tuple[str, ...] = ()
) -> Iterator[StorageCli]:
    """A cluster for a test module; afterwards terminated, its local root and the host
    directories of `mounts` removed (whatever a test left)."""
    state = factory.mktemp("state")
    cli = StorageCli(state, ROOT / state.parent.name)
    try:
        cli.create(name, size, *create)
        yield cli
    finally:
        cli.run("cluster", "terminate", name, check=False)
        listing = cli.disk("list", "--json", check=False)
        for disk in json.loads(listing.stdout or "[]") if listing.returncode == 0 else []:
            cli.disk("delete", disk["name"], "--force", check=False)
        shutil.rmtree(cli.local_root, ignore_errors=True)
        remove_empty_dirs(*mounts)


def loop_backing_files() -> list[str]:
    out = subprocess.run(["losetup", "-J", "-l"], capture_output=True, text=True).stdout
    return [dev.get("back-file", "") for dev in json.loads(out or '{"loopdevices": []}')["loopdevices"]]


def host_mounts_of(text: str) -> list[str]:
    with open("/proc/self/mountinfo") as info:
        return [line for line in info if text in line]


def remove_empty_dirs(*paths: str) -> None:
    """Local nodes share the host's root file system: the mount points they made are host
    directories. Remove those (in the order given) when empty."""
    for path in paths:
        with suppress(OSError):
            os.rmdir(path)
