"""Starting, reaching and removing a lab from outside it (the `python -m tests.lab` commands
and the pytest fixture).

A lab is a network namespace NAME (default ehpclab) holding only loopback and the lab's own
bridges, its supervisor (tests/lab/daemon.py) running in it, and machines. Its state lives in
/run/ehpc-lab/NAME/ (state.json: the supervisor's pid, endpoints, machines) and its machines'
files in /var/lib/ehpc-lab/NAME/. `down` stops the supervisor (which stops its machines), then
removes whatever is left even if the supervisor died: machine processes, loop devices, the
namespace, the directories.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .image import ensure_built

ROOT = Path(__file__).resolve().parents[2]
CLONE_NEWNET = 0x40000000


class Lab:
    def __init__(self, name: str = "ehpclab") -> None:
        self.name = name
        self.run_dir = Path("/run/ehpc-lab") / name
        self.data_dir = Path("/var/lib/ehpc-lab") / name
        self.netns = Path("/run/netns") / name

    # ---- state -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.run_dir / "state.json").read_text()))
        except (OSError, ValueError):
            return {}

    def env(self) -> dict[str, str]:
        return dict(self.state().get("env", {}))

    def up(self, owner: int | None = None, timeout: float = 60.0) -> None:
        """Build the image if needed (outside the lab: it downloads), then start the lab.
        With an owner pid, the lab removes itself once that process has gone."""
        ensure_built()
        self.down()
        self.run_dir.mkdir(parents=True)
        self.data_dir.mkdir(parents=True)
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PYTHONUNBUFFERED": "1"}
        with open(self.run_dir / "daemon.log", "ab") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.name, sys.executable, "-m", "tests.lab.daemon",
                 str(self.data_dir), self.name, str(owner or 0)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (self.run_dir / "daemon.pid").write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        while not (self.data_dir / "state.json").exists() or not self._data_state().get("ready"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.down()
                raise RuntimeError(f"the lab did not start:\n{tail}")
            time.sleep(0.1)
        (self.run_dir / "state.json").unlink(missing_ok=True)
        (self.run_dir / "state.json").symlink_to(self.data_dir / "state.json")

    def _data_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.data_dir / "state.json").read_text()))
        except (OSError, ValueError):
            return {}

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join((self.run_dir / "daemon.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def down(self) -> list[str]:
        """Remove everything this lab made; returns what it removed."""
        removed = []
        state = self._data_state()
        pid = _read_pid(self.run_dir / "daemon.pid")
        if pid and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            for _ in range(300):
                if not _alive(pid):
                    break
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            removed.append(f"supervisor {pid}")
        for machine in state.get("machines", []):  # the supervisor died without stopping them
            if _alive(machine["pid"]):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(machine["pid"], signal.SIGKILL)
                removed.append(f"machine {machine['id']}")
            for loop in machine.get("loops", []):
                subprocess.run(["losetup", "-d", loop], capture_output=True)
            for group in machine.get("cgroups", []):
                path = Path("/sys/fs/cgroup") / group
                if path.is_dir():
                    subprocess.run(["find", str(path), "-depth", "-type", "d", "-delete"],
                                   capture_output=True)
                    removed.append(f"cgroup {group}")
        if self.data_dir.exists():  # loop devices whose backing file is the lab's
            listing = subprocess.run(["losetup", "-J", "-l"], capture_output=True, text=True).stdout
            for loop in json.loads(listing or '{"loopdevices": []}')["loopdevices"]:
                if str(loop.get("back-file", "")).startswith(str(self.data_dir) + "/"):
                    subprocess.run(["losetup", "-d", loop["name"]], capture_output=True)
                    removed.append(f"loop {loop['name']}")
        if self.netns.exists():
            subprocess.run(["ip", "netns", "del", self.name], check=True)
            removed.append(f"netns {self.name}")
        for directory in (self.data_dir, self.run_dir):
            if directory.exists():
                subprocess.run(["rm", "-rf", "--one-file-system", str(directory)], check=True)
                removed.append(str(directory))
        return removed

    # ---- inside ----------------------------------------------------------------------------
    def command(self, argv: list[str]) -> list[str]:
        """argv run inside the lab's namespace with the lab's cloud endpoints in its env."""
        env = [f"{k}={v}" for k, v in self.env().items()]
        return ["ip", "netns", "exec", self.name, "env", *env, *argv]

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """Run the calling thread (and the threads and processes it starts) in the lab's
        network namespace: every socket it opens is the lab's; back to the host's after."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/thread-self/ns/net") as home, open(self.netns) as lab:
            if libc.setns(lab.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.netns}")
            try:
                if os.stat("/proc/thread-self/ns/net").st_ino != os.fstat(lab.fileno()).st_ino:
                    raise RuntimeError("not inside the lab's namespace")
                yield
            finally:
                if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to the host's namespace")

    def call(self, method: str, path: str) -> Any:
        """The supervisor's control API (from inside the lab)."""
        request = urllib.request.Request(self.state()["control"] + path, method=method)
        try:
            # A POST powers a machine off (its processes get up to 5 s, then its disks, network
            # and tree go) and may boot it again before it answers: under a load average of ~4
            # on 2 cores a GCE reboot took longer than 30 s.
            with urllib.request.urlopen(request, timeout=120) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as err:  # the supervisor says why in the body
            raise RuntimeError(f"{method} {path}: {err.code} {err.read().decode(errors='replace')}"
                               ) from None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie child of ours is reaped and counts as gone)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
