"""What an earlier test run that was killed left on this host, removed before the suite starts.

A run killed with its session (the machine lives on) leaves its clusters' namespaces and tagged
bridges; the next run's create of the same name then rightly refuses ("network links tagged with
cluster X are on this machine"). The sweep takes only what it can prove the suite made: a cluster
whose record (`cluster.json`, written by create before any namespace or link) lies under the
suite's own root, /srv/ehpc-test, in this file system. What it sees of the host is no proof: in a
container-like root that shares the host's network, `ip netns list` is empty and the host's
processes are invisible, so every tagged link of a live cluster of the host would look stale.
Nothing is swept while another test run or ehpc command is alive (its clusters are not stale).
`ehpc cluster terminate` itself removes them, and each is named.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .local.helpers import ROOT, cmdline


def stale_clusters(root: Path = ROOT) -> dict[str, Path]:
    """Cluster name -> the ROOT_DIR to terminate it with: the clusters whose records are under
    the suite's root (a test's ROOT_DIR is root/<test>, or root itself)."""
    found: dict[str, Path] = {}
    for record in sorted([*root.glob("*/cluster.json"), *root.glob("*/*/cluster.json")]):
        found.setdefault(record.parent.name, record.parent.parent)
    return found


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def others_alive() -> list[int]:
    """Test runs and ehpc commands other than this one (its ancestors: `timeout pytest ...`)."""
    ours, pid = set(), os.getpid()
    while pid > 1:
        ours.add(pid)
        pid = _parent(pid)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        argv = cmdline(int(entry.name))
        if any(a.endswith(("pytest", "elastichpc", "/ehpc")) for a in argv):
            found.append(int(entry.name))
    return found


def sweep() -> list[str]:
    """Terminate every stale cluster; what was swept, a line each."""
    others = others_alive()
    if others:
        return [f"not swept: another test run or ehpc command is alive (pid {others[0]})"]
    swept = []
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "EHPC_STATE_DIR": state}
        env.pop("EHPC_CONFIG", None)
        for cluster, root in sorted(stale_clusters().items()):
            done = subprocess.run(
                [sys.executable, "-m", "elastichpc", "cluster", "terminate", cluster,
                 "--local-root-dir", str(root)],
                env=env, capture_output=True, text=True, timeout=300,
            )
            outcome = "removed" if done.returncode == 0 else f"NOT removed: {done.stderr.strip()}"
            swept.append(f"an earlier run's cluster {cluster} (under {root}): {outcome}")
    return swept
