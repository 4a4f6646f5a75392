"""Running `ehpc` as a user would, and checking that a cluster left nothing on the host."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elastichpc.providers.local.control import server_pids

ROOT = Path("/srv/ehpc-test")


class Ehpc:
    """The CLI in a subprocess, with its own state directory and local root."""

    def __init__(self, state_dir: Path, local_root: Path) -> None:
        self.env = {**os.environ, "EHPC_STATE_DIR": str(state_dir)}
        self.env.pop("EHPC_CONFIG", None)
        self.local_root = local_root

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "elastichpc", *args],
            env=self.env, capture_output=True, text=True, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"ehpc {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def create(self, name: str, size: int, *extra: str,
               check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("cluster", "create", "--name", name, "--size", str(size),
                        "--local-root-dir", str(self.local_root), *extra, check=check)


@contextlib.contextmanager
def cluster_for_a_test(cli: Ehpc, name: str, size: int, *extra: str) -> Iterator[None]:
    """Create cluster `name` under the test's own root for the body; then terminate it, remove
    the root, and assert that nothing of the cluster is left on the host."""
    pids: list[int] = []
    try:
        cli.create(name, size, *extra)
        yield
        pids = node_pids(name)
    finally:
        pids = pids or node_pids(name)
        cli.run("cluster", "terminate", name, check=False)
        left = leftovers(name, cli.local_root, Path(cli.env["EHPC_STATE_DIR"]), pids)
        shutil.rmtree(cli.local_root, ignore_errors=True)
    assert left == [], f"terminate left {left}"


def interruptible(*args: str, env: dict[str, str], **popen: Any) -> subprocess.Popen[str]:
    """`ehpc ARGS` started as from a terminal, where SIGINT is Ctrl-C. A suite started in the
    background (`cmd &` without job control) hands its children SIGINT ignored, and Python then
    never raises KeyboardInterrupt."""
    return subprocess.Popen([sys.executable, "-m", "elastichpc", *args], env=env, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)


def node_pids(name: str) -> list[int]:
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    pids: list[int] = []
    for ns in json.loads(out or "[]"):
        if ns["name"].startswith(f"ehpc.{name}."):
            listing = subprocess.run(["ip", "netns", "pids", ns["name"]], capture_output=True, text=True)
            pids += [int(p) for p in listing.stdout.split()]
    return pids


def alive(pid: int) -> bool:
    """Running and not a zombie (this machine's PID 1 reaps orphans lazily)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return raw.read().decode(errors="replace").split("\0")[:-1]
    except FileNotFoundError:
        return []


def leftovers(name: str, local_root: Path, state_dir: Path, pids: list[int]) -> list[str]:
    """Everything of cluster `name` still on the host; empty when terminate was complete."""
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {line}" for line in netns.splitlines() if line.startswith(f"ehpc.{name}.")]
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    found += [f"link {lk['ifname']}" for lk in links if lk.get("ifalias") == f"ehpc-cluster={name}"]
    found += [f"process {pid}" for pid in pids if alive(pid)]
    found += [f"control endpoint {pid}" for pid in server_pids(local_root / name)]
    with open("/proc/self/mountinfo") as info:
        found += [f"mount {line.split()[4]}" for line in info if str(local_root / name) in line]
    if (local_root / name).exists():
        found.append(f"directory {local_root / name}")
    if (state_dir / "clusters" / name).exists():
        found.append("state files")
    db = state_dir / "state.db"
    if db.exists():
        import sqlite3

        con = sqlite3.connect(db)
        for table in ("clusters", "nodes", "jobs"):
            column = "name" if table == "clusters" else "cluster"
            rows = con.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (name,)).fetchone()[0]
            if rows:
                found.append(f"{rows} {table} rows")
        con.close()
    return found
