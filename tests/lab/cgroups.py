"""A cgroup per machine, and a cgroup namespace rooted at it, so a machine has the cgroup file
systems a cloud image has (slurmd refuses to start without one) and sees only its own subtree.

This host has cgroup v1 hierarchies (plus an empty v2 one) bound to its controllers, so that is
the layout machines get too; a Debian 12 cloud image has cgroup v2 only (a difference the README
states). Each machine's cgroups sit under the lab supervisor's own, so the host's limits hold.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

# (mount options, directory under /sys/fs/cgroup) of the v1 hierarchies, then v2.
HIERARCHIES = [("cpu", "cpu"), ("cpuacct", "cpuacct"), ("cpuset", "cpuset"), ("memory", "memory"),
               ("devices", "devices"), ("freezer", "freezer"), ("blkio", "blkio"), ("pids", "pids"),
               ("none,name=systemd", "systemd")]


def mount_all(base: Path) -> None:
    """Mount every hierarchy under base (in the supervisor's private mount namespace)."""
    for options, name in HIERARCHIES:
        (base / name).mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup", "-o", options, "cgroup", str(base / name)], check=True)
    (base / "unified").mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup2", "cgroup2", str(base / "unified")], check=True)


def unmount_all(base: Path) -> None:
    """Undo mount_all (else `down`, when run from this mount namespace, cannot remove base)."""
    for name in [n for _, n in HIERARCHIES] + ["unified"]:
        subprocess.run(["umount", "-l", str(base / name)], capture_output=True)


def _mine() -> dict[str, str]:
    """This process's cgroup path in each hierarchy (by directory name)."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        name = "unified" if controllers == "" else controllers.removeprefix("name=")
        paths[name] = path
    return paths


def create(base: Path, machine: str) -> list[Path]:
    """The machine's cgroup in every hierarchy (cpuset seeded from its parent), named by its lab
    and its id (two labs started from one cgroup may both boot a GCE instance with one id: GCE
    ids are deterministic)."""
    made = []
    mine = _mine()
    for name in [n for _, n in HIERARCHIES] + ["unified"]:
        parent = base / name / mine.get(name, "/").lstrip("/")
        path = parent / f"lab-{machine}"
        path.mkdir(exist_ok=True)
        if name == "cpuset":
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (path / knob).write_text((parent / knob).read_text())
        made.append(path)
    return made


def enter(paths: list[Path]) -> None:
    """Move the calling process into these cgroups (between fork and exec)."""
    for path in paths:
        with open(path / "cgroup.procs", "w") as f:
            f.write(str(os.getpid()))


def remove(paths: list[Path]) -> None:
    """Remove the machine's cgroups and whatever it made under them (once its processes are
    gone: a v1 cgroup may linger a moment after its last task)."""
    for path in paths:
        if path.exists():
            for directory in sorted((d for d in path.rglob("*") if d.is_dir()), reverse=True):
                _rmdir(directory)
            _rmdir(path)


def _rmdir(path: Path) -> None:
    for _ in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)
