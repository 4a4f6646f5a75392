"""The client's way to the dashboard: a local port forward to the head's loopback over SSH with
the cluster's pinned host key (the login link: access.py).

The forward is its own SSH connection (not the shared control master, whose ControlPersist
would keep the forward listening after `ehpc dashboard` ends); it ends with the command.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request

from ...errors import EhpcError
from ...orchestration.context import ClusterContext
from . import PORT


def free_port(port: int = 0) -> int:
    """`port` (any free one for 0) if nothing listens there: the link must not go to another
    program's server that happens to answer on it."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise EhpcError(f"local port {port} is in use: choose another --port") from None
        return int(probe.getsockname()[1])


def open_tunnel(context: ClusterContext, local_port: int, timeout: float = 60) -> subprocess.Popen[bytes]:
    """`ssh -N -L` to the head's loopback; returns once the agent answers through it."""
    ssh, config, path, node = context.shell.ssh_argv(context.head, None)
    argv = [ssh, config, path, "-N", "-o", "ControlPath=none", "-o", "ExitOnForwardFailure=yes",
            "-L", f"127.0.0.1:{local_port}:127.0.0.1:{PORT}", node]
    tunnel = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while True:
        if tunnel.poll() is not None:
            said = (tunnel.stderr.read() if tunnel.stderr else b"").decode(errors="replace").strip()
            raise EhpcError(f"the SSH tunnel to {context.head} ended: {said or tunnel.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{local_port}/login", timeout=5) as reply:
                if reply.status == 200:
                    return tunnel
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            tunnel.terminate()
            raise EhpcError(f"the head agent of {context.name} does not answer on its port {PORT} "
                            "(is the agent running? see `ehpc cluster events`)")
        time.sleep(0.3)
