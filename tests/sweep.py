"""What an earlier test run that was killed left on this host, removed before the suite starts.

A run killed with its session (the machine lives on) leaves its clusters' namespaces and tagged
bridges; the next run's create of the same name then rightly refuses ("network links tagged with
cluster X are on this machine"). The sweep takes only what is plainly a test's or nobody's:
namespaces of clusters under the tests' root (or under none still mounted), and tagged links of
clusters with no namespace left; and nothing while another test run or ehpc command is alive (its
clusters are not stale). `ehpc cluster terminate` itself removes them, and each is named.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from elastichpc.providers.local import hostnet, nodefs

from .local.helpers import ROOT, cmdline


def stale_clusters() -> dict[str, Path]:
    """Cluster name -> the ROOT_DIR to terminate it with."""
    found: dict[str, Path] = {}
    alive: set[str] = set()
    for netns in hostnet.netns_names():
        if not netns.startswith("ehpc."):
            continue
        cluster, node = netns.removeprefix("ehpc.").split(".", 1)
        alive.add(cluster)
        root = nodefs.root_of(cluster, node)
        if root is None or root.is_relative_to(ROOT):
            found[cluster] = root or ROOT
    tag = hostnet.alias("")
    for link in hostnet.links():
        label = link.get("ifalias") or ""
        if label.startswith(tag) and label.removeprefix(tag) not in alive:
            found.setdefault(label.removeprefix(tag), ROOT)
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
