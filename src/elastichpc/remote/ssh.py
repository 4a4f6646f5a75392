"""Commands on cluster nodes over OpenSSH, with the cluster's key and pinned host keys.

Every remote command is an argv list joined with shlex, so quotes, `$` and `;` reach the remote
program unchanged and nothing is ever interpreted by a shell on this side.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..errors import RemoteCommandError

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SshHost:
    name: str  # alias, also the HostKeyAlias
    address: str  # "" when reachable only through the jump host
    private_address: str
    login_user: str
    host_key_pub: str


def control_dir(directory: Path) -> Path:
    """Where the cluster's multiplexed SSH connections live: short (socket paths are limited to
    about 100 bytes), private, and distinct for every cluster directory."""
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"ehpc-ssh-{os.getuid()}" / digest


def _ensure_private_dir(path: Path) -> None:
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)


def close_connections(directory: Path) -> None:
    """End a cluster's kept connections and remove their sockets (at terminate, or before the
    machines go away); nothing to do when there are none."""
    sockets = control_dir(directory)
    if not sockets.is_dir():
        return
    config = directory / "ssh_config"
    for socket in sockets.iterdir() if config.exists() else []:
        subprocess.run(["ssh", "-F", str(config), "-O", "exit", socket.name],
                       capture_output=True, timeout=10)
    shutil.rmtree(sockets, ignore_errors=True)


def write_ssh_files(directory: Path, identity: Path, hosts: list[SshHost], jump: str) -> None:
    """ssh_config and known_hosts for a cluster: one Host block per node, host keys pinned, one
    multiplexed connection per node kept for a minute so repeated commands skip the handshake."""
    sockets = control_dir(directory)  # made when the first connection is (ClusterShell)
    blocks = []
    for host in hosts:
        lines = [f"Host {host.name}", f"  HostKeyAlias {host.name}", f"  User {host.login_user}"]
        if host.address:
            lines.append(f"  HostName {host.address}")
        else:
            lines += [f"  HostName {host.private_address}", f"  ProxyJump {jump}"]
        blocks.append("\n".join(lines))
    blocks.append(
        "\n".join(
            [
                "Host *",
                f"  IdentityFile {identity}",
                "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {directory / 'known_hosts'}",
                "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes",
                "  HostKeyAlgorithms ssh-ed25519",
                "  BatchMode yes",
                "  LogLevel ERROR",
                "  ConnectTimeout 10",
                "  ServerAliveInterval 15",
                "  ControlMaster auto",
                f"  ControlPath {sockets}/%n",
                "  ControlPersist 60",
            ]
        )
    )
    (directory / "ssh_config").write_text("\n\n".join(blocks) + "\n")
    # A node whose key is not known yet gets no line: StrictHostKeyChecking refuses it.
    known = [f"{h.name} {' '.join(h.host_key_pub.split()[:2])}" for h in hosts if h.host_key_pub]
    (directory / "known_hosts").write_text("\n".join(known) + "\n")


def in_parallel(func: Callable[[T], R], items: Iterable[T], workers: int = 16) -> list[R]:
    items = list(items)
    if len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


class ClusterShell:
    def __init__(self, directory: Path, login_users: dict[str, str]) -> None:
        self.directory = directory
        self.config = directory / "ssh_config"
        self.login_users = login_users

    def remote_argv(self, node: str, argv: list[str], user: str | None = None) -> list[str]:
        """The argv to run on `node`, as root (via sudo when the login user is not root) or as
        `user` (via runuser)."""
        if user and user != "root":
            argv = ["runuser", "-u", user, "--", *argv]
        if self.login_users.get(node, "root") != "root":
            argv = ["sudo", "-n", *argv]
        return argv

    def transport(self) -> list[str]:
        """ssh with this cluster's configuration, before the host (also rsync's `-e`)."""
        _ensure_private_dir(control_dir(self.directory))  # /tmp may have been cleaned since
        return ["ssh", "-F", str(self.config)]

    def ssh_argv(
        self, node: str, argv: list[str] | None, user: str | None = None, tty: bool = False
    ) -> list[str]:
        base = [*self.transport(), *(["-t"] if tty else []), node]
        if not argv:
            return base
        return [*base, "--", shlex.join(self.remote_argv(node, argv, user))]

    def run(
        self,
        node: str,
        argv: list[str],
        *,
        input: str | bytes | None = None,
        user: str | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        data = input.encode() if isinstance(input, str) else input
        try:
            proc = subprocess.run(
                self.ssh_argv(node, argv, user), input=data, capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise RemoteCommandError(
                f"{node}: {argv[0]} did not finish within {timeout:g} s", 124
            ) from None
        result = subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"),
        )
        if check and proc.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            detail = " / ".join(lines[-3:])[-300:] if lines else f"exit code {proc.returncode}"
            raise RemoteCommandError(
                f"{node}: {argv[0]} failed: {detail}", proc.returncode, result.stdout
            )
        return result

    def forget(self, node: str) -> None:
        """Drop the kept connection to a machine that went away (a hung one would make the next
        command wait for its keep-alive timeout): the next command connects afresh."""
        (control_dir(self.directory) / node).unlink(missing_ok=True)

    def wait_reachable(self, node: str, timeout: float = 120.0) -> str:
        """Retry a trivial command until sshd answers; return what it printed (node facts)."""
        deadline = time.monotonic() + timeout
        probe = ["sh", "-c", "nproc; awk '/^MemTotal/ {print int($2/1024)}' /proc/meminfo"]
        delay = 0.2
        while True:
            result = self.run(node, probe, check=False, timeout=timeout)
            if result.returncode == 0:
                return result.stdout
            if result.returncode != 255 or time.monotonic() > deadline:
                detail = (result.stderr.strip().splitlines() or ["no answer"])[-1]
                raise RemoteCommandError(f"{node}: not reachable over SSH: {detail}", 255)
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)

    def exec_interactive(self, node: str, argv: list[str] | None, user: str | None = None) -> None:
        """Replace this process with ssh (a shell or one command, with a terminal if we have one)."""
        ssh = self.ssh_argv(node, argv, user, tty=os.isatty(0) and os.isatty(1))
        os.execvp(ssh[0], ssh)
